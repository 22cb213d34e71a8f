"""Whole sequences: the time loop is one ``jax.lax.scan``.

The scanned body is traced once, whatever the sequence length, so a sequence of any
length compiles in constant time and memory of the program, under ``jit``, on CPU, GPU
and TPU alike. ``reverse`` and ``unroll`` are the only static arguments.

Padding (``lengths``): step ``t`` of example ``b`` is valid when ``t < lengths[b]``. A
padding step leaves the carry unchanged and emits zeros, so the returned final state is
the state after the last valid step. With ``reverse=True`` the scan runs from ``T-1``
down to ``0``: the trailing padding is met first and skipped, then the valid steps are
read last-to-first, and every output stays at the index of the input it came from, which
is what the backward half of a bidirectional layer needs.

Derivatives of every order work in forward and reverse mode. The loops are
:mod:`jaxrnn._loops`': the input product of all steps is one GEMM before the loop, and
the reverse pass carries only the recurrent gradient, with the weight gradients as one
GEMM each after it (the structure of cuDNN). ``remat`` runs the same loops on segments of
``k`` steps, each under ``jax.checkpoint``. On CPU, 16-bit float parameters run the loop
in float32 and round its results once (XLA's CPU backend widens 16-bit math anyway, and
would otherwise make gradients O(T^2)); other platforms keep the dtype.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._loops.lstm import lstm_sequence
from jaxrnn._loops.newton import newton_sequence
from jaxrnn._loops.rnn import rnn_sequence
from jaxrnn._typing import Array, Float, Int
from jaxrnn.cells import _lstm_state, _lstm_state_diag, _rnn_readout, _rnn_state, _rnn_state_diag
from jaxrnn.params import LSTMParams, LSTMState, RNNParams


def _time_last(y: Array) -> Array:
    """``(T, ..., d)`` -> ``(..., T, d)``."""
    return jnp.moveaxis(y, 0, -2)


def _prepare(
    xs: Any, lengths: Any, d_in: int, param_dtype: Any, where: str, unroll: int, remat: Any = None
):
    xs = _checks.check_inputs(xs, d_in, where, name="xs", min_rank=2)
    _checks.check_dtype(xs, param_dtype, where)
    _checks.check_static_int(unroll, "unroll", where, minimum=1)
    if remat is not None:
        _checks.check_static_int(remat, "remat (None or a segment length)", where, minimum=1)
    batch = tuple(xs.shape[:-2])
    if lengths is not None:
        lengths = _checks.check_lengths(lengths, batch, where)
    mask = _checks.valid_mask(lengths, xs.shape[-2], batch)
    return xs, batch, mask


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "method"))
def rnn_scan(
    params: RNNParams,
    xs: Float[Array, "... T d_in"],
    s0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    method: str = "sequential",
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"], Float[Array, "... T d_out"]]:
    r"""Run the vanilla RNN over a sequence.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s), \qquad
        o_t = \mathrm{softmax}(\mathrm{logits}_t), \quad \mathrm{logits}_t = V s_t + b_o

    Args:
        params: ``RNNParams``.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        s0: initial state ``s_0``, shape ``(..., d_h)``; zeros of the parameters' dtype
            by default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        unroll: how many steps to unroll in the scanned loop body (static); results
            agree to rounding. Larger values can be faster on a GPU.
        remat: None (default: store what the backward pass needs at every step), or a
            segment length ``k`` (static): store only every ``k``-th state and recompute
            the rest during the backward pass, e.g. ``k ~ sqrt(T)`` for long sequences.
            Changes memory and time; values and derivatives agree to rounding.
        method: ``"sequential"`` (default: the loop over time), or ``"newton"``: all
            steps at once by Newton iterations over time (:func:`jaxrnn.newton_scan`,
            dense Jacobians; ``"newton-diagonal"``: their diagonals). Same values to the
            tolerance in ``docs/newton.md``; reverse-mode derivatives only; no ``remat``.

    Derivatives of every order work in forward and reverse mode (:mod:`jaxrnn.scan`).

    Returns:
        ``(s_T, ss, logits)``: the final state ``(..., d_h)`` (after the last valid
        step), all states ``(..., T, d_h)`` and the logits ``(..., T, d_out)``, with
        ``o_t = jax.nn.softmax(logits[..., t, :])``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters, bad ``unroll``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=2)
        >>> xs = jnp.ones((4, 7, 3))                    # (B, T, d_in)
        >>> s_T, ss, logits = jaxrnn.rnn_scan(p, xs, lengths=jnp.array([7, 5, 1, 0]))
        >>> s_T.shape, ss.shape, logits.shape
        ((4, 5), (4, 7, 5), (4, 7, 2))
        >>> bool((ss[1, 5:] == 0).all())                # padding steps emit zeros
        True
    """
    where = "rnn_scan"
    d_in, d_h, _ = _checks.check_rnn_params(params, where)
    dtype = params.W.dtype
    xs, batch, mask = _prepare(xs, lengths, d_in, dtype, where, unroll, remat)
    jacobian = _checks.check_method(method, where, remat)
    s0 = _checks.initial_state(s0, (*batch, d_h), dtype, where, name="s0")
    T, n = xs.shape[-2], math.prod(batch)
    if T > 0 and jacobian is not None:
        step, diag = (functools.partial(fn, params) for fn in (_rnn_state, _rnn_state_diag))
        s_T, ss = newton_sequence(step, diag, s0, xs.astype(dtype), mask, reverse=reverse,
                                  jacobian=jacobian)  # fmt: skip
        ss = jnp.moveaxis(ss, -2, 0)
    elif T > 0:
        # The fast loop (jaxrnn._loops): leading batch axes flattened into one.
        xs_time = jnp.moveaxis(xs, -2, 0).reshape(T, n, d_in).astype(dtype)
        s_T, ss = rnn_sequence(
            params, xs_time, s0.reshape(n, d_h),
            None if mask is None else mask.reshape(T, n, 1), reverse=reverse, unroll=unroll,
            remat=remat,
        )  # fmt: skip
        s_T, ss = s_T.reshape(*batch, d_h), ss.reshape(T, *batch, d_h)
    else:  # no steps: the state passes through
        ss = jnp.zeros((0, *batch, d_h), dtype)
        s_T = s0
    # The readout does not feed back, so it is one matrix product over all steps.
    logits = _rnn_readout(params, ss)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.zeros_like(logits))
    return s_T, _time_last(ss), _time_last(logits)


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "method"))
def lstm_scan(
    params: LSTMParams,
    xs: Float[Array, "... T d_in"],
    state0: LSTMState | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    method: str = "sequential",
) -> tuple[LSTMState, Float[Array, "... T d_h"]]:
    r"""Run the LSTM over a sequence.

    .. math::

        f_t, i_t, o_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \quad g \in \{f, i, o\} \\
        \tilde C_t &= \tanh(U_c x_t + W_c h_{t-1} + b_c) \\
        C_t &= f_t \odot C_{t-1} + i_t \odot \tilde C_t, \qquad h_t = o_t \odot \tanh(C_t)

    Args:
        params: ``LSTMParams(f, i, c, o)``.
        xs: inputs, shape ``(..., T, d_in)``.
        state0: initial ``LSTMState(h, C)``, each ``(..., d_h)``; zeros of the
            parameters' dtype by default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        unroll: how many steps to unroll in the scanned loop body (static); results
            agree to rounding. Larger values can be faster on a GPU.
        remat: None (default: store what the backward pass needs at every step), or a
            segment length ``k`` (static): store only every ``k``-th state and recompute
            the rest during the backward pass, e.g. ``k ~ sqrt(T)`` for long sequences.
            Changes memory and time; values and derivatives agree to rounding.
        method: ``"sequential"`` (default: the loop over time), or ``"newton"``: all
            steps at once by Newton iterations over time (:func:`jaxrnn.newton_scan`,
            dense Jacobians; ``"newton-diagonal"``: their diagonals). Same values to the
            tolerance in ``docs/newton.md``; reverse-mode derivatives only; no ``remat``.

    Derivatives of every order work in forward and reverse mode (:mod:`jaxrnn.scan`).

    Returns:
        ``(state_T, hs)``: the final ``LSTMState`` (after the last valid step) and the
        hidden states ``hs`` of shape ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params/state type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters, bad ``unroll``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> state_T, hs = jaxrnn.lstm_scan(p, jnp.ones((2, 6, 3)))
        >>> hs.shape, state_T.h.shape, state_T.C.shape
        ((2, 6, 4), (2, 4), (2, 4))
        >>> bool(jnp.allclose(state_T.h, hs[:, -1]))
        True
    """
    where = "lstm_scan"
    d_in, d_h = _checks.check_lstm_params(params, where)
    dtype = params.f.W.dtype
    xs, batch, mask = _prepare(xs, lengths, d_in, dtype, where, unroll, remat)
    jacobian = _checks.check_method(method, where, remat)
    if state0 is None:
        zeros = jnp.zeros((*batch, d_h), dtype)
        state0 = LSTMState(h=zeros, C=zeros)
    else:
        state0 = _checks.check_lstm_state(state0, (*batch, d_h), where, name="state0")
        for leaf in state0:
            _checks.check_dtype(leaf, dtype, where)
        state0 = LSTMState(h=state0.h.astype(dtype), C=state0.C.astype(dtype))
    # The leading batch axes are flattened into one for the loop: with two or more batch
    # axes, XLA's CPU backend (jax 0.10.2) returned wrong float64 gradients through the
    # outputs of this loop (test_scan.py::test_lstm_gradients_with_several_batch_axes).
    T, n = xs.shape[-2], math.prod(batch)
    if T > 0 and jacobian is not None:
        step, diag = (functools.partial(fn, params) for fn in (_lstm_state, _lstm_state_diag))
        state_T, states = newton_sequence(step, diag, state0, xs.astype(dtype), mask,
                                          reverse=reverse, jacobian=jacobian)  # fmt: skip
        return state_T, states.h
    xs_time = jnp.moveaxis(xs, -2, 0).reshape(T, n, d_in)
    mask = None if mask is None else mask.reshape(T, n, 1)
    h0, C0 = (leaf.reshape(n, d_h) for leaf in state0)
    if T > 0:
        h_T, C_T, hs = lstm_sequence(
            params, xs_time.astype(dtype), h0, C0, mask,
            reverse=reverse, unroll=unroll, remat=remat,
        )  # fmt: skip
    else:  # no steps: the state passes through
        h_T, C_T, hs = h0, C0, jnp.zeros((0, n, d_h), dtype)
    state_T = LSTMState(h=h_T.reshape(*batch, d_h), C=C_T.reshape(*batch, d_h))
    return state_T, _time_last(hs).reshape(*batch, T, d_h)


__all__ = ["lstm_scan", "rnn_scan"]
