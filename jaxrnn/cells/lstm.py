r"""The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

.. math::

    f_t &= \sigma(U_f x_t + W_f h_{t-1} + b_f), \qquad i_t = \sigma(U_i x_t + W_i h_{t-1} + b_i) \\
    \tilde C_t &= \tanh(U_c x_t + W_c h_{t-1} + b_c), \qquad
    o_t = \sigma(U_o x_t + W_o h_{t-1} + b_o) \\
    C_t &= f_t \odot C_{t-1} + i_t \odot \tilde C_t, \qquad h_t = o_t \odot \tanh(C_t)

The family whole: :class:`LSTMParams`, :class:`LSTMState`, :func:`init_lstm_params`,
:func:`lstm_step`, :func:`lstm_scan` (on the fast loop of :mod:`jaxrnn._src.loops.lstm`),
:func:`make_lstm_step_fn` and the cell :data:`LSTM_CELL`.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.loops.lstm import lstm_sequence
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, leaf, register_cell
from jaxrnn.decode.steps import StepFn, make_step_fn
from jaxrnn.params import (
    Gate,
    Initializer,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
    gate_pre,
    init_gate,
)


class LSTMParams(NamedTuple):
    """Parameters of the LSTM: one :class:`~jaxrnn.Gate` per gate.

    Attributes:
        f: forget gate, ``f_t = sigmoid(U_f x_t + W_f h_{t-1} + b_f)``.
        i: input gate, ``i_t = sigmoid(U_i x_t + W_i h_{t-1} + b_i)``.
        c: candidate cell, ``C~_t = tanh(U_c x_t + W_c h_{t-1} + b_c)``.
        o: output gate, ``o_t = sigmoid(U_o x_t + W_o h_{t-1} + b_o)``.
    """

    f: Gate
    i: Gate
    c: Gate
    o: Gate


class LSTMState(NamedTuple):
    """The LSTM's carry. Use the field names, never the position.

    Attributes:
        h: hidden state ``h_t``, shape ``(..., d_h)``.
        C: cell state ``C_t``, shape ``(..., d_h)``.
    """

    h: Float[Array, "... d_h"]
    C: Float[Array, "... d_h"]


def init_lstm_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    forget_bias: float = 1.0,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    b_init: Initializer = default_bias_init,
) -> LSTMParams:
    """Initialise :class:`LSTMParams`.

    Defaults: every ``U_g`` Glorot uniform, every ``W_g`` orthogonal, every ``b_g`` zero,
    then ``forget_bias`` is added to ``b_f`` (Gers et al. 2000; Jozefowicz et al. 2015):
    the forget gate starts near ``sigmoid(1) = 0.73`` so memory is kept by default.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden (and cell) size.
        forget_bias: constant added to the forget-gate bias ``b_f``.
        dtype: floating dtype of every parameter.
        U_init, W_init, b_init: initialisers, called once per gate.

    Returns:
        ``LSTMParams(f, i, c, o)``, each a ``Gate`` with ``U (d_h, d_in)``,
        ``W (d_h, d_h)`` and ``b (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.f.U.shape, p.c.W.shape, p.f.b.tolist(), p.i.b.tolist()
        ((4, 3), (4, 4), [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    """
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    keys = jax.random.split(key, 4)

    def gate(k: PRNGKey, bias_offset: float) -> Gate:
        g = init_gate(k, d_in, d_h, dtype, U_init, W_init, b_init)
        return g._replace(b=g.b + jnp.asarray(bias_offset, dtype))

    return LSTMParams(
        f=gate(keys[0], forget_bias),
        i=gate(keys[1], 0.0),
        c=gate(keys[2], 0.0),
        o=gate(keys[3], 0.0),
    )


# --- the equations -------------------------------------------------------------------------


def _update(z_f: Array, z_i: Array, z_c: Array, z_o: Array, C_prev: Array) -> LSTMState:
    """The gates and the state update, from the pre-activations ``z_g``."""
    f_t = jax.nn.sigmoid(z_f)
    i_t = jax.nn.sigmoid(z_i)
    C_tilde_t = jnp.tanh(z_c)
    o_t = jax.nn.sigmoid(z_o)
    C_t = f_t * C_prev + i_t * C_tilde_t
    h_t = o_t * jnp.tanh(C_t)
    return LSTMState(h=h_t, C=C_t)


def _state(params: LSTMParams, state: LSTMState, x_t: Array) -> LSTMState:
    """One LSTM step, batched over leading axes (gates in the order f, i, c, o)."""
    h_prev = state.h
    return _update(
        gate_pre(params.f, x_t, h_prev),
        gate_pre(params.i, x_t, h_prev),
        gate_pre(params.c, x_t, h_prev),
        gate_pre(params.o, x_t, h_prev),
        state.C,
    )


def _jacobian_diagonal(params: LSTMParams, state: LSTMState, x_t: Array) -> LSTMState:
    """The diagonal of the step's Jacobian in ``(h, C)``: ``dh_t/dh_{t-1}``, ``dC_t/dC_{t-1}``.

    The update is elementwise in the pre-activations ``z_g`` and ``C_{t-1}``, and ``z_g``
    depends on ``h_{t-1}`` through ``W_g`` only, so two forward-mode products of the
    update give the diagonal: tangents ``diag(W_g)`` for ``dh_t/dh_{t-1}``, ones for
    ``dC_t/dC_{t-1}`` (which is ``f_t``).
    """
    z = tuple(gate_pre(g, x_t, state.h) for g in params)
    W_diag = tuple(jnp.diagonal(g.W) for g in params)
    ones, zeros = jnp.ones_like(state.C), jnp.zeros_like(state.C)
    _, d_h = jax.jvp(_update, (*z, state.C), (*W_diag, zeros))
    _, d_C = jax.jvp(_update, (*z, state.C), (*(jnp.zeros_like(z_g) for z_g in z), ones))
    return LSTMState(h=d_h.h, C=d_C.C)


class LSTM(Cell):
    """The LSTM as a :class:`jaxrnn.Cell`: carry :class:`LSTMState`, output ``h_t``."""

    name: ClassVar[str] = "lstm"
    params_type: ClassVar[Any] = LSTMParams
    init_options: ClassVar[dict[str, Any]] = {"forget_bias": 1.0}
    entry_points: ClassVar[str] = "jaxrnn.lstm_step / lstm_scan"

    def dims(self, params: LSTMParams) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, "f.U")
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in: int, d_h: int, **options: Any) -> LSTMParams:
        def gate(offset: str | None = None) -> Gate:
            return Gate(U=leaf("input", (d_h, d_in)), W=leaf("recurrent", (d_h, d_h)),
                        b=leaf("bias", (d_h,), offset=offset))  # fmt: skip

        return LSTMParams(f=gate("forget_bias"), i=gate(), c=gate(), o=gate())

    def carry_shapes(self, dims: Any) -> LSTMState:
        shape: Any = (dims["d_h"],)
        return LSTMState(h=shape, C=shape)

    def step(self, params: LSTMParams, state: LSTMState, x_t: Array) -> tuple[LSTMState, Array]:
        state_t = _state(params, state, x_t)
        return state_t, state_t.h

    def jacobian_diagonal(self, params: LSTMParams, state: LSTMState, x_t: Array) -> LSTMState:
        return _jacobian_diagonal(params, state, x_t)

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Any = None, **options: Any) -> LSTMParams:  # fmt: skip
        inits = dict(initializers or {})
        return init_lstm_params(
            key, d_in, d_h, forget_bias=options.get("forget_bias", 1.0), dtype=dtype,
            U_init=inits.get("input", default_input_init),
            W_init=inits.get("recurrent", default_recurrent_init),
            b_init=inits.get("bias", default_bias_init),
        )  # fmt: skip

    def sequence(self, params: LSTMParams, xs: Array, carry0: LSTMState, mask: Any, resets: Any,
                 *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None,
                 reset_carry: LSTMState | None = None) -> tuple[LSTMState, Array, Any]:  # fmt: skip
        h_T, C_T, out = lstm_sequence(
            tuple(params), xs, carry0.h, carry0.C,
            sequence.column(mask), sequence.column(resets),
            reverse=reverse, unroll=unroll, remat=remat, carries=return_carries,
            reset_to=None if reset_carry is None else (reset_carry.h, reset_carry.C),
        )  # fmt: skip
        carries = LSTMState(h=out[0], C=out[1]) if return_carries else None
        return LSTMState(h=h_T, C=C_T), out[0], carries


LSTM_CELL = register_cell(LSTM())
"""The registered LSTM cell (``jaxrnn.get_cell("lstm")``)."""


# --- public, checked -------------------------------------------------------------------------


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
    return sequence.checked_step(LSTM_CELL, params, state, x_t, where="lstm_step", name="state")


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "method"))
def lstm_scan(
    params: LSTMParams,
    xs: Float[Array, "... T d_in"],
    state0: LSTMState | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
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

    The sequence rules of every cell (``docs/sequences.md``): batch axes, ``lengths``,
    ``resets``, ``reverse``, ``T = 0``. The loop computes the input products of all steps
    as one matrix product before it, and its derivatives (both modes, any order) carry only
    ``(dh, dC)``, with the weight gradients as single products after the loop.

    Args:
        params: ``LSTMParams(f, i, c, o)``.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        state0: initial ``LSTMState(h, C)``, each ``(..., d_h)``; zeros of the
            parameters' dtype by default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        resets: optional bool array of shape ``xs.shape[:-1]``: True where a new segment
            starts; that step reads ``state0`` in place of the previous state. With
            ``reverse`` each segment is read last-to-first on its own.
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        unroll: how many steps to unroll in the scanned loop body (static); results
            agree to rounding. Larger values can be faster on a GPU.
        remat: None (default: store what the backward pass needs at every step), or a
            segment length ``k`` (static): store only every ``k``-th state and recompute
            the rest during the backward pass, e.g. ``k ~ sqrt(T)`` for long sequences.
        method: ``"sequential"`` (default: the loop over time), or ``"newton"``: all
            steps at once by Newton iterations over time (:func:`jaxrnn.newton_scan`,
            dense Jacobians; ``"newton-diagonal"``: their diagonals). Same values to the
            tolerance in ``docs/newton.md``; no ``remat``.

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
    state_T, hs, _ = sequence.run_scan(
        LSTM_CELL, params, xs, state0, lengths=lengths, resets=resets, reverse=reverse,
        method=method, unroll=unroll, remat=remat, where="lstm_scan", carry_name="state0",
    )  # fmt: skip
    return state_T, hs


def make_lstm_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: LSTMParams,
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
        >>> from jaxrnn.decode import greedy_decode
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_lstm_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_lstm_step_fn(E, p, V, jnp.zeros(6))
        >>> state0 = jaxrnn.LSTMState(h=jnp.zeros((2, 8)), C=jnp.zeros((2, 8)))
        >>> out = greedy_decode(step, state0, 1, max_len=5, end_token=0)
        >>> out.tokens.shape, out.lengths.shape
        ((2, 5), (2,))
    """
    return make_step_fn(E, params, V, b_o, cell=LSTM_CELL, where="make_lstm_step_fn")


__all__ = [
    "LSTM",
    "LSTMParams",
    "LSTMState",
    "LSTM_CELL",
    "init_lstm_params",
    "lstm_scan",
    "lstm_step",
    "make_lstm_step_fn",
]
