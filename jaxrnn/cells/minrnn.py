r"""The minGRU and the minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

.. math::

    \text{minGRU:}\quad z_t &= \sigma(U_z x_t + b_z), \quad \tilde h_t = U_h x_t + b_h, \quad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t \\
    \text{minLSTM:}\quad f_t &= \sigma(U_f x_t + b_f), \quad i_t = \sigma(U_i x_t + b_i), \quad
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t

The gates read ``x_t`` only, so ``h_t = a_t \odot h_{t-1} + b_t`` is linear in ``h_{t-1}``
and ``parallel=True`` evaluates every step at once: the coefficients of all steps from one
matrix product (all the gates' ``U`` stacked), then the linear recurrence of
:func:`jaxrnn._src.linear.linear_scan` (an associative scan on accelerators, a sequential
loop on CPU, where the forward pass runs a block of steps at a time). The coefficients are
the step's own expressions: ``1 - z_t`` rounded once from an accurate ``z_t`` is what keeps
a long memory accurate, and the minLSTM's normalised gates come from a difference of
log-sigmoids (never ``0/0``). ``parallel=False`` is a loop of the steps (what decoding
runs); the two agree to rounding.

The family whole: the parameter types, their initialisers, steps and scans, the decoder step
builders and the cells :data:`MINGRU_CELL` and :data:`MINLSTM_CELL`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, ops, sequence
from jaxrnn._src.ops import materialise, mul, product
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, leaf, register_cell
from jaxrnn.decode.steps import StepFn, make_step_fn
from jaxrnn.params import default_bias_init, default_input_init


class MinGRUParams(NamedTuple):
    """Parameters of the minGRU: no recurrent matrix, the gate sees only ``x_t``.

    ``z_t = sigmoid(U_z x_t + b_z)``, ``h~_t = U_h x_t + b_h``,
    ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t``.

    Attributes:
        U_z: update-gate matrix, shape ``(d_h, d_in)``.
        b_z: update-gate bias, shape ``(d_h,)``.
        U_h: candidate matrix, shape ``(d_h, d_in)``.
        b_h: candidate bias, shape ``(d_h,)``.
    """

    U_z: Float[Array, "d_h d_in"]
    b_z: Float[Array, " d_h"]
    U_h: Float[Array, "d_h d_in"]
    b_h: Float[Array, " d_h"]


class MinLSTMParams(NamedTuple):
    """Parameters of the minLSTM: forget and input gates of ``x_t`` only, normalised.

    ``f_t = sigmoid(U_f x_t + b_f)``, ``i_t = sigmoid(U_i x_t + b_i)``,
    ``h~_t = U_h x_t + b_h``, ``h_t = f_t/(f_t + i_t) * h_{t-1} + i_t/(f_t + i_t) * h~_t``.

    Attributes:
        U_f: forget-gate matrix, shape ``(d_h, d_in)``.
        b_f: forget-gate bias, shape ``(d_h,)``.
        U_i: input-gate matrix, shape ``(d_h, d_in)``.
        b_i: input-gate bias, shape ``(d_h,)``.
        U_h: candidate matrix, shape ``(d_h, d_in)``.
        b_h: candidate bias, shape ``(d_h,)``.
    """

    U_f: Float[Array, "d_h d_in"]
    b_f: Float[Array, " d_h"]
    U_i: Float[Array, "d_h d_in"]
    b_i: Float[Array, " d_h"]
    U_h: Float[Array, "d_h d_in"]
    b_h: Float[Array, " d_h"]


def _init(cls: Any, key: PRNGKey, d_in: int, d_h: int, dtype: DType,
          U_init: Any = default_input_init, b_init: Any = default_bias_init) -> Any:  # fmt: skip
    """Every ``U_*`` Glorot uniform on the ``(out, in)`` layout, every ``b_*`` zero."""
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    names = cls._fields
    keys = jax.random.split(key, len(names))
    return cls(**{
        name: U_init(k, (d_h, d_in), dtype) if name.startswith("U") else b_init(k, (d_h,), dtype)
        for name, k in zip(names, keys)
    })  # fmt: skip


def init_mingru_params(
    key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32
) -> MinGRUParams:
    """Initialise :class:`MinGRUParams`: ``U_z``, ``U_h`` Glorot uniform, biases zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.

    Returns:
        ``MinGRUParams(U_z, b_z, U_h, b_h)`` with ``U_* (d_h, d_in)`` and ``b_* (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.U_z.shape, p.b_z.shape, p.U_h.shape, p.b_h.shape
        ((4, 3), (4,), (4, 3), (4,))
    """
    return _init(MinGRUParams, key, d_in, d_h, dtype)


def init_minlstm_params(
    key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32
) -> MinLSTMParams:
    """Initialise :class:`MinLSTMParams`: every ``U_*`` Glorot uniform, biases zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.

    Returns:
        ``MinLSTMParams(U_f, b_f, U_i, b_i, U_h, b_h)`` with ``U_* (d_h, d_in)`` and
        ``b_* (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.U_f.shape, p.U_i.shape, p.U_h.shape, p.b_f.shape
        ((4, 3), (4, 3), (4, 3), (4,))
    """
    return _init(MinLSTMParams, key, d_in, d_h, dtype)


# --- the equations -------------------------------------------------------------------------


def _mingru_ab(z_pre: Array, h_tilde: Array) -> tuple[Array, Array]:
    """``(a_t, b_t) = (1 - z_t, z_t h~_t)`` from ``U_z x_t + b_z`` and ``h~_t = U_h x_t + b_h``."""
    z_t = jax.nn.sigmoid(z_pre)
    return 1 - z_t, z_t * h_tilde


def _minlstm_mix(z_f: Array, z_i: Array) -> tuple[Array, Array]:
    """``(f'_t, i'_t) = (f_t, i_t) / (f_t + i_t)`` from the pre-activations ``z_f, z_i``.

    With ``D = log f_t - log i_t`` (``log f_t = log_sigmoid(z_f)``), ``f'_t = sigmoid(D)``
    and ``i'_t = sigmoid(-D)``: the same numbers as the quotients, with no ``0/0`` when
    both gates underflow. The smaller of the two is ``sigmoid(-|D|)``, accurate relative to
    itself, and the larger is ``1`` minus it, rounded once: a forget gate near 1 (a long
    memory) is as accurate as its distance from 1 allows.
    """
    D = jax.nn.log_sigmoid(z_f) - jax.nn.log_sigmoid(z_i)
    small = jax.nn.sigmoid(jnp.where(D > 0, -D, D))  # sigmoid(-|D|), derivative right at 0
    large = 1 - small
    return jnp.where(D > 0, large, small), jnp.where(D > 0, small, large)


def _minlstm_ab(f_pre: Array, i_pre: Array, h_tilde: Array) -> tuple[Array, Array]:
    """``(a_t, b_t) = (f'_t, i'_t h~_t)``."""
    f_prime, i_prime = _minlstm_mix(f_pre, i_pre)
    return f_prime, i_prime * h_tilde


class _Min(Cell):
    """What the minGRU and minLSTM share: gates of ``x_t`` only, whose pre-activations
    ``U_g x_t + b_g`` give the coefficients of ``h_t = a_t h_{t-1} + b_t`` (:meth:`ab`)."""

    U: ClassVar[tuple[str, ...]]  # the gates' input matrices, in the order ab reads them
    b: ClassVar[tuple[str, ...]]  # their biases, in the same order
    ab: ClassVar[Callable[..., tuple[Array, Array]]]  # (a_t, b_t) from the pre-activations

    def dims(self, params: Any) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, self.U[0])
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in: int, d_h: int, **options: Any) -> Any:
        return self.params_type(**{
            f: leaf("input", (d_h, d_in)) if f in self.U else leaf("bias", (d_h,))
            for f in self.params_type._fields
        })  # fmt: skip

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Any = None, **options: Any) -> Any:  # fmt: skip
        inits = dict(initializers or {})
        return _init(
            self.params_type,
            key,
            d_in,
            d_h,
            dtype,
            inits.get("input", default_input_init),
            inits.get("bias", default_bias_init),
        )

    def step(self, params: Any, h_prev: Array, x_t: Array) -> tuple[Array, Array]:
        pre = (mul(getattr(params, u), x_t) + getattr(params, b) for u, b in zip(self.U, self.b))
        a_t, b_t = self.ab(*pre)
        h_t = a_t * h_prev + b_t
        return h_t, h_t

    def coefficients(self, params: Any, xs: Array, resets: Any = None) -> tuple[Array, Array]:
        """``(a, b)`` of every step from one product: all the gates' ``U_g`` stacked."""
        U = jnp.concatenate([getattr(params, f) for f in self.U])
        b = jnp.concatenate([getattr(params, f) for f in self.b])
        pre = product(xs, U, b)
        return self.ab(*jnp.split(pre, len(self.U), axis=-1))

    def sequence(self, params: Any, xs: Array, carry0: Array, mask: Any, resets: Any, *,
                 reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None,
                 reset_carry: Array | None = None) -> tuple[Array, Array, Any]:  # fmt: skip
        """``parallel=False``: a loop of the step, the gates' ``U_g^T`` materialised once
        outside it (a product against a transposed operand fused into the gate was several
        times slower on XLA's CPU backend; ``docs/design_loops.md``)."""
        U_T = materialise(*(getattr(params, u).T for u in self.U))
        b = tuple(getattr(params, f) for f in self.b)
        target = carry0 if reset_carry is None else reset_carry

        def body(h, inp):
            x_t, m_t, r_t = inp
            h_prev = h if r_t is None else jnp.where(r_t[:, None], target, h)
            a_t, b_t = self.ab(*(x_t @ U_g_T + b_g for U_g_T, b_g in zip(U_T, b)))
            h_t = a_t * h_prev + b_t
            h_t = h_t if m_t is None else jnp.where(m_t[:, None], h_t, h)
            return h_t, h_t

        body = jax.checkpoint(body) if remat is not None else body
        h_T, hs = ops.scan(body, carry0, (xs, mask, resets), reverse=reverse, unroll=unroll)
        if mask is not None:
            hs = jnp.where(mask[..., None], hs, jnp.zeros_like(hs))
        return h_T, hs, hs if return_carries else None


class MinGRU(_Min):
    """The minGRU as a :class:`jaxrnn.Cell`: carry and output ``h_t``, linear in ``h_{t-1}``."""

    name: ClassVar[str] = "mingru"
    params_type: ClassVar[Any] = MinGRUParams
    entry_points: ClassVar[str] = "jaxrnn.mingru_step / mingru_scan"
    U: ClassVar[tuple[str, ...]] = ("U_z", "U_h")
    b: ClassVar[tuple[str, ...]] = ("b_z", "b_h")
    ab = staticmethod(_mingru_ab)


class MinLSTM(_Min):
    """The minLSTM as a :class:`jaxrnn.Cell`: carry and output ``h_t``, linear in ``h_{t-1}``."""

    name: ClassVar[str] = "minlstm"
    params_type: ClassVar[Any] = MinLSTMParams
    entry_points: ClassVar[str] = "jaxrnn.minlstm_step / minlstm_scan"
    U: ClassVar[tuple[str, ...]] = ("U_f", "U_i", "U_h")
    b: ClassVar[tuple[str, ...]] = ("b_f", "b_i", "b_h")
    ab = staticmethod(_minlstm_ab)


MINGRU_CELL = register_cell(MinGRU())
"""The registered minGRU cell (``jaxrnn.get_cell("mingru")``)."""
MINLSTM_CELL = register_cell(MinLSTM())
"""The registered minLSTM cell (``jaxrnn.get_cell("minlstm")``)."""


# --- public, checked -------------------------------------------------------------------------


def mingru_step(
    params: MinGRUParams,
    h_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_h"]]:
    r"""One step of the minGRU (Feng et al. 2024, "Were RNNs All We Needed?").

    .. math::

        z_t &= \sigma(U_z x_t + b_z) \\
        \tilde h_t &= U_h x_t + b_h \\
        h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    The gate and the candidate read ``x_t`` only, so ``h_t`` is linear in ``h_{t-1}``
    and a whole sequence can be evaluated in parallel (:func:`jaxrnn.mingru_scan`).

    Args:
        params: ``MinGRUParams`` with ``U_z, U_h (d_h, d_in)`` and ``b_z, b_h (d_h,)``.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d_h)``.
        x_t: input ``x_t``, shape ``(..., d_in)`` with the same leading axes as ``h_prev``.

    Returns:
        ``(h_t, h_t)``: the new state (the carry) and the output, each ``(..., d_h)``.

    Raises:
        TypeError: ``params`` is not a ``MinGRUParams``, or an input is not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_t, out = jaxrnn.mingru_step(p, jnp.zeros((2, 4)), jnp.ones((2, 3)))
        >>> h_t.shape, bool((h_t == out).all())
        ((2, 4), True)
    """
    return sequence.checked_step(MINGRU_CELL, params, h_prev, x_t, where="mingru_step",
                                 name="h_prev")  # fmt: skip


def minlstm_step(
    params: MinLSTMParams,
    h_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_h"]]:
    r"""One step of the minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

    .. math::

        f_t &= \sigma(U_f x_t + b_f), \qquad i_t = \sigma(U_i x_t + b_i), \qquad
        \tilde h_t = U_h x_t + b_h \\
        f'_t &= \frac{f_t}{f_t + i_t}, \qquad i'_t = \frac{i_t}{f_t + i_t} \\
        h_t &= f'_t \odot h_{t-1} + i'_t \odot \tilde h_t

    ``f'_t`` and ``i'_t`` are computed as ``sigmoid(\pm(\log f_t - \log i_t))`` with
    ``\log f_t = \log\sigma(U_f x_t + b_f)``: the same numbers, but never ``0/0``.

    Args:
        params: ``MinLSTMParams`` with ``U_f, U_i, U_h (d_h, d_in)`` and
            ``b_f, b_i, b_h (d_h,)``.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d_h)``.
        x_t: input ``x_t``, shape ``(..., d_in)`` with the same leading axes as ``h_prev``.

    Returns:
        ``(h_t, h_t)``: the new state (the carry) and the output, each ``(..., d_h)``.

    Raises:
        TypeError: ``params`` is not a ``MinLSTMParams``, or an input is not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_t, out = jaxrnn.minlstm_step(p, jnp.zeros(4), jnp.ones(3))
        >>> h_t.shape
        (4,)
    """
    return sequence.checked_step(MINLSTM_CELL, params, h_prev, x_t, where="minlstm_step",
                                 name="h_prev")  # fmt: skip


_SCAN_DOC = r"""

    The sequence rules of every cell (``docs/sequences.md``): batch axes, ``lengths``,
    ``resets``, ``reverse``, ``T = 0``. Padding sets ``a_t = 1, b_t = 0`` (the state is held
    exactly); a reset sets ``a_t = 0`` and adds ``a_t h_0`` to ``b_t`` (the step reads
    ``h_0``).

    Args:
        params: {params}.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        h0: initial state ``h_0``, shape ``(..., d_h)``; zeros of the parameters' dtype by
            default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        resets: optional bool array of shape ``xs.shape[:-1]``: True where a new segment
            starts; that step reads ``h0`` in place of the previous state.
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        parallel: ``True``: the gates of all steps at once, then the linear recurrence in
            parallel (an associative scan; a sequential loop on CPU, which is faster
            there). ``False``: a loop of the step. The two agree to rounding; both are
            differentiable in forward and reverse mode, to any order.

    Returns:
        ``(h_T, hs)``: the final state ``(..., d_h)`` (after the last valid step) and all
        states ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.
"""


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def mingru_scan(
    params: MinGRUParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    h_T, hs, _ = sequence.run(
        MINGRU_CELL, params, xs, h0, lengths=lengths, resets=resets, reverse=reverse,
        method="parallel" if parallel else "sequential", where="mingru_scan", carry_name="h0",
    )  # fmt: skip
    return h_T, hs


mingru_scan.__doc__ = (
    r"""Run the minGRU over a sequence, all steps at once.

    .. math::

        z_t = \sigma(U_z x_t + b_z), \qquad \tilde h_t = U_h x_t + b_h, \qquad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t
"""
    + _SCAN_DOC.replace("{params}", "``MinGRUParams(U_z, b_z, U_h, b_h)``")
    + r"""
    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> xs = jnp.ones((2, 5, 3))                    # (B, T, d_in)
        >>> h_T, hs = jaxrnn.mingru_scan(p, xs, lengths=jnp.array([5, 2]))
        >>> h_T.shape, hs.shape
        ((2, 4), (2, 5, 4))
        >>> bool(jnp.allclose(h_T[1], hs[1, 1])), bool((hs[1, 2:] == 0).all())
        (True, True)
    """
)


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def minlstm_scan(
    params: MinLSTMParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    h_T, hs, _ = sequence.run(
        MINLSTM_CELL, params, xs, h0, lengths=lengths, resets=resets, reverse=reverse,
        method="parallel" if parallel else "sequential", where="minlstm_scan", carry_name="h0",
    )  # fmt: skip
    return h_T, hs


minlstm_scan.__doc__ = (
    r"""Run the minLSTM over a sequence, all steps at once.

    .. math::

        f_t = \sigma(U_f x_t + b_f), \quad i_t = \sigma(U_i x_t + b_i), \quad
        \tilde h_t = U_h x_t + b_h \\
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t
"""
    + _SCAN_DOC.replace("{params}", "``MinLSTMParams(U_f, b_f, U_i, b_i, U_h, b_h)``")
    + r"""
    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> xs = jax.random.normal(jax.random.key(1), (6, 3))   # one sequence (T, d_in)
        >>> h_T, hs = jaxrnn.minlstm_scan(p, xs)
        >>> h_T_seq, hs_seq = jaxrnn.minlstm_scan(p, xs, parallel=False)
        >>> bool(jnp.allclose(hs, hs_seq, atol=1e-6)), bool(jnp.allclose(h_T, hs[-1]))
        (True, True)
    """
)


def make_mingru_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: MinGRUParams,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""A minGRU decoder step: embedding, one ``mingru_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t,
        \quad \mathrm{logits}_t = V h_t + b_o

    Generation runs the step, one token at a time; a model trained with the parallel scan
    decodes with the same parameters, since both forms compute the same ``h_t``.

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``MinGRUParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)``.
        b_o: readout bias, shape ``(d_out,)``.

    Returns:
        ``step_fn(h: (B, d_h), y_prev: (B,) ints) -> (h, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not a ``MinGRUParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_mingru_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_mingru_step_fn(E, p, V, jnp.zeros(6))
        >>> out = greedy_decode(step, jnp.zeros((2, 8)), 1, max_len=5, end_token=0)
        >>> out.tokens.shape
        (2, 5)
    """
    return make_step_fn(E, params, V, b_o, cell=MINGRU_CELL, where="make_mingru_step_fn")


def make_minlstm_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: MinLSTMParams,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""A minLSTM decoder step: embedding, one ``minlstm_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t,
        \quad \mathrm{logits}_t = V h_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``MinLSTMParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)``.
        b_o: readout bias, shape ``(d_out,)``.

    Returns:
        ``step_fn(h: (B, d_h), y_prev: (B,) ints) -> (h, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not a ``MinLSTMParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import beam_search
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_minlstm_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_minlstm_step_fn(E, p, V, jnp.zeros(6))
        >>> out = beam_search(step, jnp.zeros((2, 8)), 1, beam_size=3, max_len=4, end_token=0)
        >>> out.tokens.shape
        (2, 4)
    """
    return make_step_fn(E, params, V, b_o, cell=MINLSTM_CELL, where="make_minlstm_step_fn")


__all__ = [
    "MINGRU_CELL",
    "MINLSTM_CELL",
    "MinGRU",
    "MinGRUParams",
    "MinLSTM",
    "MinLSTMParams",
    "init_mingru_params",
    "init_minlstm_params",
    "make_mingru_step_fn",
    "make_minlstm_step_fn",
    "mingru_scan",
    "mingru_step",
    "minlstm_scan",
    "minlstm_step",
]
