"""The fast time loop behind ``rnn_scan`` and ``lstm_scan`` (private).

Three ideas, each measured on CPU (``python -m benchmarks``):

1. **Input projection hoisted.** ``U x_t + b`` does not depend on the recurrence, so it is
   computed for all steps as one GEMM before the loop: ``xz = xs @ U.T + b``, time-major
   ``(T, B, G)`` so the loop reads contiguous slices. The loop then does one small GEMM
   per step, ``h_{t-1} @ W.T``, with ``W`` the gates' recurrent matrices stacked
   ``(G, d_h)`` (``G = 4 d_h`` for the LSTM, ``d_h`` for the RNN). The stacking happens
   inside the jitted function; the stored parameters keep one ``Gate`` per gate.
2. **A custom JVP for the recurrence whose transpose is the cuDNN-style backward.** The
   reverse loop only propagates ``dh_{t-1} = dz_t @ W`` and ``dC_{t-1}`` and emits
   ``dz_t``; the weight gradient is computed once afterwards as one large GEMM,
   ``dW = sum_t dz_t^T h_{t-1}``. (Autodiff of ``lax.scan`` instead accumulates a small
   GEMM into ``dW`` at every step.) ``dU`` and ``db`` follow from autodiff of the hoisted
   projection, again as single GEMMs over all steps. A JVP (rather than a VJP) keeps
   forward-mode and higher-order differentiation working.
3. **Rematerialisation** (``remat=k``): the loop runs in segments of ``k`` steps under
   ``jax.checkpoint``; only the carries at segment boundaries are stored, and each
   segment's forward pass is recomputed during the backward pass.

The gate equations themselves are not repeated here: ``cells._lstm_state`` and
``cells._rnn_state`` are evaluated on the precomputed pre-activations ``z_t`` by giving
them zero-width ``U``/``W`` (so ``x_t @ U.T`` and ``h @ W.T`` are empty sums, which XLA
folds to nothing) and ``z_t`` in place of the bias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn import cells
from jaxrnn._typing import Array
from jaxrnn.params import Gate, LSTMParams, RNNParams

Carry = tuple[Array, ...]  # (h,) for the RNN, (h, C) for the LSTM; h is what W multiplies.
Elementwise = Callable[[Array, Carry], Carry]


def _empty(z: Array) -> Array:
    """A ``(..., 0)`` array: a zero-width input whose products are empty sums."""
    return jnp.zeros((*z.shape[:-1], 0), z.dtype)


def lstm_elementwise(state_fn: Callable[..., Any], z: Array, carry: Carry) -> Carry:
    """``(h_t, C_t)`` from the stacked pre-activations ``z_t = [z_f, z_i, z_c, z_o]``.

    ``state_fn`` is ``cells._lstm_state`` (looked up by the caller at trace time).
    """
    _, C_prev = carry
    d_h = C_prev.shape[-1]
    no_U = jnp.zeros((d_h, 0), z.dtype)
    z_f, z_i, z_c, z_o = jnp.split(z, 4, axis=-1)
    params = LSTMParams(*(Gate(U=no_U, W=no_U, b=z_g) for z_g in (z_f, z_i, z_c, z_o)))
    state = state_fn(params, cells.LSTMState(h=_empty(z), C=C_prev), _empty(z))
    return (state.h, state.C)


def rnn_elementwise(state_fn: Callable[..., Any], z: Array, carry: Carry) -> Carry:
    """``(s_t,)`` from the pre-activation ``z_t``; ``state_fn`` is ``cells._rnn_state``."""
    d_h = z.shape[-1]
    no_U = jnp.zeros((d_h, 0), z.dtype)
    params = RNNParams(U=no_U, W=no_U, V=jnp.zeros((0, d_h), z.dtype), b_s=z,
                       b_o=jnp.zeros((0,), z.dtype))
    return (state_fn(params, _empty(z), _empty(z)),)


def _hold(mask_t: Array | None, new: Carry, old: Carry) -> Carry:
    if mask_t is None:
        return new
    return tuple(jnp.where(mask_t, n, o) for n, o in zip(new, old))


def _shift(seq: Array, first: Array, reverse: bool) -> Array:
    """The carry *before* each step: ``seq`` shifted by one step, ``first`` at the start."""
    if reverse:
        return jnp.concatenate([seq[1:], first[None]], axis=0)
    return jnp.concatenate([first[None], seq[:-1]], axis=0)


def _loop(elem: Elementwise, W: Array, xz: Array, carry0: Carry, mask: Array | None,
          reverse: bool, unroll: int) -> tuple[Carry, Array, Carry]:
    """Forward loop; returns the final carry, every ``z_t`` and every carry (time-major)."""

    def body(carry: Carry, inp: tuple[Array, Array | None]):
        xz_t, m_t = inp
        z_t = xz_t + carry[0] @ W.T
        new = _hold(m_t, elem(z_t, carry), carry)
        return new, (z_t, new)

    carry_T, (zs, carries) = jax.lax.scan(body, carry0, (xz, mask), reverse=reverse,
                                          unroll=unroll)
    return carry_T, zs, carries


def _recurrence(elem: Elementwise, reverse: bool, unroll: int) -> Callable[..., Any]:
    """``(W, xz, carry0, mask) -> (carry_T, hs)`` with a hand-written JVP.

    ``hs[t]`` is ``h`` of the carry after step ``t`` (held on padding steps).

    The JVP rule is shaped so that its transpose (the backward pass) is fast: the
    tangent of the weights enters through one GEMM over all steps,
    ``dxz_t + h_{t-1} @ dW.T``, outside the tangent loop, so the loop itself only
    carries ``(dh, dC)`` with ``W`` as a constant. Transposed by JAX, this becomes the
    cuDNN-style backward: a reverse loop propagating ``dh``/``dC`` and emitting ``dz_t``,
    then ``dW = sum_t dz_t^T h_{t-1}`` as one GEMM. Forward mode and higher orders work
    because the rule is itself made of differentiable operations.
    """

    @jax.custom_jvp
    def run(W, xz, carry0, mask):
        carry_T, _, carries = _loop(elem, W, xz, carry0, mask, reverse, unroll)
        return carry_T, carries[0]

    def run_jvp(primals, tangents):
        W, xz, carry0, mask = primals
        dW, dxz, dcarry0, _ = tangents
        carry_T, zs, carries = _loop(elem, W, xz, carry0, mask, reverse, unroll)
        prevs = tuple(_shift(c, c0, reverse) for c, c0 in zip(carries, carry0))
        dxz = dxz + prevs[0] @ dW.T  # every step's weight tangent in one GEMM

        def body(dcarry: Carry, inp):
            z_t, prev_t, dxz_t, m_t = inp
            dz_t = dxz_t + dcarry[0] @ W.T
            _, dnew = jax.jvp(elem, (z_t, prev_t), (dz_t, dcarry))
            dnew = _hold(m_t, dnew, dcarry)
            return dnew, dnew[0]

        dcarry_T, dhs = jax.lax.scan(body, tuple(dcarry0), (zs, prevs, dxz, mask),
                                     reverse=reverse, unroll=unroll)
        return (carry_T, carries[0]), (dcarry_T, dhs)

    run.defjvp(run_jvp)
    return run


def _segments(xz: Array, mask: Array | None, k: int) -> tuple[Array, Array, int]:
    """Pad time to a multiple of ``k`` with padding steps; shape ``(n, k, B, ...)``."""
    T = xz.shape[0]
    n = -(-T // k)
    pad = n * k - T
    if mask is None:
        mask = jnp.ones((T, *xz.shape[1:-1], 1), bool)
    xz = jnp.concatenate([xz, jnp.zeros((pad, *xz.shape[1:]), xz.dtype)], axis=0)
    mask = jnp.concatenate([mask, jnp.zeros((pad, *mask.shape[1:]), bool)], axis=0)
    return xz.reshape(n, k, *xz.shape[1:]), mask.reshape(n, k, *mask.shape[1:]), T


def recurrence(elem: Elementwise, W: Array, xz: Array, carry0: Carry, mask: Array | None, *,
               reverse: bool, unroll: int, remat: int | None) -> tuple[Carry, Array]:
    """Run ``carry_t = hold(mask_t, elem(xz_t + h_{t-1} @ W.T, carry_{t-1}))``.

    Args:
        elem: the gate nonlinearities, ``(z_t, carry_{t-1}) -> carry_t``.
        W: stacked recurrent matrix ``(G, d_h)``.
        xz: hoisted input projection ``(T, B, G)``, time-major.
        carry0: initial carry, each ``(B, d_h)``.
        mask: ``(T, B, 1)`` booleans (``False`` = padding step) or None.
        reverse, unroll: as in ``lax.scan``.
        remat: None, or a segment length ``k``: store only every ``k``-th carry.

    Returns:
        ``(carry_T, hs)`` with ``hs`` of shape ``(T, B, d_h)`` (held on padding steps).
    """
    if remat is None:
        return _recurrence(elem, reverse, unroll)(W, xz, carry0, mask)
    xz_seg, mask_seg, T = _segments(xz, mask, remat)
    run = _recurrence(elem, reverse, unroll)

    @jax.checkpoint
    def segment(carry, inp):
        xz_k, m_k = inp
        return run(W, xz_k, carry, m_k)

    carry_T, hs = jax.lax.scan(segment, carry0, (xz_seg, mask_seg), reverse=reverse)
    hs = hs.reshape(-1, *hs.shape[2:])[:T]
    return carry_T, hs
