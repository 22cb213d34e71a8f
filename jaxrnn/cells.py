"""One time step of each network: the equations, and nothing else.

Every step function accepts one example (``x_t`` of shape ``(d_in,)``) or any number of
leading batch axes (``(..., d_in)``); the state carries the same leading axes. The minGRU
and minLSTM steps are in :mod:`jaxrnn.cells_min`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._typing import Array, Float
from jaxrnn.params import (
    Gate,
    GRUParams,
    LSTMParams,
    LSTMState,
    RNNParams,
)

# --- the equations, unchecked (used inside scanned loops) -------------------------------


def _plain(v: Array, M: Array) -> Array:
    return v @ M.T


def _kept_apart(v: Array, M: Array) -> Array:
    return jax.lax.optimization_barrier(v @ M.T)


def _mul(M: Array, v: Array) -> Array:
    """``M v`` over the last axis of ``v``, i.e. ``v @ M.T``, with ``M`` stored ``(out, in)``.

    On CPU the product is kept out of the fusion of the elementwise gate that reads it
    (``optimization_barrier``). Inside a loop of steps (Flax's ``nn.RNN`` of a jaxrnn cell,
    a user's ``lax.scan`` of a step) XLA's CPU backend otherwise fused the transposed
    product into the gate's ``tanh`` / ``sigmoid``, and the forward pass at batch 1 ran
    3.2-5.8x slower (``nn.RNN`` of each ``jaxrnn.linen`` cell at (1, 1000, 128)); at batch
    4 and 16 the two were level (``docs/design_loops.md``). Other platforms multiply as
    written.
    """
    return jax.lax.platform_dependent(v, M, cpu=_kept_apart, default=_plain)


def _rnn_state(params: RNNParams, s_prev: Array, x_t: Array) -> Array:
    """``s_t = tanh(U x_t + W s_{t-1} + b_s)``, batched over leading axes."""
    return jnp.tanh(_mul(params.U, x_t) + _mul(params.W, s_prev) + params.b_s)


def _rnn_readout(params: RNNParams, s_t: Array) -> Array:
    """``logits_t = V s_t + b_o``, so that ``o_t = softmax(logits_t)``."""
    return s_t @ params.V.T + params.b_o


def _pre(gate: Gate, x_t: Array, h_prev: Array) -> Array:
    """Pre-activation of one gate: ``U_g x_t + W_g h_{t-1} + b_g``."""
    return _mul(gate.U, x_t) + _mul(gate.W, h_prev) + gate.b


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


def _rnn_state_diag(params: RNNParams, s_prev: Array, x_t: Array) -> Array:
    """The diagonal of ``ds_t / ds_{t-1} = diag(1 - s_t^2) W``, for Newton over time."""
    s_t = _rnn_state(params, s_prev, x_t)
    return (1 - s_t**2) * jnp.diagonal(params.W)


def _lstm_state_diag(params: LSTMParams, state: LSTMState, x_t: Array) -> LSTMState:
    """The diagonal of the step's Jacobian in ``(h, C)``: ``dh_t/dh_{t-1}``, ``dC_t/dC_{t-1}``.

    The update is elementwise in the pre-activations ``z_g`` and ``C_{t-1}``, and ``z_g``
    depends on ``h_{t-1}`` through ``W_g`` only, so two forward-mode products of the
    update give the diagonal: tangents ``diag(W_g)`` for ``dh_t/dh_{t-1}``, ones for
    ``dC_t/dC_{t-1}`` (which is ``f_t``).
    """
    z = tuple(_pre(g, x_t, state.h) for g in params)
    W_diag = tuple(jnp.diagonal(g.W) for g in params)
    ones, zeros = jnp.ones_like(state.C), jnp.zeros_like(state.C)
    _, d_h = jax.jvp(_lstm_update, (*z, state.C), (*W_diag, zeros))
    _, d_C = jax.jvp(_lstm_update, (*z, state.C), (*(jnp.zeros_like(z_g) for z_g in z), ones))
    return LSTMState(h=d_h.h, C=d_C.C)


def _gru_state_diag(params: GRUParams, h_prev: Array, x_t: Array) -> Array:
    """The diagonal of ``dh_t / dh_{t-1}`` of the GRU (``reset_after=True``), in O(d_h).

    ``h_t`` is elementwise in ``z``'s and ``r``'s pre-activations, ``W_n h_{t-1}`` and
    ``h_{t-1}``, each of which depends on ``h_{t-1}`` through one matrix: one forward-mode
    product with tangents ``diag(W_z), diag(W_r), diag(W_n)`` and ones gives the diagonal.
    """
    a_n = _mul(params.n.U, x_t) + params.n.b

    def update(z_pre, r_pre, q, h):
        z_t, r_t = jax.nn.sigmoid(z_pre), jax.nn.sigmoid(r_pre)
        return (1 - z_t) * jnp.tanh(a_n + r_t * q) + z_t * h

    pre = (_pre(params.z, x_t, h_prev), _pre(params.r, x_t, h_prev),
           _mul(params.n.W, h_prev) + params.b_hn, h_prev)  # fmt: skip
    W_diag = tuple(jnp.diagonal(g.W) for g in (params.z, params.r, params.n))
    return jax.jvp(update, pre, (*W_diag, jnp.ones_like(h_prev)))[1]


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


# --- GRU ---------------------------------------------------------------------------------


def _gru_state(params: GRUParams, h_prev: Array, x_t: Array, reset_after: bool = True) -> Array:
    """One GRU step, unchecked, batched over leading axes: ``h_t``."""
    z, r, n = params.z, params.r, params.n
    z_t = jax.nn.sigmoid(_pre(z, x_t, h_prev))
    r_t = jax.nn.sigmoid(_pre(r, x_t, h_prev))
    if reset_after:
        n_t = jnp.tanh(_mul(n.U, x_t) + n.b + r_t * (_mul(n.W, h_prev) + params.b_hn))
    else:
        n_t = jnp.tanh(_mul(n.U, x_t) + _mul(n.W, r_t * h_prev) + n.b + params.b_hn)
    return (1 - z_t) * n_t + z_t * h_prev


def gru_step(
    params: GRUParams,
    h_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
    *,
    reset_after: bool = True,
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_h"]]:
    r"""One step of the GRU.

    .. math::

        z_t &= \sigma(U_z x_t + W_z h_{t-1} + b_z) \\
        r_t &= \sigma(U_r x_t + W_r h_{t-1} + b_r) \\
        n_t &= \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    This is the convention of PyTorch, cuDNN, Flax, Equinox and Keras
    (``reset_after=True``). With ``reset_after=False`` (Cho et al. 2014, Haiku, Keras
    ``reset_after=False``) the reset gate multiplies the state before ``W_n``:
    :math:`n_t = \tanh(U_n x_t + W_n (r_t \odot h_{t-1}) + b_n + b_{hn})`.

    Args:
        params: ``GRUParams(z, r, n, b_hn)``; each ``Gate`` has ``U (d_h, d_in)``,
            ``W (d_h, d_h)``, ``b (d_h,)``.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d_h)``.
        x_t: input, shape ``(..., d_in)`` with the same leading axes as ``h_prev``.
        reset_after: where the reset gate applies (see above).

    Returns:
        ``(h_t, h_t)``: the new state and the output, which are the same array.

    Raises:
        TypeError: ``params`` of the wrong type, or an input not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_t, y_t = jaxrnn.gru_step(p, jnp.zeros((2, 4)), jnp.ones((2, 3)))
        >>> h_t.shape, bool((h_t == y_t).all())
        ((2, 4), True)
    """
    where = "gru_step"
    d_in, d_h = _checks.check_gru_params(params, where)
    x_t = _checks.check_inputs(x_t, d_in, where, name="x_t", min_rank=1)
    h_prev = _checks.check_state(h_prev, (*x_t.shape[:-1], d_h), where, name="h_prev")
    h_t = _gru_state(params, h_prev, x_t, bool(reset_after))
    return h_t, h_t


__all__ = ["gru_step", "lstm_step", "rnn_step"]
