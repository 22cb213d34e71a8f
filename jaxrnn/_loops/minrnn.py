r"""The parallel forms of the minGRU and minLSTM: gates of all steps, then the recurrence.

Both cells are ``h_t = a_t h_{t-1} + b_t`` with coefficients ``(a_t, b_t)`` that read
``x_t`` only (:class:`_Cell` says how, per cell). :func:`_parallel` is what
``mingru_scan(..., parallel=True)`` runs, in one of two forms:

- **unblocked** (:func:`_unfused`; accelerators, and every derivative): the gates of all
  ``T`` steps from one matrix product (all the gates' ``U`` stacked), the coefficients,
  then :mod:`jaxrnn._loops.linear`'s recurrence (associative scan on accelerators, a
  sequential loop on CPU).
- **blocked** (:func:`_blocked`; the CPU forward pass): the unblocked form makes three
  passes over ``(T, n, G d_h)`` arrays that do not fit in cache (the product writes the
  gates, the coefficients are written from them, the loop reads them back). Here the steps
  are cut into blocks of ``K`` steps; for each block (a ``lax.scan`` over blocks) the
  product, the coefficients and the loop run on a block that stays in cache, the loop
  writing ``h_t`` over ``b_t`` in the block's buffer. Each step is the same arithmetic
  (the same rows of the same product, the same multiply-add): the two agree to the
  rounding of how XLA fuses the gates' elementwise expressions (bit for bit for the minGRU
  in ``tests/jaxrnn/test_min_blocked.py``). About 4096 rows (``K n``) per block was
  fastest from ``n = 1`` to ``n = 128`` (``python -m benchmarks.min_blocked``,
  ``docs/minrnn.md``).

The blocked form is primal only: :func:`_parallel`'s JVP rule differentiates the unblocked
form, whose tangent is the same recurrence and whose transpose (reverse mode) is the
reverse-time one, so derivatives of every order in both modes are the unblocked form's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jaxrnn._loops._common import dot_t, materialise
from jaxrnn._loops.linear import _in_place, linear_recurrence
from jaxrnn._typing import Array
from jaxrnn.cells_min import _minlstm_mix


@jax.custom_jvp
def _product(xs: Array, U: Array, b: Array) -> Array:
    """``xs @ U.T + b``, with ``U.T`` materialised once: a product against a transposed
    operand ran slower on XLA's CPU backend (:class:`jaxrnn._loops._common.FusedWeights`)."""
    (U_T,) = materialise(U.T)
    return xs @ U_T + b


@functools.partial(_product.defjvp, symbolic_zeros=True)
def _product_jvp(primals, tangents):
    # Tangents multiply ``U`` as stored (``dot_t``): their transposes, the backward
    # products ``ct @ U`` and ``ct^T xs``, then need no transposed weights either.
    xs, U, b = primals
    dxs, dU, db = (None if isinstance(t, SymbolicZero) else t for t in tangents)
    out = _product(xs, U, b)
    terms = [dot_t(dxs, U) if dxs is not None else None,  # d(x U^T) = dx U^T + x dU^T
             dot_t(xs, dU) if dU is not None else None, db]  # fmt: skip
    terms = [t for t in terms if t is not None]
    return out, jnp.broadcast_to(sum(terms[1:], terms[0]) if terms else 0.0, out.shape).astype(
        out.dtype
    )


class _Cell(NamedTuple):
    """A cell's parallel form: the parameter fields of its gates' ``U_g`` and ``b_g`` (in
    the order of the stacked product) and ``ab``, the coefficients ``(a_t, b_t)`` of its
    recurrence from the gates' pre-activations ``U_g x_t + b_g``."""

    U: tuple[str, ...]
    b: tuple[str, ...]
    ab: Callable[..., tuple[Array, Array]]


def _mingru_ab(z_pre: Array, h_tilde: Array) -> tuple[Array, Array]:
    z = jax.nn.sigmoid(z_pre)  # z_t = sigmoid(U_z x_t + b_z), h~_t = U_h x_t + b_h
    return 1 - z, z * h_tilde


def _minlstm_ab(f_pre: Array, i_pre: Array, h_tilde: Array) -> tuple[Array, Array]:
    f_prime, i_prime = _minlstm_mix(f_pre, i_pre)
    return f_prime, i_prime * h_tilde


_MINGRU = _Cell(("U_z", "U_h"), ("b_z", "b_h"), _mingru_ab)
_MINLSTM = _Cell(("U_f", "U_i", "U_h"), ("b_f", "b_i", "b_h"), _minlstm_ab)


def _stacked(cell: _Cell, params) -> tuple[Array, Array]:
    """The gates' ``U_g`` stacked into one ``(G d_h, d_in)`` matrix, and their ``b_g``
    into one ``(G d_h,)`` vector (the stored parameters are not changed)."""
    U = jnp.concatenate([getattr(params, f) for f in cell.U])
    return U, jnp.concatenate([getattr(params, f) for f in cell.b])


def _ab_of(cell: _Cell, pre: Array) -> tuple[Array, Array]:
    """``(a, b)`` from the stacked pre-activations: their ``G d_h`` columns split into
    the gates."""
    return cell.ab(*jnp.split(pre, len(cell.U), axis=-1))


def _unfused(cell: _Cell, reverse: bool, params, xs: Array, h0: Array, mask) -> tuple[Array, Array]:
    """The coefficients of all steps from one product, then the linear recurrence."""
    a, b = _ab_of(cell, _product(xs, *_stacked(cell, params)))
    if mask is not None:  # padding: a_t = 1, b_t = 0 holds the state exactly
        a = jnp.where(mask, a, jnp.ones_like(a))
        b = jnp.where(mask, b, jnp.zeros_like(b))
    return linear_recurrence(a, b, h0, reverse=reverse)


def _blocked(cell: _Cell, reverse: bool, params, xs: Array, h0: Array, mask) -> tuple[Array, Array]:
    """The same numbers block by block (:mod:`jaxrnn._loops.min_blocked`), for the CPU."""
    U, b = _stacked(cell, params)
    (U_T,) = materialise(U.T)
    K = block_steps(xs.shape[0], xs.shape[1])
    return blocked_forward(functools.partial(_ab_of, cell), U_T, b, xs, mask, h0, reverse, K)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _parallel(
    cell: _Cell, reverse: bool, params, xs: Array, h0: Array, mask
) -> tuple[Array, Array]:
    """``(h_T, hs)`` of the parallel form: blocked on CPU (measured ~1.1-1.8x faster
    forward, ``docs/minrnn.md``), unblocked elsewhere. Derivatives are the unblocked
    form's (see :func:`_parallel_jvp`)."""
    return jax.lax.platform_dependent(
        params, xs, h0, mask,
        cpu=functools.partial(_blocked, cell, reverse),
        default=functools.partial(_unfused, cell, reverse),
    )  # fmt: skip


@functools.partial(_parallel.defjvp, symbolic_zeros=True)
def _parallel_jvp(cell, reverse, primals, tangents):
    # The unblocked form, differentiated in the inputs whose tangents are not symbolic
    # zeros (a zero tangent of ``xs`` would otherwise cost a product): its tangent is the
    # same recurrence, and its transpose (reverse mode) the reverse-time one.
    params, xs, h0, mask = primals
    leaves, tree = jax.tree.flatten((params, xs, h0))
    dleaves = jax.tree.leaves(tangents[:3], is_leaf=lambda t: isinstance(t, SymbolicZero))
    live = [i for i, t in enumerate(dleaves) if not isinstance(t, SymbolicZero)]

    def f(*live_leaves):
        full = list(leaves)
        for i, v in zip(live, live_leaves):
            full[i] = v
        p, x, h = jax.tree.unflatten(tree, full)
        return _unfused(cell, reverse, p, x, h, mask)

    out, dout = jax.jvp(f, tuple(leaves[i] for i in live), tuple(dleaves[i] for i in live))
    return out, dout


BLOCK_ROWS = 4096  # rows (steps x batch) of a block's product, about; see block_steps


def block_steps(T: int, n: int, rows: int = BLOCK_ROWS) -> int:
    """Steps per block: the divisor of ``T`` nearest (in ratio) to ``rows / n``, or ``T``
    (one block) when no divisor is within a factor 4 of it. A divisor keeps every block
    the same shape, so the scan over blocks has one body and no remainder."""
    target = max(rows // max(n, 1), 1)
    if target >= T:
        return T
    small = [k for k in range(1, math.isqrt(T) + 1) if T % k == 0]
    divisors = sorted(set(small) | {T // k for k in small})
    best = min(divisors, key=lambda k: abs(math.log(k / target)))
    return best if target / 4 <= best <= 4 * target else T


def blocked_forward(
    coefficients: Callable[[Array], tuple[Array, Array]],
    U_T: Array,
    b: Array,
    xs: Array,
    mask: Array | None,
    h0: Array,
    reverse: bool,
    K: int,
) -> tuple[Array, Array]:
    """``(h_T, hs)`` of the linear recurrence whose coefficients are
    ``coefficients(x_t @ U_T + b)``, computed ``K`` steps at a time.

    Args:
        coefficients: maps pre-activations ``(K, n, G d_h)`` to ``(a, b)``, each
            ``(K, n, d_h)``.
        U_T: ``(d_in, G d_h)``, the gates' input matrices transposed and stacked.
        b: ``(G d_h,)``.
        xs: time-major inputs ``(T, n, d_in)``; ``K`` divides ``T``.
        mask: ``(T, n, 1)`` booleans (``False`` at padding: ``a = 1, b = 0`` there) or None.
        h0: ``(n, d_h)``.
        reverse: run from step ``T - 1`` down to 0 (the blocks, and the steps in each).
        K: steps per block (:func:`block_steps`).
    """
    T, n, d_in = xs.shape
    blocks = T // K

    def block(h, inputs):
        x_blk, m_blk = inputs
        pre = (x_blk.reshape(K * n, d_in) @ U_T + b).reshape(K, n, -1)
        a, b_blk = coefficients(pre)
        if m_blk is not None:  # padding holds the state exactly
            a = jnp.where(m_blk, a, 1)
            b_blk = jnp.where(m_blk, b_blk, 0)
        return _in_place(a, b_blk, h, reverse)

    m_blocks = None if mask is None else mask.reshape(blocks, K, n, 1)
    h_T, hs = jax.lax.scan(block, h0, (xs.reshape(blocks, K, n, d_in), m_blocks), reverse=reverse)
    return h_T, hs.reshape(T, n, h0.shape[-1])
