r"""The sLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory"): exponential
gating with a stabiliser, a normaliser state and block-diagonal (multi-head) recurrence.

.. math::

    \tilde\imath_t, \tilde f_t, \tilde z_t, \tilde o_t &= U_g x_t + W_g h_{t-1} + b_g
        \qquad (W_g \text{ block-diagonal over heads}) \\
    m_t &= \max(\log\sigma(\tilde f_t) + m_{t-1},\ \tilde\imath_t), \qquad
    i_t = e^{\tilde\imath_t - m_t}, \qquad f_t = e^{\log\sigma(\tilde f_t) + m_{t-1} - m_t} \\
    c_t &= f_t c_{t-1} + i_t \tanh(\tilde z_t), \qquad n_t = f_t n_{t-1} + i_t, \qquad
    h_t = \sigma(\tilde o_t)\, c_t / n_t

``m`` is a stabiliser: ``c`` and ``n`` are stored times ``e^{-m}``, so ``h`` does not depend
on it, and every exponent is at most 0. The default initial state has ``m_0 = -\infty`` (no
history yet): the first step takes ``m_1 = \tilde\imath_1`` (as ``xlstm``'s sLSTM does from
its zero state).

The family whole: :class:`SLSTMParams`, :class:`SLSTMState`, :func:`init_slstm_params`,
:func:`slstm_step`, :func:`slstm_scan` (on the loop of :mod:`jaxrnn._src.loops.slstm`),
:func:`make_slstm_step_fn` and the cell :data:`SLSTM_CELL`; and the sLSTM layer of ``xlstm``
(:class:`SLSTMLayerParams`, the cell :data:`SLSTM_LAYER_CELL`): a causal convolution and SiLU
on the input and forget gates' path, headwise gate inputs, the sLSTM, and a group norm.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src import xlstm_parts as xp
from jaxrnn._src.loops.slstm import slstm_sequence
from jaxrnn._src.ops import mul
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, leaf, register_cell
from jaxrnn.decode.steps import StepFn, make_step_fn
from jaxrnn.params import (
    Gate,
    Initializer,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)


class SLSTMParams(NamedTuple):
    """Parameters of the sLSTM: one :class:`~jaxrnn.Gate` per gate, ``W`` block-diagonal.

    Each gate has ``U (d_h, d_in)``, ``W (heads, d_h/heads, d_h/heads)`` (block ``k`` maps
    head ``k`` of ``h_{t-1}`` to head ``k`` of the gate) and ``b (d_h,)``.

    Attributes:
        i: input gate pre-activation ``i~_t`` (exponential gate).
        f: forget gate pre-activation ``f~_t`` (``log sigmoid``, then exponential).
        z: cell input ``z~_t`` (``tanh``).
        o: output gate ``o~_t`` (``sigmoid``).
    """

    i: Gate
    f: Gate
    z: Gate
    o: Gate


class SLSTMState(NamedTuple):
    """The sLSTM's carry. Use the field names, never the position.

    Attributes:
        h: hidden state ``h_t``, shape ``(..., d_h)``.
        c: cell state ``c_t`` (times ``e^{-m_t}``), ``(..., d_h)``.
        n: normaliser state ``n_t`` (times ``e^{-m_t}``), ``(..., d_h)``.
        m: stabiliser ``m_t`` (log scale), ``(..., d_h)``; ``-inf`` before the first step.
    """

    h: Float[Array, "... d_h"]
    c: Float[Array, "... d_h"]
    n: Float[Array, "... d_h"]
    m: Float[Array, "... d_h"]


def _check_heads(d_h: int, num_heads: Any) -> None:
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0:
        raise ValueError(f"expected num_heads to be a positive int, got {num_heads!r}")
    if d_h % num_heads:
        raise ValueError(f"expected num_heads to divide d_h={d_h}, got num_heads={num_heads}")


def init_slstm_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    num_heads: int = 1,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    b_init: Initializer = default_bias_init,
) -> SLSTMParams:
    """Initialise :class:`SLSTMParams`.

    Defaults: every ``U_g`` Glorot uniform, every block of ``W_g`` orthogonal, every ``b_g``
    zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size (a multiple of ``num_heads``).
        num_heads: number of heads: ``W_g`` has ``num_heads`` blocks of size
            ``d_h / num_heads``.
        dtype: floating dtype of every parameter.
        U_init, W_init, b_init: initialisers, called once per gate (``W_init`` with the
            shape ``(num_heads, d_h/num_heads, d_h/num_heads)``).

    Returns:
        ``SLSTMParams(i, f, z, o)``.

    Raises:
        ValueError: a size is not a positive int, or ``num_heads`` does not divide ``d_h``.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_slstm_params(jax.random.key(0), d_in=3, d_h=8, num_heads=2)
        >>> p.i.U.shape, p.f.W.shape, p.o.b.shape
        ((8, 3), (2, 4, 4), (8,))
    """
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    _check_heads(d_h, num_heads)
    d = d_h // num_heads
    keys = jax.random.split(key, 4)

    def gate(k: PRNGKey) -> Gate:
        k_U, k_W, k_b = jax.random.split(k, 3)
        return Gate(U=U_init(k_U, (d_h, d_in), dtype), W=W_init(k_W, (num_heads, d, d), dtype),
                    b=b_init(k_b, (d_h,), dtype))  # fmt: skip

    return SLSTMParams(i=gate(keys[0]), f=gate(keys[1]), z=gate(keys[2]), o=gate(keys[3]))


# --- the equations -------------------------------------------------------------------------


def block_diagonal(W: Array, h: Array) -> Array:
    """``W h`` for a block-diagonal ``W (heads, d, d)`` (stored ``(out, in)`` per block) and
    ``h (..., heads d)``."""
    H, d, _ = W.shape
    hh = h.reshape(*h.shape[:-1], H, d)
    return jnp.einsum("...hj,hij->...hi", hh, W).reshape(h.shape)


def _pre(gate: Gate, x_t: Array, h_prev: Array) -> Array:
    """``U x_t + W h_{t-1} + b`` (``W`` block-diagonal)."""
    return mul(gate.U, x_t) + block_diagonal(gate.W, h_prev) + gate.b


def _update(i_pre: Array, f_pre: Array, z_pre: Array, o_pre: Array, c_prev: Array,
            n_prev: Array, m_prev: Array) -> SLSTMState:  # fmt: skip
    """The state update from the pre-activations ``i~, f~, z~, o~`` (elementwise)."""
    log_f = jax.nn.log_sigmoid(f_pre)
    m_t = jnp.maximum(log_f + m_prev, i_pre)
    i_t = jnp.exp(i_pre - m_t)
    f_t = jnp.exp(log_f + m_prev - m_t)
    c_t = f_t * c_prev + i_t * jnp.tanh(z_pre)
    n_t = f_t * n_prev + i_t
    h_t = jax.nn.sigmoid(o_pre) * c_t / n_t
    return SLSTMState(h=h_t, c=c_t, n=n_t, m=m_t)


def _state(params: SLSTMParams, state: SLSTMState, x_t: Array) -> SLSTMState:
    """One sLSTM step, batched over leading axes."""
    h_prev = state.h
    return _update(
        _pre(params.i, x_t, h_prev),
        _pre(params.f, x_t, h_prev),
        _pre(params.z, x_t, h_prev),
        _pre(params.o, x_t, h_prev),
        state.c,
        state.n,
        state.m,
    )


def _jacobian_diagonal(params: SLSTMParams, state: SLSTMState, x_t: Array) -> SLSTMState:
    """The diagonal of the step's Jacobian in ``(h, c, n, m)``.

    The update is elementwise in the pre-activations and ``(c, n, m)``, and the
    pre-activations depend on ``h_{t-1}`` through the block-diagonal ``W_g`` only, so
    forward-mode products of the update give the diagonal: tangents ``diag(W_g)`` for
    ``dh_t/dh_{t-1}``, ones in ``c``, ``n``, ``m`` for the other three.
    """
    pre = tuple(_pre(g, x_t, state.h) for g in params)
    W_diag = tuple(
        jnp.broadcast_to(jnp.diagonal(g.W, axis1=1, axis2=2).reshape(-1), state.h.shape)
        for g in params
    )
    zero = jnp.zeros_like(state.c)
    one = jnp.ones_like(state.c)
    primal = (*pre, state.c, state.n, state.m)
    z4 = (zero,) * 4

    def d(tangent: tuple[Array, ...]) -> SLSTMState:
        return jax.jvp(_update, primal, tangent)[1]

    return SLSTMState(
        h=d((*W_diag, zero, zero, zero)).h,
        c=d((*z4, one, zero, zero)).c,
        n=d((*z4, zero, one, zero)).n,
        m=d((*z4, zero, zero, one)).m,
    )


class SLSTM(Cell):
    """The sLSTM as a :class:`jaxrnn.Cell`: carry :class:`SLSTMState`, output ``h_t``.

    The initial carry is zeros with ``m_0 = -inf``.
    """

    name: ClassVar[str] = "slstm"
    params_type: ClassVar[Any] = SLSTMParams
    init_options: ClassVar[dict[str, Any]] = {"num_heads": 1}
    entry_points: ClassVar[str] = "jaxrnn.slstm_step / slstm_scan"

    def dims(self, params: SLSTMParams) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, "i.U")
        W = params.i.W
        if not hasattr(W, "shape") or len(W.shape) != 3:
            got = getattr(W, "shape", type(W).__name__)
            raise ValueError(
                f"expected params.i.W to have shape (heads, d_h/heads, d_h/heads), got {got}"
            )
        return {"d_in": d_in, "d_h": d_h, "num_heads": int(W.shape[0])}

    def layout(self, d_in: int, d_h: int, **options: Any) -> SLSTMParams:
        H = options.get("num_heads", 1)
        _check_heads(d_h, H)
        d = d_h // H

        def gate() -> Gate:
            return Gate(U=leaf("input", (d_h, d_in)), W=leaf("recurrent", (H, d, d)),
                        b=leaf("bias", (d_h,)))  # fmt: skip

        return SLSTMParams(i=gate(), f=gate(), z=gate(), o=gate())

    def carry_shapes(self, dims: Any) -> SLSTMState:
        shape: Any = (dims["d_h"],)
        return SLSTMState(h=shape, c=shape, n=shape, m=shape)

    def initial_carry(self, dims: Any, batch: tuple[int, ...], dtype: DType) -> SLSTMState:
        zeros = jnp.zeros((*batch, dims["d_h"]), dtype)
        return SLSTMState(h=zeros, c=zeros, n=zeros, m=jnp.full_like(zeros, -jnp.inf))

    def step(self, params: SLSTMParams, state: SLSTMState, x_t: Array) -> tuple[SLSTMState, Array]:
        state_t = _state(params, state, x_t)
        return state_t, state_t.h

    def jacobian_diagonal(self, params: SLSTMParams, state: SLSTMState, x_t: Array) -> SLSTMState:
        return _jacobian_diagonal(params, state, x_t)

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Any = None, **options: Any) -> SLSTMParams:  # fmt: skip
        inits = dict(initializers or {})
        return init_slstm_params(
            key, d_in, d_h, num_heads=options.get("num_heads", 1), dtype=dtype,
            U_init=inits.get("input", default_input_init),
            W_init=inits.get("recurrent", default_recurrent_init),
            b_init=inits.get("bias", default_bias_init),
        )  # fmt: skip

    def sequence(self, params: SLSTMParams, xs: Array, carry0: SLSTMState, mask: Any, resets: Any,
                 *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None) -> tuple[SLSTMState, Array, Any]:  # fmt: skip
        carry_T, out = slstm_sequence(
            _update, tuple(params), xs, tuple(carry0),
            sequence.column(mask), sequence.column(resets),
            reverse=reverse, unroll=unroll, remat=remat, carries=return_carries,
        )  # fmt: skip
        carries = SLSTMState(*out) if return_carries else None
        return SLSTMState(*carry_T), out[0], carries


SLSTM_CELL = register_cell(SLSTM())
"""The registered sLSTM cell (``jaxrnn.get_cell("slstm")``)."""


# --- public, checked -------------------------------------------------------------------------


def slstm_step(
    params: SLSTMParams,
    state: SLSTMState,
    x_t: Float[Array, "... d_in"],
) -> tuple[SLSTMState, Float[Array, "... d_h"]]:
    r"""One step of the sLSTM.

    .. math::

        \tilde\imath_t, \tilde f_t, \tilde z_t, \tilde o_t &= U_g x_t + W_g h_{t-1} + b_g \\
        m_t &= \max(\log\sigma(\tilde f_t) + m_{t-1}, \tilde\imath_t), \quad
        i_t = e^{\tilde\imath_t - m_t}, \quad f_t = e^{\log\sigma(\tilde f_t) + m_{t-1} - m_t} \\
        c_t &= f_t c_{t-1} + i_t \tanh(\tilde z_t), \quad n_t = f_t n_{t-1} + i_t, \quad
        h_t = \sigma(\tilde o_t)\, c_t / n_t

    Args:
        params: ``SLSTMParams(i, f, z, o)``.
        state: ``SLSTMState(h, c, n, m)`` at ``t-1``, each ``(..., d_h)`` (the first step
            from ``m = -inf``, zeros elsewhere).
        x_t: input ``(..., d_in)``, with the same leading axes as the state.

    Returns:
        ``(state_t, h_t)``.

    Raises:
        TypeError: ``params``/``state`` of the wrong type, or an input not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_slstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> z = jnp.zeros((2, 4))
        >>> state = jaxrnn.SLSTMState(h=z, c=z, n=z, m=jnp.full((2, 4), -jnp.inf))
        >>> state_t, h_t = jaxrnn.slstm_step(p, state, jnp.ones((2, 3)))
        >>> h_t.shape, state_t.n.tolist()[0]
        ((2, 4), [1.0, 1.0, 1.0, 1.0])
    """
    return sequence.checked_step(SLSTM_CELL, params, state, x_t, where="slstm_step", name="state")


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "method"))
def slstm_scan(
    params: SLSTMParams,
    xs: Float[Array, "... T d_in"],
    state0: SLSTMState | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    method: str = "sequential",
) -> tuple[SLSTMState, Float[Array, "... T d_h"]]:
    r"""Run the sLSTM over a sequence.

    .. math::

        m_t &= \max(\log\sigma(\tilde f_t) + m_{t-1}, \tilde\imath_t), \quad
        c_t = f_t c_{t-1} + i_t \tanh(\tilde z_t), \quad n_t = f_t n_{t-1} + i_t, \quad
        h_t = \sigma(\tilde o_t)\, c_t / n_t

    (the step: :func:`jaxrnn.slstm_step`). The sequence rules of every cell: batch axes,
    ``lengths``, ``resets``, ``reverse``, ``T = 0``. The loop computes the input products of
    all steps as one matrix product before it and the block-diagonal recurrent products of
    all gates and heads as one batched product per step; its derivatives (both modes, any
    order) carry only ``(dh, dc, dn, dm)``, with the weight gradients as single products
    after the loop.

    Args:
        params: ``SLSTMParams(i, f, z, o)``.
        xs: inputs ``(..., T, d_in)``: time second-to-last, leading axes batch axes.
        state0: initial ``SLSTMState(h, c, n, m)``, each ``(..., d_h)``; default zeros with
            ``m_0 = -inf`` (the first step takes ``m_1 = i~_1``).
        lengths: optional integers ``xs.shape[:-2]``; steps ``t >= lengths`` are padding
            (state held, outputs zero).
        resets: optional bools ``xs.shape[:-1]``: True where a new segment starts; that
            step reads ``state0`` in place of the previous state.
        reverse: read the valid steps last-to-first; outputs stay aligned with inputs.
        unroll: steps unrolled in the loop body (static).
        remat: None, or a segment length ``k``: store every ``k``-th state and recompute
            the rest in the backward pass.
        method: ``"sequential"`` (default), ``"newton"`` or ``"newton-diagonal"`` (Newton's
            method over time, :func:`jaxrnn.newton_scan`; the diagonal Jacobian is exact
            here). Newton's method needs finite carries: it starts from ``m_0 = -1e4`` in
            place of ``-inf``, which gives the same values (``e^{-1e4}`` is 0 in every
            float dtype) while ``|i~_1| < 9000``; a final state that is the initial one
            (``lengths`` 0) then has ``m = -1e4``.

    Returns:
        ``(state_T, hs)``: the final ``SLSTMState`` (after the last valid step) and
        ``hs (..., T, d_h)``.

    Raises:
        TypeError: wrong params/state type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters, a bad option.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_slstm_params(jax.random.key(0), d_in=3, d_h=8, num_heads=2)
        >>> state_T, hs = jaxrnn.slstm_scan(p, jnp.ones((2, 6, 3)))
        >>> hs.shape, state_T.m.shape, bool(jnp.allclose(state_T.h, hs[:, -1]))
        ((2, 6, 8), (2, 8), True)
    """
    state_T, hs, _ = sequence.run_scan(
        SLSTM_CELL, params, xs, state0, lengths=lengths, resets=resets, reverse=reverse,
        method=method, unroll=unroll, remat=remat, where="slstm_scan", carry_name="state0",
    )  # fmt: skip
    return state_T, hs


def make_slstm_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: SLSTMParams,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""An sLSTM decoder step: embedding, one ``slstm_step``, linear readout.

    Args:
        E: embedding matrix ``(n_vocab, d_in)``.
        params: ``SLSTMParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix ``(d_out, d_h)``.
        b_o: readout bias ``(d_out,)``.

    Returns:
        ``step_fn(state: SLSTMState, y_prev: (B,) ints) -> (SLSTMState, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not an ``SLSTMParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_slstm_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_slstm_step_fn(E, p, V, jnp.zeros(6))
        >>> state0 = jaxrnn.get_cell("slstm").initial_carry({"d_h": 8}, (2,), jnp.float32)
        >>> greedy_decode(step, state0, 1, max_len=5, end_token=0).tokens.shape
        (2, 5)
    """
    return make_step_fn(E, params, V, b_o, cell=SLSTM_CELL, where="make_slstm_step_fn")


# --- the sLSTM layer (xlstm's sLSTMLayer) as a cell -----------------------------------------


class SLSTMLayerParams(NamedTuple):
    """Parameters of the sLSTM layer (``xlstm.sLSTMLayer``), size ``d``, ``heads`` heads of
    ``dh = d / heads``.

    Attributes:
        conv_w: causal depthwise convolution kernel ``(K, d)`` on the input (oldest first).
        conv_b: its bias ``(d,)``.
        i, f, z, o: one :class:`~jaxrnn.Gate` per gate, with headwise input maps
            ``U (heads, dh, dh)`` (the input and forget gates read ``x_c = silu(conv(x))``,
            ``z`` and ``o`` read ``x``), block-diagonal ``W (heads, dh, dh)`` and ``b (d,)``.
        norm: the group norm's weight ``(d,)`` (the scale is ``1 + norm``).
    """

    conv_w: Float[Array, "K d"]
    conv_b: Float[Array, " d"]
    i: Gate
    f: Gate
    z: Gate
    o: Gate
    norm: Float[Array, " d"]


class SLSTMLayerState(NamedTuple):
    """The sLSTM layer's carry: the convolution's window and the sLSTM state.

    Attributes:
        conv: the last ``K - 1`` inputs ``(..., K-1, d)``, oldest first.
        h, c, n, m: the sLSTM's state, each ``(..., d)`` (``m = -inf`` at the start).
    """

    conv: Float[Array, "... K1 d"]
    h: Float[Array, "... d"]
    c: Float[Array, "... d"]
    n: Float[Array, "... d"]
    m: Float[Array, "... d"]


def _powerlaw_forget_bias(dh: int):
    """xlstm's ``powerlaw_blockdependent`` forget-gate bias of block 0, repeated per head."""

    def init(key, shape, dtype):
        ramp = jnp.arange(dh, dtype=dtype) / max(dh - 1, 1)
        return jnp.tile(-(-5.0 + 12.0 * ramp**0.3), shape[0] // dh).astype(dtype)

    return init


def cell_params(p: SLSTMLayerParams) -> SLSTMParams:
    """The layer's gates as :class:`SLSTMParams` on the input ``[x_c; x]`` (``2 d``): the
    headwise maps as dense block-diagonal ``U (d, 2 d)`` (zeros where a gate does not read)."""
    d = p.norm.shape[0]
    zeros = jnp.zeros((d, d), p.norm.dtype)

    def gate(g: Gate, reads_conv: bool) -> Gate:
        U = xp.block_matrix(g.U)
        U = jnp.concatenate([U, zeros] if reads_conv else [zeros, U], axis=1)
        return Gate(U=U, W=g.W, b=g.b)

    return SLSTMParams(i=gate(p.i, True), f=gate(p.f, True), z=gate(p.z, False),
                       o=gate(p.o, False))  # fmt: skip


class SLSTMLayer(Cell):
    """The sLSTM layer as a :class:`jaxrnn.Cell` (``d -> d``): carry :class:`SLSTMLayerState`.

    ``sequence`` runs the convolution over the sequence, then the sLSTM loop (with
    ``reverse``, ``resets`` or ``return_carries``, a loop of ``step``).
    """

    name: ClassVar[str] = "slstm_layer"
    params_type: ClassVar[Any] = SLSTMLayerParams
    init_options: ClassVar[dict[str, Any]] = {"num_heads": 4, "conv_kernel": 4}
    entry_points: ClassVar[str] = "jaxrnn.cell_scan (the sLSTM layer)"

    def dims(self, params: SLSTMLayerParams) -> dict[str, int]:
        K, d = checks.matrix_shape(params, "conv_w", "(K, d)")
        W = params.i.W
        if not hasattr(W, "shape") or len(W.shape) != 3:
            raise ValueError(f"expected params.i.W to have shape (heads, dh, dh), got "
                             f"{getattr(W, 'shape', type(W).__name__)}")  # fmt: skip
        return {"d_in": d, "d_h": d, "num_heads": int(W.shape[0]), "conv_kernel": K}

    def layout(self, d_in: int, d_h: int, **options: Any) -> SLSTMLayerParams:
        if d_in != d_h:
            raise ValueError(
                f"the sLSTM layer maps d -> d: expected d_in == d_h, got {d_in}, {d_h}"
            )
        d, H, K = d_h, int(options.get("num_heads", 4)), int(options.get("conv_kernel", 4))
        _check_heads(d, H)
        if K < 1:
            raise ValueError(f"expected conv_kernel >= 1, got {K}")
        dh = d // H
        bound = 1 / math.sqrt(K)
        zeros = xp.constant_init(0.0)

        def gate(b_init: Any = zeros) -> Gate:
            return Gate(U=leaf("input", (H, dh, dh), init=xp.small_init(d)),
                        W=leaf("recurrent", (H, dh, dh), init=zeros),
                        b=leaf("bias", (d,), init=b_init))  # fmt: skip

        return SLSTMLayerParams(
            conv_w=leaf("other", (K, d), init=xp.uniform_init(bound)),
            conv_b=leaf("bias", (d,), init=xp.uniform_init(bound)),
            i=gate(), f=gate(_powerlaw_forget_bias(dh)), z=gate(), o=gate(),
            norm=leaf("other", (d,), init=zeros),
        )  # fmt: skip

    def carry_shapes(self, dims: Any) -> SLSTMLayerState:
        d, K = dims["d_h"], int(dims.get("conv_kernel", 4))
        shape: Any = (d,)
        conv: Any = (K - 1, d)
        return SLSTMLayerState(conv=conv, h=shape, c=shape, n=shape, m=shape)

    def initial_carry(self, dims: Any, batch: tuple[int, ...], dtype: DType) -> SLSTMLayerState:
        z = SLSTMLayerState(*(jnp.zeros((*batch, *s), dtype) for s in self.carry_shapes(dims)))
        return z._replace(m=jnp.full_like(z.m, -jnp.inf))

    def step(self, params: SLSTMLayerParams, carry: SLSTMLayerState,
             x_t: Array) -> tuple[SLSTMLayerState, Array]:  # fmt: skip
        c_t, window = xp.conv_step(params.conv_w, params.conv_b, carry.conv, x_t)
        x_c = jax.nn.silu(c_t)
        state = SLSTMState(carry.h, carry.c, carry.n, carry.m)
        state_t = _state(cell_params(params), state, jnp.concatenate([x_c, x_t], axis=-1))
        y = xp.multihead_norm(state_t.h, params.norm, params.i.W.shape[0])
        return SLSTMLayerState(window, *state_t), y

    def sequence(self, params: SLSTMLayerParams, xs: Array, carry0: SLSTMLayerState, mask: Any,
                 resets: Any, *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None) -> tuple[Any, Array, Any]:  # fmt: skip
        if reverse or resets is not None or return_carries:
            return sequence.scan_steps(self, params, xs, carry0, mask, resets, reverse=reverse,
                                       return_carries=return_carries, unroll=unroll,
                                       remat=remat)  # fmt: skip
        lengths = None if mask is None else jnp.sum(mask, axis=0).astype(jnp.int32)
        c, window = xp.conv_sequence(params.conv_w, params.conv_b, carry0.conv, xs, lengths)
        x_c = jax.nn.silu(c)
        carry_T, out = slstm_sequence(
            _update, tuple(cell_params(params)), jnp.concatenate([x_c, xs], axis=-1),
            (carry0.h, carry0.c, carry0.n, carry0.m), sequence.column(mask), None,
            reverse=False, unroll=unroll, remat=remat,
        )  # fmt: skip
        ys = xp.multihead_norm(out[0], params.norm, params.i.W.shape[0])
        if mask is not None:
            ys = jnp.where(mask[..., None], ys, jnp.zeros_like(ys))
        return SLSTMLayerState(window, *carry_T), ys, None


SLSTM_LAYER_CELL = register_cell(SLSTMLayer())
"""The registered sLSTM layer (``jaxrnn.get_cell("slstm_layer")``)."""


__all__ = [
    "SLSTM",
    "SLSTMLayer",
    "SLSTMLayerParams",
    "SLSTMLayerState",
    "SLSTM_LAYER_CELL",
    "cell_params",
    "SLSTMParams",
    "SLSTMState",
    "SLSTM_CELL",
    "block_diagonal",
    "init_slstm_params",
    "make_slstm_step_fn",
    "slstm_scan",
    "slstm_step",
]
