"""Step functions for the decoders, built from jaxrnn parameters (no glue needed).

``make_lstm_step_fn``, ``make_gru_step_fn`` and ``make_rnn_step_fn`` return
``step_fn(carry, y_prev) -> (carry, logits)`` for ``greedy_decode``, ``sample_decode``
and ``beam_search``: embed the previous token, take one cell step, read out logits.
"""

from __future__ import annotations

from typing import Any

from jaxrnn import _checks
from jaxrnn._typing import Array, Float, Int
from jaxrnn.cells import LSTMState, _gru_state, _lstm_state, _rnn_readout, _rnn_state
from jaxrnn.decode._checks import check_embed_readout, check_matrix
from jaxrnn.decode.greedy import StepFn


def make_lstm_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: Any,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""An LSTM decoder step: embedding, one ``lstm_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad (h_t, C_t) = \mathrm{LSTM}(x_t, h_{t-1}, C_{t-1}), \quad
        \mathrm{logits}_t = V h_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)`` (row ``y`` embeds token ``y``).
        params: ``LSTMParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)`` (stored ``(out, in)``).
        b_o: readout bias, shape ``(d_out,)``.

    Returns:
        ``step_fn(state: LSTMState, y_prev: (B,) ints) -> (LSTMState, logits (B, d_out))``;
        the carry is an ``LSTMState(h, C)`` with fields of shape ``(B, d_h)``.

    Raises:
        TypeError: ``params`` is not an ``LSTMParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode, make_lstm_step_fn
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_lstm_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = make_lstm_step_fn(E, p, V, jnp.zeros(6))
        >>> state0 = jaxrnn.LSTMState(h=jnp.zeros((2, 8)), C=jnp.zeros((2, 8)))
        >>> out = greedy_decode(step, state0, 1, max_len=5, end_token=0)
        >>> out.tokens.shape, out.lengths.shape
        ((2, 5), (2,))
    """
    where = "make_lstm_step_fn"
    d_in, d_h = _checks.check_lstm_params(params, where)
    E, V, b_o = check_embed_readout(E, V, b_o, d_in, d_h, where)

    def step_fn(state: LSTMState, y_prev: Int[Array, " B"]) -> tuple[LSTMState, Array]:
        state_t = _lstm_state(params, state, E[y_prev])
        return state_t, state_t.h @ V.T + b_o

    return step_fn


def make_gru_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: Any,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
    *,
    reset_after: bool = True,
) -> StepFn:
    r"""A GRU decoder step: embedding, one ``gru_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad h_t = \mathrm{GRU}(x_t, h_{t-1}), \quad
        \mathrm{logits}_t = V h_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``GRUParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)``.
        b_o: readout bias, shape ``(d_out,)``.
        reset_after: the GRU variant (see :func:`jaxrnn.gru_step`).

    Returns:
        ``step_fn(h: (B, d_h), y_prev: (B,) ints) -> (h, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not a ``GRUParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_gru_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_gru_step_fn(E, p, V, jnp.zeros(6))
        >>> out = greedy_decode(step, jnp.zeros((2, 8)), 1, max_len=5, end_token=0)
        >>> out.tokens.shape
        (2, 5)
    """
    where = "make_gru_step_fn"
    d_in, d_h = _checks.check_gru_params(params, where)
    E, V, b_o = check_embed_readout(E, V, b_o, d_in, d_h, where)
    reset_after = bool(reset_after)

    def step_fn(h_prev: Array, y_prev: Int[Array, " B"]) -> tuple[Array, Array]:
        h_t = _gru_state(params, h_prev, E[y_prev], reset_after)
        return h_t, h_t @ V.T + b_o

    return step_fn


def make_rnn_step_fn(E: Float[Array, "n_vocab d_in"], params: Any) -> StepFn:
    r"""A vanilla-RNN decoder step: embedding, then ``rnn_step`` with its own readout.

    .. math::

        x_t = E[y_{t-1}], \quad s_t = \tanh(U x_t + W s_{t-1} + b_s), \quad
        \mathrm{logits}_t = V s_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``RNNParams`` with input size ``d_in``; its readout ``V, b_o`` gives
            the logits.

    Returns:
        ``step_fn(s: (B, d_h), y_prev: (B,) ints) -> (s, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not an ``RNNParams``, or ``E`` is not floating.
        ValueError: ``E`` does not have ``d_in`` columns.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import beam_search, make_rnn_step_fn
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=7)
        >>> step = make_rnn_step_fn(jnp.eye(7, 3), p)
        >>> out = beam_search(step, jnp.zeros((2, 5)), 0, beam_size=3,
        ...                          max_len=4, end_token=6)
        >>> out.tokens.shape, out.score.shape
        ((2, 4), (2,))
    """
    where = "make_rnn_step_fn"
    d_in, _, _ = _checks.check_rnn_params(params, where)
    E = check_matrix(E, (None, d_in), "E", f"(n_vocab, d_in={d_in})", where)

    def step_fn(s_prev: Array, y_prev: Int[Array, " B"]) -> tuple[Array, Array]:
        s_t = _rnn_state(params, s_prev, E[y_prev])
        return s_t, _rnn_readout(params, s_t)

    return step_fn


__all__ = ["make_gru_step_fn", "make_lstm_step_fn", "make_rnn_step_fn"]
