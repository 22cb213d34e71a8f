"""Pieces shared by the loops of every network: fused weights, chunking, segments, masks.

Conventions of every loop in this package: time-major inputs ``xs (T, n, d_in)`` (the
batch axes flattened into ``n``), carries ``(n, d_h)``, ``mask (T, n, 1)`` (False at
padding) and ``resets (T, n, 1)`` (True where the step reads the initial carry, already in
the order the steps are taken) or None, ``T >= 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import ops
from jaxrnn._src.ops import cpu_float32, dot_t, materialise
from jaxrnn._src.typing import Array
from jaxrnn.params import Gate

__all__ = ["cpu_float32", "dot_t", "materialise"]  # re-exported for the loops

CHUNK_STEPS = 50  # at most this many steps per chunk of the forward loop on CPU


# --- the weights ---------------------------------------------------------------------------


class FusedWeights(NamedTuple):
    """A network's gates stacked into one matrix each, in both orientations.

    Orientation invariant: ``U_rows == U_T.T`` and ``W_rows == W_T.T``, each materialised
    once, outside the loops (a product against a transpose was slower on XLA's CPU
    backend than against a matrix stored in that orientation, see :mod:`jaxrnn._src.loops`).
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


def in_segments(run, carry, seq, *, k: int, reverse: bool):
    """``run(carry, *seq) -> (carry, ys)`` over segments of ``k`` steps, each under
    ``jax.checkpoint``: the backward pass stores the carries at segment boundaries and
    recomputes one segment at a time. ``seq`` is ``(xs, mask, resets)``, time-major
    (``mask`` and ``resets`` ``(T, n, 1)`` or None). Time is padded to whole segments with
    padding steps at the end (a forward scan meets them last, a reverse one first: either
    way they hold the carry).
    """
    xs, mask, resets = seq
    T, n_batch = xs.shape[:2]
    n = -(-T // k)
    mask = jnp.ones((T, n_batch, 1), bool) if mask is None else mask

    def split(a):
        if a is None:
            return None
        return jnp.pad(a, [(0, n * k - T)] + [(0, 0)] * (a.ndim - 1)).reshape(n, k, *a.shape[1:])

    segs = (split(xs), split(mask), split(resets))
    carry, ys = ops.scan(jax.checkpoint(lambda c, s: run(c, *s)), carry, segs, reverse=reverse)
    return carry, jax.tree.map(lambda y: y.reshape(n * k, *y.shape[2:])[:T], ys)


def restart(r_t: Array | None, initial, carry):
    """The carry a step reads: ``initial`` where ``r_t`` (a reset) is True, else ``carry``."""
    if r_t is None:
        return carry
    return jax.tree.map(lambda c0, c: jnp.where(r_t, c0, c), initial, carry)


def read_carries(hs: Array, h0: Array, hr: Array, resets: Array | None, reverse: bool) -> Array:
    """The carry each step read: :func:`shift` of ``hs`` (``h0`` first), ``hr`` at resets."""
    h_prev = shift(hs, h0, reverse)
    return h_prev if resets is None else jnp.where(resets, hr[None], h_prev)


def chunk_len(T: int, step_bytes: int, chunk_bytes: int) -> int:
    """Steps per chunk: the largest divisor of ``T`` within both limits (at least 1)."""
    if not all(isinstance(v, int) for v in (T, step_bytes)):  # symbolic shapes (jax.export)
        return T
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
        return ops.scan(body, carry, project(seq), reverse=reverse, unroll=unroll)

    if K == T:
        return whole(carry, seq)

    def chunked(carry, seq):
        chunks = jax.tree.map(lambda a: a.reshape(T // K, K, *a.shape[1:]), seq)
        carry, ys = ops.scan(whole, carry, chunks, reverse=reverse)
        return carry, jax.tree.map(lambda y: y.reshape(T, *y.shape[2:]), ys)

    return jax.lax.platform_dependent(carry, seq, cpu=chunked, default=whole)
