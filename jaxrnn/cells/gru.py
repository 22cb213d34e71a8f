r"""The GRU (Cho et al. 2014), in PyTorch's and cuDNN's convention by default.

.. math::

    z_t &= \sigma(U_z x_t + W_z h_{t-1} + b_z), \qquad r_t = \sigma(U_r x_t + W_r h_{t-1} + b_r) \\
    n_t &= \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
    h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

With ``reset_after=False`` (Cho et al., Haiku, Keras ``reset_after=False``) the reset gate
multiplies the state before ``W_n``:
:math:`n_t = \tanh(U_n x_t + W_n (r_t \odot h_{t-1}) + b_n + b_{hn})`.

The family whole: :class:`GRUParams`, :func:`init_gru_params`, :func:`gru_step`,
:func:`gru_scan` (on the fast loop of :mod:`jaxrnn._src.loops.gru`), :func:`make_gru_step_fn`
and the cell :class:`GRU` (:data:`GRU_CELL` is ``reset_after=True``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.loops.gru import gru_sequence
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
    gate_pre,
    init_gate,
)


class GRUParams(NamedTuple):
    """Parameters of the GRU: one :class:`~jaxrnn.Gate` per gate, and the candidate's second bias.

    Attributes:
        z: update gate, ``z_t = sigmoid(U_z x_t + W_z h_{t-1} + b_z)``.
        r: reset gate, ``r_t = sigmoid(U_r x_t + W_r h_{t-1} + b_r)``.
        n: candidate, ``n_t = tanh(U_n x_t + b_n + r_t * (W_n h_{t-1} + b_hn))``.
        b_hn: the bias inside the reset product, shape ``(d_h,)`` (PyTorch's
            ``b_hn``); with ``reset_after=False`` it simply adds to ``b_n``.
    """

    z: Gate
    r: Gate
    n: Gate
    b_hn: Float[Array, " d_h"]


def init_gru_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    b_init: Initializer = default_bias_init,
) -> GRUParams:
    """Initialise :class:`GRUParams`.

    Defaults: every ``U_g`` Glorot uniform, every ``W_g`` orthogonal, every bias (``b_z``,
    ``b_r``, ``b_n``, ``b_hn``) zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.
        U_init, W_init, b_init: initialisers, called once per gate (``b_init`` also for
            ``b_hn``).

    Returns:
        ``GRUParams(z, r, n, b_hn)``; each ``Gate`` has ``U (d_h, d_in)``,
        ``W (d_h, d_h)`` and ``b (d_h,)``; ``b_hn`` is ``(d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.z.U.shape, p.n.W.shape, p.b_hn.shape
        ((4, 3), (4, 4), (4,))
    """
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    k_z, k_r, k_n, k_hn = jax.random.split(key, 4)

    def gate(k: PRNGKey) -> Gate:
        return init_gate(k, d_in, d_h, dtype, U_init, W_init, b_init)

    return GRUParams(z=gate(k_z), r=gate(k_r), n=gate(k_n), b_hn=b_init(k_hn, (d_h,), dtype))


# --- the equations -------------------------------------------------------------------------


def _state(params: GRUParams, h_prev: Array, x_t: Array, reset_after: bool = True) -> Array:
    """One GRU step, unchecked, batched over leading axes: ``h_t``."""
    z, r, n = params.z, params.r, params.n
    z_t = jax.nn.sigmoid(gate_pre(z, x_t, h_prev))
    r_t = jax.nn.sigmoid(gate_pre(r, x_t, h_prev))
    if reset_after:
        n_t = jnp.tanh(mul(n.U, x_t) + n.b + r_t * (mul(n.W, h_prev) + params.b_hn))
    else:
        n_t = jnp.tanh(mul(n.U, x_t) + mul(n.W, r_t * h_prev) + n.b + params.b_hn)
    return (1 - z_t) * n_t + z_t * h_prev


def _jacobian_diagonal(params: GRUParams, h_prev: Array, x_t: Array) -> Array:
    """The diagonal of ``dh_t / dh_{t-1}`` of the GRU (``reset_after=True``), in O(d_h).

    ``h_t`` is elementwise in ``z``'s and ``r``'s pre-activations, ``W_n h_{t-1}`` and
    ``h_{t-1}``, each of which depends on ``h_{t-1}`` through one matrix: one forward-mode
    product with tangents ``diag(W_z), diag(W_r), diag(W_n)`` and ones gives the diagonal.
    """
    a_n = mul(params.n.U, x_t) + params.n.b

    def update(z_pre, r_pre, q, h):
        z_t, r_t = jax.nn.sigmoid(z_pre), jax.nn.sigmoid(r_pre)
        return (1 - z_t) * jnp.tanh(a_n + r_t * q) + z_t * h

    pre = (gate_pre(params.z, x_t, h_prev), gate_pre(params.r, x_t, h_prev),
           mul(params.n.W, h_prev) + params.b_hn, h_prev)  # fmt: skip
    W_diag = tuple(jnp.diagonal(g.W) for g in (params.z, params.r, params.n))
    return jax.jvp(update, pre, (*W_diag, jnp.ones_like(h_prev)))[1]


@dataclasses.dataclass(frozen=True, eq=True)
class GRU(Cell):
    """The GRU as a :class:`jaxrnn.Cell`: carry and output ``h_t``.

    Attributes:
        reset_after: where the reset gate applies (see the module docstring).
    """

    reset_after: bool = True

    name: ClassVar[str] = "gru"
    params_type: ClassVar[Any] = GRUParams
    entry_points: ClassVar[str] = "jaxrnn.gru_step / gru_scan"

    def dims(self, params: GRUParams) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, "z.U")
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in: int, d_h: int, **options: Any) -> GRUParams:
        gate = Gate(U=leaf("input", (d_h, d_in)), W=leaf("recurrent", (d_h, d_h)),
                    b=leaf("bias", (d_h,)))  # fmt: skip
        return GRUParams(z=gate, r=gate, n=gate, b_hn=leaf("bias", (d_h,)))

    def step(self, params: GRUParams, h_prev: Array, x_t: Array) -> tuple[Array, Array]:
        h_t = _state(params, h_prev, x_t, self.reset_after)
        return h_t, h_t

    def __post_init__(self) -> None:
        # The O(d_h) diagonal is reset_after=True's; without it "newton-diagonal" takes the
        # diagonal of the dense Jacobian.
        object.__setattr__(
            self, "jacobian_diagonal", _jacobian_diagonal if self.reset_after else None
        )

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Any = None, **options: Any) -> GRUParams:  # fmt: skip
        inits = dict(initializers or {})
        return init_gru_params(
            key, d_in, d_h, dtype=dtype, U_init=inits.get("input", default_input_init),
            W_init=inits.get("recurrent", default_recurrent_init),
            b_init=inits.get("bias", default_bias_init),
        )  # fmt: skip

    def sequence(self, params: GRUParams, xs: Array, carry0: Array, mask: Any, resets: Any,
                 *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None,
                 reset_carry: Array | None = None) -> tuple[Array, Array, Any]:  # fmt: skip
        h_T, hs = gru_sequence(
            (params.z, params.r, params.n), params.b_hn, xs, carry0,
            sequence.column(mask), sequence.column(resets),
            reverse=reverse, unroll=unroll, remat=remat, reset_after=self.reset_after,
            reset_to=reset_carry,
        )  # fmt: skip
        return h_T, hs, hs if return_carries else None


GRU_CELL = register_cell(GRU())
"""The registered GRU cell, ``reset_after=True`` (``jaxrnn.get_cell("gru")``)."""


# --- public, checked -------------------------------------------------------------------------


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
    cell = GRU(reset_after=bool(reset_after))
    return sequence.checked_step(cell, params, h_prev, x_t, where="gru_step", name="h_prev")


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "reset_after", "method"))
def gru_scan(
    params: GRUParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    reset_after: bool = True,
    method: str = "sequential",
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    r"""Run the GRU over a sequence.

    .. math::

        z_t, r_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \quad g \in \{z, r\} \\
        n_t &= \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    With ``reset_after=False``:
    :math:`n_t = \tanh(U_n x_t + W_n (r_t \odot h_{t-1}) + b_n + b_{hn})`
    (see :func:`jaxrnn.gru_step`). The sequence rules of every cell
    (``docs/sequences.md``): batch axes, ``lengths``, ``resets``, ``reverse``, ``T = 0``.
    As for :func:`jaxrnn.lstm_scan`, the input product of all steps is one matrix product
    before the loop, and the derivatives carry only ``dh`` (:mod:`jaxrnn._src.loops.gru` has
    the derivation).

    Args:
        params: ``GRUParams(z, r, n, b_hn)``.
        xs: inputs, shape ``(..., T, d_in)``.
        h0: initial state, shape ``(..., d_h)``; zeros of the parameters' dtype by
            default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        resets: optional bool array of shape ``xs.shape[:-1]``: True where a new segment
            starts; that step reads ``h0`` in place of the previous state.
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        unroll: how many steps to unroll in the scanned loop body (static); results
            agree to rounding.
        remat: None (default), or a segment length ``k`` (static): store only every
            ``k``-th state and recompute the rest during the backward pass.
        reset_after: where the reset gate applies (static; see above).
        method: ``"sequential"`` (default), ``"newton"`` or ``"newton-diagonal"``: all
            steps at once by Newton iterations over time, as in :func:`jaxrnn.rnn_scan`
            (``docs/newton.md``); no ``remat``.

    Returns:
        ``(h_T, hs)``: the final state ``(..., d_h)`` (after the last valid step) and
        all states ``hs`` of shape ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters, bad ``unroll``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_T, hs = jaxrnn.gru_scan(p, jnp.ones((2, 6, 3)), lengths=jnp.array([6, 2]))
        >>> hs.shape, h_T.shape
        ((2, 6, 4), (2, 4))
        >>> bool(jnp.allclose(h_T[1], hs[1, 1])), bool((hs[1, 2:] == 0).all())
        (True, True)
    """
    h_T, hs, _ = sequence.run_scan(
        GRU(reset_after=bool(reset_after)), params, xs, h0, lengths=lengths, resets=resets,
        reverse=reverse, method=method, unroll=unroll, remat=remat, where="gru_scan",
        carry_name="h0",
    )  # fmt: skip
    return h_T, hs


def make_gru_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: GRUParams,
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
    cell = GRU(reset_after=bool(reset_after))
    return make_step_fn(E, params, V, b_o, cell=cell, where="make_gru_step_fn")


__all__ = [
    "GRU",
    "GRUParams",
    "GRU_CELL",
    "gru_scan",
    "gru_step",
    "init_gru_params",
    "make_gru_step_fn",
]
