"""Pieces shared by the loops of every network: fused weights, chunking, segments, masks.

Conventions of every loop in this package: time-major inputs ``xs (T, n, d_in)`` (the
batch axes flattened into ``n``), carries ``(n, d_h)``, ``mask (T, n, 1)`` or None
(:func:`jaxrnn._checks.valid_mask`), ``T >= 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._typing import Array
from jaxrnn.params import Gate

CHUNK_STEPS = 50  # at most this many steps per chunk of the forward loop on CPU


# --- the weights ---------------------------------------------------------------------------


class FusedWeights(NamedTuple):
    """A network's gates stacked into one matrix each, in both orientations.

    Orientation invariant: ``U_rows == U_T.T`` and ``W_rows == W_T.T``, each materialised
    once, outside the loops (a product against a transpose ran ~2x slower on XLA's CPU
    backend than against a matrix stored in that orientation, see :mod:`jaxrnn._loops`).
    The primal loops multiply by the ``*_T`` matrices (``x_t @ U_T``); the tangent loops
    multiply tangents by the ``*_rows`` ones (``dh @ W_rows.T`` via :func:`dot_t`).
    Because ``*_rows`` is a copy of ``*_T.T``, its tangent is the transpose of the
    tangent of ``*_T``: every JVP rule reads the tangents of ``U_T``, ``W_T`` and ``b``
    and ignores those of ``U_rows`` and ``W_rows``.

    Attributes:
        U_T: ``(d_in, G d_h)``, the ``G`` gates' ``U_g^T`` side by side.
        U_rows: ``(G d_h, d_in)``, the ``U_g`` stacked.
        W_T: ``(d_h, G d_h)``.
        W_rows: ``(G d_h, d_h)``.
        b: ``(G d_h,)``.
    """

    U_T: Array
    U_rows: Array
    W_T: Array
    W_rows: Array
    b: Array


def fuse_gates(gates: Sequence[Gate], scales: Sequence[float] | None = None) -> FusedWeights:
    """Stack the gates ``(U_g, W_g, b_g)`` in the given order, each times its scale.

    The stacked pre-activation of all gates is then one product per step instead of one
    per gate, ``z = x_t U_T + h_{t-1} W_T + b``, split into the gates' ``d_h`` columns in
    order; the transposes are taken here, outside the loop (XLA does not hoist a transpose
    out of a scanned body).
    ``scales[g]`` multiplies gate ``g``'s ``U_g``, ``W_g`` and ``b_g`` (use a power of
    two, which is exact: e.g. 1/2 to evaluate ``sigma(z) = (1 + tanh(z/2)) / 2`` with the
    same ``tanh`` as the other gates). The stored parameters are never changed.
    """
    if scales is None:
        scales = (1.0,) * len(gates)
    scaled = [g if s == 1.0 else Gate(g.U * s, g.W * s, g.b * s) for g, s in zip(gates, scales)]
    U = jnp.concatenate([g.U for g in scaled])
    W = jnp.concatenate([g.W for g in scaled])
    b = jnp.concatenate([g.b for g in scaled])
    U_T, U_rows, W_T, W_rows = materialise(U.T, U, W.T, W)
    return FusedWeights(U_T=U_T, U_rows=U_rows, W_T=W_T, W_rows=W_rows, b=b)


def materialise(*arrays: Array) -> tuple[Array, ...]:
    """The arrays as they are: ``optimization_barrier`` stops XLA from folding a transpose
    back into the product that uses it."""
    return jax.lax.optimization_barrier(arrays)


def dot_t(a: Array, b_rows: Array) -> Array:
    """``a @ b_rows.T`` written as one ``dot_general`` (its transpose is ``ct @ b_rows``)."""
    return jax.lax.dot_general(a, b_rows, (((a.ndim - 1,), (1,)), ((), ())))


def flat(a: Array) -> Array:
    """``(T, n, d) -> (T * n, d)``."""
    return a.reshape(-1, a.shape[-1])


# --- time: carries, padding ------------------------------------------------------------------


def shift(hs: Array, h0: Array, reverse: bool) -> Array:
    """The carry that entered each step: ``hs`` shifted by one step, ``h0`` at the start."""
    if reverse:
        return jnp.concatenate([hs[1:], h0[None]])
    return jnp.concatenate([h0[None], hs[:-1]])


def hold(m_t: Array | None, new, old):
    """Padding steps (``m_t`` False) keep the carry ``old``; valid ones take ``new``."""
    if m_t is None:
        return new
    return jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, old)


def zero_padding(ys, mask: Array | None):
    """Outputs (any pytree) set to zero at padding steps."""
    if mask is None:
        return ys
    return jax.tree.map(lambda y: jnp.where(mask, y, jnp.zeros_like(y)), ys)


# --- how the loop runs: dtype, chunks, segments ----------------------------------------------


def cpu_float32(fn, *args):
    """``fn(*args)``; on CPU, 16-bit float arguments are computed in float32 instead.

    XLA's CPU backend has no 16-bit float arithmetic: it widens each 16-bit operation to
    float32, including the per-step write of a loop's stacked outputs, which becomes a
    conversion of the whole ``(T, ...)`` buffer at every step, so gradients through a
    16-bit loop cost O(T^2) (measured in ``docs/design_loops.md``). Computing in float32
    and rounding the results once is linear in T, and more accurate. The dtype is that of
    the first leaf of ``args``; other platforms keep it.
    """
    dtype = jax.tree.leaves(args)[0].dtype
    if not jnp.issubdtype(dtype, jnp.floating) or jnp.finfo(dtype).bits > 16:
        return fn(*args)

    def in_float32(*a):
        wide = jax.tree.map(lambda x: x.astype(jnp.float32) if x.dtype == dtype else x, a)
        return jax.tree.map(lambda y: y.astype(dtype), fn(*wide))

    return jax.lax.platform_dependent(*args, cpu=in_float32, default=fn)


def in_segments(run, carry, xs: Array, mask: Array | None, *, k: int, reverse: bool):
    """``run(carry, xs, mask) -> (carry, ys)`` over segments of ``k`` steps, each under
    ``jax.checkpoint``: the backward pass stores the carries at segment boundaries and
    recomputes one segment at a time. Time is padded to whole segments with padding
    steps at the end (a forward scan meets them last, a reverse one first: either way they
    hold the carry).
    """
    T, n_batch = xs.shape[:2]
    n = -(-T // k)
    pad = [(0, n * k - T), (0, 0), (0, 0)]
    mask = jnp.ones((T, n_batch, 1), bool) if mask is None else mask
    seg = (
        jnp.pad(xs, pad).reshape(n, k, *xs.shape[1:]),
        jnp.pad(mask, pad).reshape(n, k, n_batch, 1),
    )
    carry, ys = jax.lax.scan(jax.checkpoint(lambda c, s: run(c, *s)), carry, seg, reverse=reverse)
    return carry, ys.reshape(n * k, *ys.shape[2:])[:T]


def chunk_len(T: int, step_bytes: int, chunk_bytes: int) -> int:
    """Steps per chunk: the largest divisor of ``T`` within both limits (at least 1)."""
    cap = max(1, min(CHUNK_STEPS, chunk_bytes // max(1, step_bytes), T))
    return max(k for k in range(1, cap + 1) if T % k == 0)


def chunked_scan(body, project, carry, seq, *, K: int, reverse: bool, unroll: int):
    """``lax.scan(body)`` over time-major ``seq``, ``K`` steps at a time.

    ``project`` maps a chunk of ``seq`` (leaves ``(K, ...)``) to the chunk's per-step
    inputs of ``body``, e.g. the input GEMM of ``K`` steps at once. Projecting chunk by
    chunk rather than all steps at once keeps the projected inputs small and reused, which
    was faster for the forward pass on CPU but not under differentiation, so the loops of
    the JVP rules run as one chunk (``K = T``). Chunking is a CPU measure: other platforms
    (``jax.lax.platform_dependent``) project all steps at once. The measurements behind
    these choices are in ``docs/design_loops.md``.
    """
    T = jax.tree.leaves(seq)[0].shape[0]

    def whole(carry, seq):
        return jax.lax.scan(body, carry, project(seq), reverse=reverse, unroll=unroll)

    if K == T:
        return whole(carry, seq)

    def chunked(carry, seq):
        chunks = jax.tree.map(lambda a: a.reshape(T // K, K, *a.shape[1:]), seq)
        carry, ys = jax.lax.scan(whole, carry, chunks, reverse=reverse)
        return carry, jax.tree.map(lambda y: y.reshape(T, *y.shape[2:]), ys)

    return jax.lax.platform_dependent(carry, seq, cpu=chunked, default=whole)
