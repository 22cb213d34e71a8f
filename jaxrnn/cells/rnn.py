r"""The vanilla (Elman) RNN with a softmax readout.

.. math::

    s_t = \tanh(U x_t + W s_{t-1} + b_s), \qquad o_t = \mathrm{softmax}(V s_t + b_o)

The family whole: :class:`RNNParams`, :func:`init_rnn_params`, :func:`rnn_step`,
:func:`rnn_scan` (on the fast loop of :mod:`jaxrnn._src.loops.rnn`), :func:`without_readout`,
:func:`make_rnn_step_fn` and the cell :data:`RNN_CELL`. The functions return
``logits_t = V s_t + b_o`` rather than ``o_t``, so that losses can use a stable
log-softmax: ``o_t = jax.nn.softmax(logits_t)``.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.loops.rnn import rnn_sequence
from jaxrnn._src.ops import mul
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, leaf, register_cell
from jaxrnn.decode._checks import check_matrix
from jaxrnn.decode.steps import StepFn, make_step_fn
from jaxrnn.params import (
    Gate,
    Initializer,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)


class RNNParams(NamedTuple):
    """Parameters of the vanilla (Elman) RNN with a softmax readout.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` and ``o_t = softmax(V s_t + b_o)``.

    Attributes:
        U: input-to-hidden matrix, shape ``(d_h, d_in)``.
        W: hidden-to-hidden (recurrent) matrix, shape ``(d_h, d_h)``.
        V: hidden-to-output matrix, shape ``(d_out, d_h)``.
        b_s: hidden bias, shape ``(d_h,)``.
        b_o: output bias, shape ``(d_out,)``.
    """

    U: Float[Array, "d_h d_in"]
    W: Float[Array, "d_h d_h"]
    V: Float[Array, "d_out d_h"]
    b_s: Float[Array, " d_h"]
    b_o: Float[Array, " d_out"]


def init_rnn_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    d_out: int,
    *,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    V_init: Initializer = default_input_init,
    b_init: Initializer = default_bias_init,
) -> RNNParams:
    """Initialise :class:`RNNParams`.

    Defaults: ``U`` and ``V`` Glorot uniform, ``W`` orthogonal, ``b_s`` and ``b_o`` zero.
    Any initialiser can be replaced by a ``jax.nn.initializers``-style function
    ``init(key, shape, dtype) -> array``; shapes are passed in the stored ``(out, in)``
    layout.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        d_out: readout size (number of classes of ``o_t``).
        dtype: floating dtype of every parameter.
        U_init, W_init, V_init: initialisers for the three matrices.
        b_init: initialiser for both biases.

    Returns:
        ``RNNParams`` with ``U (d_h, d_in)``, ``W (d_h, d_h)``, ``V (d_out, d_h)``,
        ``b_s (d_h,)``, ``b_o (d_out,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=2)
        >>> p.U.shape, p.W.shape, p.V.shape, p.b_s.shape, p.b_o.shape
        ((5, 3), (5, 5), (2, 5), (5,), (2,))
    """
    for name, value in (("d_in", d_in), ("d_h", d_h), ("d_out", d_out)):
        checks.check_size(name, value)
    k_U, k_W, k_V, k_bs, k_bo = jax.random.split(key, 5)
    return RNNParams(
        U=U_init(k_U, (d_h, d_in), dtype),
        W=W_init(k_W, (d_h, d_h), dtype),
        V=V_init(k_V, (d_out, d_h), dtype),
        b_s=b_init(k_bs, (d_h,), dtype),
        b_o=b_init(k_bo, (d_out,), dtype),
    )


def without_readout(params: RNNParams) -> RNNParams:
    """Drop the readout of a lower RNN layer: ``V`` becomes ``(0, d_h)``, ``b_o`` ``(0,)``.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.without_readout(jaxrnn.init_rnn_params(jax.random.key(0), 3, 5, 2))
        >>> p.V.shape, p.b_o.shape
        ((0, 5), (0,))
    """
    if not isinstance(params, RNNParams):
        raise TypeError(f"without_readout: expected RNNParams, got {type(params).__name__}")
    return params._replace(V=params.V[:0], b_o=params.b_o[:0])


# --- the equations -------------------------------------------------------------------------


def _state(params: RNNParams, s_prev: Array, x_t: Array) -> Array:
    """``s_t = tanh(U x_t + W s_{t-1} + b_s)``, batched over leading axes."""
    return jnp.tanh(mul(params.U, x_t) + mul(params.W, s_prev) + params.b_s)


def _readout(params: RNNParams, s_t: Array) -> Array:
    """``logits_t = V s_t + b_o``, so that ``o_t = softmax(logits_t)``."""
    return s_t @ params.V.T + params.b_o


class RNN(Cell):
    """The vanilla RNN as a :class:`jaxrnn.Cell`: carry and output ``s_t``; the readout
    ``V s_t + b_o`` is :attr:`readout` (applied by the top layer of a stack)."""

    name: ClassVar[str] = "rnn"
    params_type: ClassVar[Any] = RNNParams
    init_options: ClassVar[dict[str, Any]] = {"d_out": 0}
    entry_points: ClassVar[str] = "jaxrnn.rnn_step / rnn_scan"

    def dims(self, params: RNNParams) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, "U")
        d_out, _ = checks.matrix_shape(params, "V", "(d_out, d_h)")
        return {"d_in": d_in, "d_h": d_h, "d_out": d_out}

    def layout(self, d_in: int, d_h: int, d_out: int = 0, **options: Any) -> RNNParams:
        return RNNParams(
            U=leaf("input", (d_h, d_in)),
            W=leaf("recurrent", (d_h, d_h)),
            V=leaf("input", (d_out, d_h)),
            b_s=leaf("bias", (d_h,)),
            b_o=leaf("bias", (d_out,)),
        )

    def step(self, params: RNNParams, s_prev: Array, x_t: Array) -> tuple[Array, Array]:
        s_t = _state(params, s_prev, x_t)
        return s_t, s_t

    def readout(self, params: RNNParams, ys: Array) -> Array:
        return _readout(params, ys)

    def jacobian_diagonal(self, params: RNNParams, s_prev: Array, x_t: Array) -> Array:
        """The diagonal of ``ds_t / ds_{t-1} = diag(1 - s_t^2) W``."""
        s_t = _state(params, s_prev, x_t)
        return (1 - s_t**2) * jnp.diagonal(params.W)

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Any = None, **options: Any) -> RNNParams:  # fmt: skip
        inits = dict(initializers or {})
        d_out = int(options.get("d_out", 0))
        U_init = inits.get("input", default_input_init)
        p = init_rnn_params(
            key, d_in, d_h, max(d_out, 1), dtype=dtype, U_init=U_init, V_init=U_init,
            W_init=inits.get("recurrent", default_recurrent_init),
            b_init=inits.get("bias", default_bias_init),
        )  # fmt: skip
        return p if d_out else without_readout(p)

    def sequence(self, params: RNNParams, xs: Array, carry0: Array, mask: Any, resets: Any,
                 *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None,
                 reset_carry: Array | None = None) -> tuple[Array, Array, Any]:  # fmt: skip
        s_T, ss = rnn_sequence(
            Gate(U=params.U, W=params.W, b=params.b_s), xs, carry0,
            sequence.column(mask), sequence.column(resets),
            reverse=reverse, unroll=unroll, remat=remat, reset_to=reset_carry,
        )  # fmt: skip
        return s_T, ss, ss if return_carries else None


RNN_CELL = register_cell(RNN())
"""The registered vanilla RNN cell (``jaxrnn.get_cell("rnn")``)."""


# --- public, checked -------------------------------------------------------------------------


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
    s_t, _ = sequence.checked_step(RNN_CELL, params, s_prev, x_t, where="rnn_step", name="s_prev")
    return s_t, _readout(params, s_t)


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "method"))
def rnn_scan(
    params: RNNParams,
    xs: Float[Array, "... T d_in"],
    s0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    method: str = "sequential",
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"], Float[Array, "... T d_out"]]:
    r"""Run the vanilla RNN over a sequence.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s), \qquad
        o_t = \mathrm{softmax}(\mathrm{logits}_t), \quad \mathrm{logits}_t = V s_t + b_o

    The sequence rules of every cell (``docs/sequences.md``): batch axes, ``lengths``,
    ``resets``, ``reverse``, ``T = 0``. The loop computes the input products of all steps as
    one matrix product before it; its derivatives (both modes, any order) carry only
    ``ds``, with the weight gradients as single products after the loop.

    Args:
        params: ``RNNParams``.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        s0: initial state ``s_0``, shape ``(..., d_h)``; zeros of the parameters' dtype
            by default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        resets: optional bool array of shape ``xs.shape[:-1]``: True where a new segment
            starts; that step reads ``s0`` in place of the previous state.
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
        ``(s_T, ss, logits)``: the final state ``(..., d_h)`` (after the last valid
        step), all states ``(..., T, d_h)`` and the logits ``(..., T, d_out)``, with
        ``o_t = jax.nn.softmax(logits[..., t, :])``, zero at padding steps.

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
    s_T, ss, _ = sequence.run_scan(
        RNN_CELL, params, xs, s0, lengths=lengths, resets=resets, reverse=reverse,
        method=method, unroll=unroll, remat=remat, where="rnn_scan", carry_name="s0",
    )  # fmt: skip
    # The readout does not feed back, so it is one matrix product over all steps.
    logits = _readout(params, ss)
    if lengths is not None:
        valid = jnp.arange(ss.shape[-2]) < jnp.asarray(lengths)[..., None]
        logits = jnp.where(valid[..., None], logits, jnp.zeros_like(logits))
    return s_T, ss, logits


def make_rnn_step_fn(E: Float[Array, "n_vocab d_in"], params: RNNParams) -> StepFn:
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
        >>> from jaxrnn.decode import beam_search
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=7)
        >>> step = jaxrnn.make_rnn_step_fn(jnp.eye(7, 3), p)
        >>> out = beam_search(step, jnp.zeros((2, 5)), 0, beam_size=3,
        ...                          max_len=4, end_token=6)
        >>> out.tokens.shape, out.score.shape
        ((2, 4), (2,))
    """
    where = "make_rnn_step_fn"
    d_in = RNN_CELL.check(params, where)["d_in"]
    check_matrix(E, (None, d_in), "E", f"(n_vocab, d_in={d_in})", where)
    return make_step_fn(E, params, cell=RNN_CELL, where=where)


__all__ = [
    "RNN",
    "RNNParams",
    "RNN_CELL",
    "init_rnn_params",
    "make_rnn_step_fn",
    "rnn_scan",
    "rnn_step",
    "without_readout",
]
