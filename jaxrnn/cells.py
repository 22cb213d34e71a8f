"""One time step of each network: the equations, and nothing else.

Both step functions accept one example (``x_t`` of shape ``(d_in,)``) or any number of
leading batch axes (``(..., d_in)``); the state carries the same leading axes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._typing import Array, Float
from jaxrnn.params import Gate, LSTMParams, LSTMState, RNNParams

# --- the equations, unchecked (used inside scanned loops) -------------------------------


def _rnn_state(params: RNNParams, s_prev: Array, x_t: Array) -> Array:
    """``s_t = tanh(U x_t + W s_{t-1} + b_s)``, batched over leading axes."""
    return jnp.tanh(x_t @ params.U.T + s_prev @ params.W.T + params.b_s)


def _rnn_readout(params: RNNParams, s_t: Array) -> Array:
    """``logits_t = V s_t + b_o``, so that ``o_t = softmax(logits_t)``."""
    return s_t @ params.V.T + params.b_o


def _pre(gate: Gate, x_t: Array, h_prev: Array) -> Array:
    """Pre-activation of one gate: ``U_g x_t + W_g h_{t-1} + b_g``."""
    return x_t @ gate.U.T + h_prev @ gate.W.T + gate.b


def _lstm_update(z_f: Array, z_i: Array, z_c: Array, z_o: Array, C_prev: Array) -> LSTMState:
    """The gates and the state update, from the pre-activations ``z_g``."""
    f_t = jax.nn.sigmoid(z_f)
    i_t = jax.nn.sigmoid(z_i)
    C_tilde_t = jnp.tanh(z_c)
    o_t = jax.nn.sigmoid(z_o)
    C_t = f_t * C_prev + i_t * C_tilde_t
    h_t = o_t * jnp.tanh(C_t)
    return LSTMState(h=h_t, C=C_t)


def _lstm_state(params: LSTMParams, state: LSTMState, x_t: Array) -> LSTMState:
    """One LSTM step, batched over leading axes (gates in the order f, i, c, o)."""
    h_prev = state.h
    return _lstm_update(
        _pre(params.f, x_t, h_prev),
        _pre(params.i, x_t, h_prev),
        _pre(params.c, x_t, h_prev),
        _pre(params.o, x_t, h_prev),
        state.C,
    )


# --- public, checked ---------------------------------------------------------------------


def rnn_step(
    params: RNNParams,
    s_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_out"]]:
    r"""One step of the vanilla RNN.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s), \qquad
        o_t = \mathrm{softmax}(V s_t + b_o)

    The logits ``V s_t + b_o`` are returned rather than ``o_t``, so that losses can use a
    numerically stable log-softmax; ``o_t = jax.nn.softmax(logits_t)``.

    Args:
        params: ``RNNParams`` with ``U (d_h, d_in)``, ``W (d_h, d_h)``, ``V (d_out, d_h)``.
        s_prev: previous state ``s_{t-1}``, shape ``(..., d_h)``.
        x_t: input ``x_t``, shape ``(..., d_in)`` with the same leading axes as ``s_prev``.

    Returns:
        ``(s_t, logits_t)`` of shapes ``(..., d_h)`` and ``(..., d_out)``.

    Raises:
        TypeError: ``params`` is not an ``RNNParams``, or an input is not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=2)
        >>> s_t, logits_t = jaxrnn.rnn_step(p, jnp.zeros(5), jnp.ones(3))
        >>> s_t.shape, logits_t.shape
        ((5,), (2,))
    """
    where = "rnn_step"
    d_in, d_h, _ = _checks.check_rnn_params(params, where)
    x_t = _checks.check_inputs(x_t, d_in, where, name="x_t", min_rank=1)
    s_prev = _checks.check_state(s_prev, (*x_t.shape[:-1], d_h), where, name="s_prev")
    s_t = _rnn_state(params, s_prev, x_t)
    return s_t, _rnn_readout(params, s_t)


def lstm_step(
    params: LSTMParams,
    state: LSTMState,
    x_t: Float[Array, "... d_in"],
) -> tuple[LSTMState, Float[Array, "... d_h"]]:
    r"""One step of the LSTM.

    .. math::

        f_t &= \sigma(U_f x_t + W_f h_{t-1} + b_f) \\
        i_t &= \sigma(U_i x_t + W_i h_{t-1} + b_i) \\
        \tilde C_t &= \tanh(U_c x_t + W_c h_{t-1} + b_c) \\
        o_t &= \sigma(U_o x_t + W_o h_{t-1} + b_o) \\
        C_t &= f_t \odot C_{t-1} + i_t \odot \tilde C_t \\
        h_t &= o_t \odot \tanh(C_t)

    Args:
        params: ``LSTMParams(f, i, c, o)``; each ``Gate`` has ``U (d_h, d_in)``,
            ``W (d_h, d_h)``, ``b (d_h,)``.
        state: ``LSTMState(h, C)`` at ``t-1``, each of shape ``(..., d_h)``.
        x_t: input, shape ``(..., d_in)`` with the same leading axes as the state.

    Returns:
        ``(state_t, h_t)``: the new ``LSTMState(h=h_t, C=C_t)`` and ``h_t`` (the output).

    Raises:
        TypeError: ``params``/``state`` of the wrong type, or an input not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> state = jaxrnn.LSTMState(h=jnp.zeros((2, 4)), C=jnp.zeros((2, 4)))
        >>> state_t, h_t = jaxrnn.lstm_step(p, state, jnp.ones((2, 3)))
        >>> h_t.shape, state_t.C.shape
        ((2, 4), (2, 4))
    """
    where = "lstm_step"
    d_in, d_h = _checks.check_lstm_params(params, where)
    x_t = _checks.check_inputs(x_t, d_in, where, name="x_t", min_rank=1)
    state = _checks.check_lstm_state(state, (*x_t.shape[:-1], d_h), where, name="state")
    state_t = _lstm_state(params, state, x_t)
    return state_t, state_t.h


__all__ = ["lstm_step", "rnn_step"]
