r"""The RG-LRU and the Hawk recurrent block (De et al. 2024, "Griffin"; RecurrentGemma).

The Real-Gated Linear Recurrent Unit, on ``d`` channels in ``H`` heads (``W_a``, ``W_x``
are block-diagonal: one ``(d/H, d/H)`` block per head), with ``c = 8``:

.. math::

    r_t &= \sigma(W_a x_t + b_a), \qquad i_t = \sigma(W_x x_t + b_x), \qquad
        \log a_t = -c\, r_t \odot \mathrm{softplus}(\Lambda) \\
    h_t &= a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot x_t)

and at a segment start (``resets[t]``) ``h_t = i_t \odot x_t``: no carry and no
normalisation, as RecurrentGemma does at ``segment_pos == 0``. The gates read ``x_t`` only,
so ``h_t`` is linear in ``h_{t-1}`` and ``parallel=True`` evaluates every step at once (the
coefficients of all steps, then :func:`jaxrnn._src.linear.linear_scan`; on CPU a block of
steps at a time).

Numerics: ``a_t - 1 = expm1(log a_t)`` is computed once, and ``1 - a_t^2`` from it as
``-(a_t - 1)(2 + (a_t - 1))``: accurate where ``a_t`` is close to 1 (a long memory), with one
transcendental function instead of two. The derivative of the square root is bounded at 1000, as
RecurrentGemma's ``sqrt_bound_derivative`` does (the values are the exact square root; the
derivative ``1 / (2 sqrt(u))`` is evaluated at ``max(u, 1/(4 \cdot 1000^2))``). The bound
is a custom JVP rule, so both modes and every order of differentiation see it.

The Hawk block (Griffin's recurrent block) is a cell too (:data:`HAWK_CELL`): ``d_r`` RG-LRU
channels between a projection in and one out,

.. math::

    y_t &= \mathrm{GeLU}(W_y x_t + b_y), \qquad v_t = W_u x_t + b_u, \\
    u_t &= \textstyle\sum_{k=0}^{w-1} W_{\mathrm{conv}}[k] \odot v_{t-w+1+k} + b_{\mathrm{conv}} \\
    h_t &= \text{RG-LRU}(h_{t-1}, u_t), \qquad o_t = W_o (h_t \odot y_t) + b_o

with a causal convolution of width ``w = 4`` per channel that does not reach across a
segment start (the ``v`` before it count as zeros), and GeLU's tanh form
(``jax.nn.gelu``, as RecurrentGemma). Its carry :class:`HawkState` holds the convolution's
window (the last ``w - 1`` values of ``v``) and ``h``, so decoding and streaming continue
exactly where a call stopped.

The family whole: :class:`RGLRUParams`, :func:`init_rglru_params`, :func:`rglru_step`,
:func:`rglru_scan`, :data:`RGLRU_CELL`; :class:`HawkParams`, :class:`HawkState`,
:func:`init_hawk_params`, :func:`hawk_step`, :func:`hawk_scan`, :data:`HAWK_CELL`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.linear import linear_sequence
from jaxrnn._src.ops import mul, product
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, init_from_layout, leaf, register_cell
from jaxrnn.params import FanInNormal, default_initializers, draw_dtype

C = 8.0
"""The constant ``c`` of ``log a_t = -c r_t softplus(Λ)``."""
MAX_SQRT_GRADIENT = 1000.0
"""The bound on the derivative of ``sqrt(1 - a_t^2)`` with respect to ``1 - a_t^2``."""


class RGLRUParams(NamedTuple):
    """Parameters of the RG-LRU on ``d`` channels in ``H`` heads (``k = d/H``).

    Attributes:
        a_param: ``Λ``, shape ``(d,)``; ``a = exp(-c r softplus(Λ))``.
        W_a: the recurrence gate's ``H`` diagonal blocks, each ``(out, in)``: ``(H, k, k)``.
        b_a: the recurrence gate's bias, ``(d,)``.
        W_x: the input gate's blocks, ``(H, k, k)``.
        b_x: the input gate's bias, ``(d,)``.
    """

    a_param: Float[Array, " d"]
    W_a: Float[Array, "H k k"]
    b_a: Float[Array, " d"]
    W_x: Float[Array, "H k k"]
    b_x: Float[Array, " d"]


class HawkParams(NamedTuple):
    """Parameters of the Hawk block: ``d_in`` in, ``d_r`` RG-LRU channels, ``d_h`` out.

    Attributes:
        W_y: the GeLU branch, ``(d_r, d_in)``; ``b_y`` its bias ``(d_r,)``.
        W_u: the recurrent branch's projection, ``(d_r, d_in)``; ``b_u`` ``(d_r,)``.
        W_conv: the convolution's taps, ``(w, d_r)``, oldest first: ``W_conv[w - 1]``
            multiplies ``v_t``, ``W_conv[0]`` multiplies ``v_{t-w+1}``; ``b_conv`` ``(d_r,)``.
        rglru: the RG-LRU's :class:`RGLRUParams` on ``d_r`` channels.
        W_o: the projection out, ``(d_h, d_r)``; ``b_o`` ``(d_h,)``.
    """

    W_y: Float[Array, "d_r d_in"]
    b_y: Float[Array, " d_r"]
    W_u: Float[Array, "d_r d_in"]
    b_u: Float[Array, " d_r"]
    W_conv: Float[Array, "w d_r"]
    b_conv: Float[Array, " d_r"]
    rglru: RGLRUParams
    W_o: Float[Array, "d_h d_r"]
    b_o: Float[Array, " d_h"]


class HawkState(NamedTuple):
    """The Hawk block's carry. Use the field names, never the position.

    Attributes:
        window: the last ``w - 1`` values of ``v = W_u x + b_u``, oldest first,
            ``(..., w - 1, d_r)``; zeros before a segment's start.
        h: the RG-LRU's state ``h_t``, ``(..., d_r)``.
    """

    window: Float[Array, "... w_1 d_r"]
    h: Float[Array, "... d_r"]


# --- initialisers ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RingLambda:
    """``Λ`` with ``a = exp(-softplus(Λ))`` uniform in area on the ring ``[min_rad, max_rad]``
    (``a^2`` uniform on ``[min_rad^2, max_rad^2]``): ``Λ = log(expm1(-log a))``."""

    min_rad: float
    max_rad: float

    def __call__(self, key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
        u = jax.random.uniform(key, shape, draw_dtype(dtype))
        a2 = self.min_rad**2 + u * (self.max_rad**2 - self.min_rad**2)
        return jnp.log(jnp.expm1(-0.5 * jnp.log(a2))).astype(dtype)


# RecurrentGemma's initialisation: the gates' kernels count every head in their fan-in
# (flax's variance_scaling on an (H, in, out) kernel), the block's projections and the
# convolution (fan-in w) are fan-in normal too.
_GATE_INIT = FanInNormal(1.0, (0, 2))
_MATRIX_INIT = FanInNormal(1.0, (1,))
_CONV_INIT = FanInNormal(0.01, (0,))


def _check_radii(min_rad: float, max_rad: float, where: str) -> None:
    if not (isinstance(min_rad, (int, float)) and isinstance(max_rad, (int, float))
            and 0.0 < min_rad <= max_rad < 1.0):  # fmt: skip
        raise ValueError(
            f"{where}: expected 0 < min_rad <= max_rad < 1, got min_rad={min_rad!r}, "
            f"max_rad={max_rad!r}"
        )


def _check_heads(d: int, num_heads: int, where: str) -> None:
    checks.check_size("num_heads", num_heads)
    if d % num_heads:
        raise ValueError(
            f"{where}: expected the RG-LRU width {d} to be a multiple of num_heads, got "
            f"num_heads={num_heads}"
        )


def _rglru_layout(d: int, num_heads: int, min_rad: float, max_rad: float) -> RGLRUParams:
    k = d // num_heads
    return RGLRUParams(
        a_param=leaf("other", (d,), init=RingLambda(float(min_rad), float(max_rad))),
        W_a=leaf("input", (num_heads, k, k), init=_GATE_INIT),
        b_a=leaf("bias", (d,)),
        W_x=leaf("input", (num_heads, k, k), init=_GATE_INIT),
        b_x=leaf("bias", (d,)),
    )


def _heads_shape(params: RGLRUParams, path: str) -> tuple[int, int]:
    """``(H, k)`` from ``W_a (H, k, k)`` (``ValueError`` naming it otherwise)."""
    W = params.W_a
    shape = tuple(getattr(W, "shape", ()))
    if len(shape) != 3 or shape[1] != shape[2]:
        got = shape if hasattr(W, "shape") else type(W).__name__
        raise ValueError(
            f"expected params.{path} to have shape (num_heads, d/num_heads, d/num_heads), got {got}"
        )
    return shape[0], shape[1]


# --- the equations ----------------------------------------------------------------------------


@jax.custom_jvp
def sqrt_bounded(u: Array) -> Array:
    """``sqrt(u)``, whose derivative is ``1 / (2 sqrt(max(u, 1/(4 M^2))))`` with
    ``M = MAX_SQRT_GRADIENT``: at most ``M`` (RecurrentGemma's ``sqrt_bound_derivative``)."""
    return jnp.sqrt(u)


@sqrt_bounded.defjvp
def _sqrt_bounded_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (u,), (du,) = primals, tangents
    floor = 1.0 / (4.0 * MAX_SQRT_GRADIENT**2)
    return sqrt_bounded(u), du * (0.5 * jax.lax.rsqrt(jnp.maximum(u, floor)))


def gate_pre(params: RGLRUParams, x: Array, *, loop: bool) -> tuple[Array, Array]:
    """``(W_a x + b_a, W_x x + b_x)`` of ``x (..., d)``: both gates in one product per head.
    ``loop``: one step inside a loop (:func:`jaxrnn._src.ops.mul`; several heads: one
    ``einsum``), else every step at once (:func:`jaxrnn._src.ops.product`, one per head:
    18% faster forward than one ``einsum`` over the heads at (128, 100, 512) with 2 heads on
    2 CPU cores, whose batch axis costs a transpose of the inputs)."""
    H, k = params.W_a.shape[:2]
    if H == 1 or not loop:
        r_pre, i_pre = [], []
        for h in range(H):
            heads = slice(h * k, (h + 1) * k)
            W = jnp.concatenate([params.W_a[h], params.W_x[h]])  # (2k, k)
            b = jnp.concatenate([params.b_a[heads], params.b_x[heads]])
            x_h = x if H == 1 else x[..., heads]
            pre = mul(W, x_h) + b if loop else product(x_h, W, b)
            r_pre.append(pre[..., :k])
            i_pre.append(pre[..., k:])
        if H == 1:
            return r_pre[0], i_pre[0]
        return jnp.concatenate(r_pre, axis=-1), jnp.concatenate(i_pre, axis=-1)
    W = jnp.concatenate([params.W_a, params.W_x], axis=1)  # (H, 2k, k)
    pre = jnp.einsum("...hi,hoi->...ho", x.reshape(*x.shape[:-1], H, k), W)
    return (pre[..., :k].reshape(x.shape) + params.b_a,
            pre[..., k:].reshape(x.shape) + params.b_x)  # fmt: skip


def _flags(reset: Any) -> Array | None:
    """A reset argument (None, a bool, or bools over the batch axes) as flags that broadcast
    over ``(..., d)``; None when there is no reset."""
    if reset is None or reset is False:
        return None
    return jnp.asarray(reset, bool)[..., None]


def rglru_ab(params: RGLRUParams, x: Array, reset: Any = None, *,
             loop: bool) -> tuple[Array, Array]:  # fmt: skip
    """``(a_t, b_t)`` of ``h_t = a_t h_{t-1} + b_t`` for inputs ``x (..., d)``; where
    ``reset`` (bools over the batch axes) is set, ``(0, i_t x_t)``."""
    r_pre, i_pre = gate_pre(params, x, loop=loop)
    r_t, i_t = jax.nn.sigmoid(r_pre), jax.nn.sigmoid(i_pre)
    log_a = -C * r_t * jax.nn.softplus(params.a_param)
    a_m1 = jnp.expm1(log_a)  # a_t - 1, accurate where a_t is close to 1
    a_t = 1 + a_m1
    gated_x = i_t * x
    b_t = sqrt_bounded(-a_m1 * (2 + a_m1)) * gated_x  # sqrt(1 - a_t^2) (i_t x_t)
    flags = _flags(reset)
    if flags is not None:  # a segment start: no carry, no normalisation
        a_t = jnp.where(flags, jnp.zeros_like(a_t), a_t)
        b_t = jnp.where(flags, gated_x, b_t)
    return a_t, b_t


class RGLRU(Cell):
    """The RG-LRU as a :class:`jaxrnn.Cell`: carry and output ``h_t``, linear in
    ``h_{t-1}``, with its own reset rule (``reset_rule = "cell"``)."""

    name: ClassVar[str] = "rglru"
    params_type: ClassVar[Any] = RGLRUParams
    init_options: ClassVar[dict[str, Any]] = {"num_heads": 1, "min_rad": 0.9, "max_rad": 0.999}
    reset_rule: ClassVar[str] = "cell"
    entry_points: ClassVar[str] = "jaxrnn.rglru_step / rglru_scan"

    def dims(self, params: Any) -> dict[str, int]:
        H, k = _heads_shape(params, "W_a")
        return {"d_in": H * k, "d_h": H * k, "num_heads": H}

    def layout(self, d_in: int, d_h: int, *, num_heads: int = 1, min_rad: float = 0.9,
               max_rad: float = 0.999, **options: Any) -> RGLRUParams:  # fmt: skip
        if d_in != d_h:
            raise ValueError(
                f"rglru: expected d_in == d_h (the RG-LRU maps d channels to d), got "
                f"d_in={d_in}, d_h={d_h}; the Hawk block (cell 'hawk') has projections"
            )
        _check_heads(d_h, num_heads, "rglru")
        _check_radii(min_rad, max_rad, "rglru")
        return _rglru_layout(d_h, num_heads, min_rad, max_rad)

    def step(self, params: Any, h_prev: Array, x_t: Array, *,
             reset: Any = None) -> tuple[Array, Array]:  # fmt: skip
        a_t, b_t = rglru_ab(params, x_t, reset, loop=True)
        h_t = a_t * h_prev + b_t
        return h_t, h_t

    def coefficients(self, params: Any, xs: Array, resets: Any = None) -> tuple[Array, Array]:
        """``(a, b)`` of every step, ``a_t = 0, b_t = i_t x_t`` at ``resets``."""
        return rglru_ab(params, xs, resets, loop=False)


RGLRU_CELL = register_cell(RGLRU())
"""The registered RG-LRU cell (``jaxrnn.get_cell("rglru")``)."""


# --- the Hawk block ---------------------------------------------------------------------------


def _conv_taps(window: Array, v_t: Array, W_conv: Array, b_conv: Array) -> Array:
    """``u_t = sum_k W_conv[k] v_{t-w+1+k} + b_conv`` from the window ``(..., w-1, d_r)``."""
    return jnp.einsum("...kd,kd->...d", window, W_conv[:-1]) + W_conv[-1] * v_t + b_conv


def _shift(a: Array, j: int) -> Array:
    """Time-major ``a (T, ...)`` delayed by ``j`` steps: ``out[t] = a[t - j]``, zeros before."""
    if j == 0:
        return a
    # a pad, not a concatenation with new zeros: no comparison of j with T, which may be a
    # symbolic size (jax.export), and the result keeps a's sharding (explicit meshes)
    return jnp.pad(a, [(j, 0)] + [(0, 0)] * (a.ndim - 1))[: a.shape[0]]


def _flip_valid(a: Array, L: Array | None) -> Array:
    """Time-major ``a (T, n, ...)`` with each example's valid steps ``t < L`` reversed in
    place (padding stays where it is); its own inverse."""
    if L is None:
        return jnp.flip(a, 0)
    T = a.shape[0]
    t = jnp.arange(T, dtype=L.dtype)[:, None]
    index = jnp.where(t < L[None], L[None] - 1 - t, t)  # (T, n)
    index = index.reshape(index.shape + (1,) * (a.ndim - 2))
    return jnp.take_along_axis(a, jnp.broadcast_to(index, a.shape[:2] + (1,) * (a.ndim - 2)),
                               axis=0)  # fmt: skip


def _at_steps(a: Array, t: Array) -> Array:
    """``a[t[i], i]`` of time-major ``a (S, n, ...)`` for each example ``i``: ``(n, ...)``."""
    index = t.reshape((1, -1) + (1,) * (a.ndim - 2))
    return jnp.take_along_axis(a, index, axis=0)[0]


def hawk_parallel(
    params: HawkParams,
    xs: Array,
    carry0: HawkState,
    mask: Array | None,
    resets: Array | None,
    *,
    return_carries: bool,
) -> tuple[HawkState, Array, HawkState | None]:
    """The Hawk block over time-major ``xs (T, n, d_in)``, forward, every step at once: the
    projections and the convolution as products over the whole sequence, then the RG-LRU's
    linear recurrence (:func:`jaxrnn._src.linear.linear_sequence`). ``mask`` is a prefix
    (``lengths``); ``resets`` start segments."""
    T, n = xs.shape[:2]
    w = params.W_conv.shape[0]
    y = jax.nn.gelu(product(xs, params.W_y, params.b_y))
    v = product(xs, params.W_u, params.b_u)
    ext = jnp.concatenate([jnp.moveaxis(carry0.window, 1, 0), v])  # ext[j] = v_{j-w+1}
    # vis[s][t]: v_{t-s} is in the segment of step t (no segment starts at t-s+1 .. t).
    vis: list[Array | None] = [None] * w
    if resets is not None:
        started = jnp.zeros_like(resets)
        for s in range(1, w):
            started = started | _shift(resets, s - 1)
            vis[s] = ~started
    u = params.b_conv + params.W_conv[w - 1] * v
    for s in range(1, w):
        v_back = ext[w - 1 - s : w - 1 - s + T]
        seen = vis[s]
        if seen is not None:
            v_back = jnp.where(seen[..., None], v_back, jnp.zeros_like(v_back))
        u = u + params.W_conv[w - 1 - s] * v_back
    h_T, _, hs = linear_sequence(RGLRU_CELL, params.rglru, u, carry0.h, mask, resets,
                                 reverse=False)  # fmt: skip
    ys = sequence.zero_padding(mask, product(hs * y, params.W_o, params.b_o))

    def kept(k: int, entries: Array, t: Array | None) -> Array:
        """Window entry ``k`` after step ``t``: ``v_{t-w+2+k}``, zero if a segment started
        after it (``vis[w-2-k]`` at ``t``)."""
        seen = vis[w - 2 - k]
        if seen is None:
            return entries
        flag = seen if t is None else jnp.where(t >= 0, _at_steps(seen, jnp.maximum(t, 0)), True)
        return jnp.where(flag[..., None], entries, jnp.zeros_like(entries))

    if mask is None:
        window_T = jnp.stack([kept(k, ext[T + k], jnp.full((n,), T - 1)) for k in range(w - 1)],
                             axis=1)  # fmt: skip
    else:
        last = mask.sum(0).astype(jnp.int32) - 1  # the last valid step, -1 for none
        window_T = jnp.stack([kept(k, _at_steps(ext, last + 1 + k), last) for k in range(w - 1)],
                             axis=1)  # fmt: skip
    carry_T = HawkState(window=window_T.astype(carry0.window.dtype), h=h_T)
    carries = None
    if return_carries:
        windows = jnp.stack([kept(k, ext[1 + k : T + 1 + k], None) for k in range(w - 1)],
                            axis=2)  # fmt: skip
        carries = sequence.zero_padding(mask, HawkState(window=windows, h=hs))
    return carry_T, ys, carries


class Hawk(Cell):
    """The Hawk block (Griffin's recurrent block) as a :class:`jaxrnn.Cell`: carry
    :class:`HawkState` (the convolution's window and the RG-LRU's ``h``), output ``o_t``.

    Its sequence (:attr:`Cell.sequence`) runs the whole block in parallel over time
    (``parallel=False``: a loop of :meth:`step`); the cell restarts a segment by its own rule
    (the window and ``h`` are not read).
    """

    name: ClassVar[str] = "hawk"
    params_type: ClassVar[Any] = HawkParams
    init_options: ClassVar[dict[str, Any]] = {"lru_width": None, "num_heads": 1,
                                              "conv_width": 4, "min_rad": 0.9,
                                              "max_rad": 0.999}  # fmt: skip
    reset_rule: ClassVar[str] = "cell"
    entry_points: ClassVar[str] = "jaxrnn.hawk_step / hawk_scan"

    def dims(self, params: Any) -> dict[str, int]:
        d_r, d_in = checks.matrix_shape(params, "W_y", "(lru_width, d_in)")
        d_h = checks.matrix_shape(params, "W_o", "(d_h, lru_width)")[0]
        w = checks.matrix_shape(params, "W_conv", "(conv_width, lru_width)")[0]
        H, _ = _heads_shape(params.rglru, "rglru.W_a")
        return {"d_in": d_in, "d_h": d_h, "lru_width": d_r, "num_heads": H, "conv_width": w}

    def layout(self, d_in: int, d_h: int, *, lru_width: int | None = None, num_heads: int = 1,
               conv_width: int = 4, min_rad: float = 0.9, max_rad: float = 0.999,
               **options: Any) -> HawkParams:  # fmt: skip
        d_r = d_h if lru_width is None else lru_width
        checks.check_size("lru_width", d_r)
        checks.check_size("conv_width", conv_width)
        _check_heads(d_r, num_heads, "hawk")
        _check_radii(min_rad, max_rad, "hawk")
        return HawkParams(
            W_y=leaf("input", (d_r, d_in), init=_MATRIX_INIT), b_y=leaf("bias", (d_r,)),
            W_u=leaf("input", (d_r, d_in), init=_MATRIX_INIT), b_u=leaf("bias", (d_r,)),
            W_conv=leaf("input", (conv_width, d_r), init=_CONV_INIT),
            b_conv=leaf("bias", (d_r,)),
            rglru=_rglru_layout(d_r, num_heads, min_rad, max_rad),
            W_o=leaf("input", (d_h, d_r), init=_MATRIX_INIT), b_o=leaf("bias", (d_h,)),
        )  # fmt: skip

    def carry_shapes(self, dims: Any) -> Any:
        """``HawkState(window=(w - 1, d_r), h=(d_r,))``: shapes in the carry's structure."""
        d_r = dims.get("lru_width") or dims["d_h"]
        shapes: Any = ((dims.get("conv_width", 4) - 1, d_r), (d_r,))
        return HawkState(*shapes)

    def step(self, params: Any, carry: Any, x_t: Array, *,
             reset: Any = None) -> tuple[HawkState, Array]:  # fmt: skip
        y_t = jax.nn.gelu(mul(params.W_y, x_t) + params.b_y)
        v_t = mul(params.W_u, x_t) + params.b_u
        window = carry.window
        flags = _flags(reset)
        if flags is not None:  # a segment start: the convolution sees no earlier input
            window = jnp.where(flags[..., None], jnp.zeros_like(window), window)
        u_t = _conv_taps(window, v_t, params.W_conv, params.b_conv)
        a_t, b_t = rglru_ab(params.rglru, u_t, reset, loop=True)
        h_t = a_t * carry.h + b_t
        o_t = mul(params.W_o, h_t * y_t) + params.b_o
        window_t = jnp.concatenate([window[..., 1:, :], v_t[..., None, :]], axis=-2)
        return HawkState(window=window_t, h=h_t), o_t

    def sequence(self, params: Any, xs: Array, carry0: Any, mask: Any, resets: Any, *,
                 reverse: bool, return_carries: bool, unroll: int = 1, remat: int | None = None,
                 parallel: bool = True) -> tuple[Any, Array, Any]:  # fmt: skip
        """``parallel=True``: :func:`hawk_parallel` (reverse: on each example's valid steps
        read last-to-first); ``False``: a ``lax.scan`` of :meth:`step` (``unroll``, ``remat``)."""
        if not parallel:
            return sequence.scan_steps(self, params, xs, carry0, mask, resets, reverse=reverse,
                                       return_carries=return_carries, unroll=unroll,
                                       remat=remat)  # fmt: skip
        if not reverse:
            return hawk_parallel(params, xs, carry0, mask, resets, return_carries=return_carries)
        L = None if mask is None else mask.sum(0).astype(jnp.int32)
        flip = functools.partial(_flip_valid, L=L)
        carry_T, ys, carries = hawk_parallel(
            params, flip(xs), carry0, mask, None if resets is None else flip(resets),
            return_carries=return_carries,
        )  # fmt: skip
        return carry_T, flip(ys), None if carries is None else jax.tree.map(flip, carries)


HAWK_CELL = register_cell(Hawk())
"""The registered Hawk block (``jaxrnn.get_cell("hawk")``)."""


# --- public, checked --------------------------------------------------------------------------


def init_rglru_params(
    key: PRNGKey,
    d: int,
    *,
    num_heads: int = 1,
    min_rad: float = 0.9,
    max_rad: float = 0.999,
    dtype: DType = jnp.float32,
) -> RGLRUParams:
    """Initialise :class:`RGLRUParams` as RecurrentGemma does.

    ``Λ`` so that ``exp(-softplus(Λ))`` is uniform in area on the ring
    ``[min_rad, max_rad]``; the gates' blocks normal with variance ``1/d`` (RecurrentGemma's
    fan-in of the ``(H, d/H, d/H)`` kernel counts every head); biases zero.

    Args:
        key: PRNG key.
        d: the number of channels (input and state).
        num_heads: the number of diagonal blocks ``H`` of ``W_a`` and ``W_x``; divides ``d``.
        min_rad, max_rad: the ring, ``0 < min_rad <= max_rad < 1``.
        dtype: floating dtype of every parameter.

    Returns:
        ``RGLRUParams(a_param (d,), W_a (H, d/H, d/H), b_a (d,), W_x (H, d/H, d/H), b_x (d,))``.

    Raises:
        ValueError: a size that is not a positive int, ``num_heads`` not dividing ``d``, or
            radii off the ring.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_rglru_params(jax.random.key(0), 8, num_heads=2)
        >>> p.W_a.shape, p.b_x.shape
        ((2, 4, 4), (8,))
        >>> a = jnp.exp(-jax.nn.softplus(p.a_param))
        >>> bool(((a >= 0.9) & (a <= 0.999)).all())
        True
    """
    checks.check_size("d", d)
    layout = RGLRU_CELL.layout(d, d, num_heads=num_heads, min_rad=min_rad, max_rad=max_rad)
    return init_from_layout(key, layout, default_initializers(), {}, dtype)


def init_hawk_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    lru_width: int | None = None,
    num_heads: int = 1,
    conv_width: int = 4,
    min_rad: float = 0.9,
    max_rad: float = 0.999,
    dtype: DType = jnp.float32,
) -> HawkParams:
    """Initialise :class:`HawkParams` as RecurrentGemma's ``RecurrentBlock``.

    ``W_y``, ``W_u``, ``W_o`` normal with variance ``1/fan_in``; ``W_conv`` with variance
    ``0.01 / w``; the RG-LRU as :func:`init_rglru_params`; biases zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: output size (RecurrentGemma's block: ``d_h = d_in``, its ``width``).
        lru_width: the RG-LRU's width ``d_r`` (default ``d_h``).
        num_heads: the RG-LRU's heads; divides ``d_r``.
        conv_width: the convolution's width ``w`` (4).
        min_rad, max_rad: the RG-LRU's ring.
        dtype: floating dtype of every parameter.

    Returns:
        ``HawkParams``.

    Raises:
        ValueError: a size that is not a positive int, heads not dividing ``d_r``, radii off
            the ring.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_hawk_params(jax.random.key(0), 4, 4, lru_width=6, num_heads=2)
        >>> p.W_u.shape, p.W_conv.shape, p.rglru.W_a.shape, p.W_o.shape
        ((6, 4), (4, 6), (2, 3, 3), (4, 6))
    """
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    layout = HAWK_CELL.layout(d_in, d_h, lru_width=lru_width, num_heads=num_heads,
                              conv_width=conv_width, min_rad=min_rad, max_rad=max_rad)  # fmt: skip
    return init_from_layout(key, layout, default_initializers(), {}, dtype)


def _check_reset(reset: Any, x_t: Any, where: str) -> Any:
    """``reset``: a Python bool, or bools over the batch axes of ``x_t``."""
    if isinstance(reset, bool):
        return reset
    reset = checks.as_array(reset, "reset", where)
    batch = tuple(getattr(x_t, "shape", ())[:-1])
    if reset.dtype != jnp.bool_ or tuple(reset.shape) not in ((), batch):
        raise ValueError(
            f"{where}: expected reset to be a bool or a bool array of shape x_t.shape[:-1] "
            f"= {batch}, got {reset.dtype} {tuple(reset.shape)}"
        )
    return reset


def rglru_step(
    params: RGLRUParams,
    h_prev: Float[Array, "... d"],
    x_t: Float[Array, "... d"],
    *,
    reset: bool | Bool[Array, "..."] = False,
) -> tuple[Float[Array, "... d"], Float[Array, "... d"]]:
    r"""One step of the RG-LRU.

    .. math::

        r_t = \sigma(W_a x_t + b_a), \quad i_t = \sigma(W_x x_t + b_x), \quad
        \log a_t = -8\, r_t \odot \mathrm{softplus}(\Lambda) \\
        h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot x_t)
        \qquad (\text{reset: } h_t = i_t \odot x_t)

    Args:
        params: ``RGLRUParams`` on ``d`` channels.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d)``.
        x_t: input ``x_t``, shape ``(..., d)``.
        reset: a segment starts here (a bool, or bools ``x_t.shape[:-1]``): ``h_{t-1}`` is
            not read and ``i_t x_t`` is not normalised.

    Returns:
        ``(h_t, h_t)``: the new state and the output, each ``(..., d)``.

    Raises:
        TypeError: ``params`` is not an ``RGLRUParams``, or an input is not floating.
        ValueError: a shape does not match the parameters, or a bad ``reset``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_rglru_params(jax.random.key(0), 4)
        >>> h, _ = jaxrnn.rglru_step(p, jnp.ones((2, 4)), jnp.ones((2, 4)),
        ...                          reset=jnp.array([True, False]))
        >>> i_x = jax.nn.sigmoid(jnp.ones(4) @ p.W_x[0].T + p.b_x)
        >>> bool(jnp.allclose(h[0], i_x))
        True
    """
    where = "rglru_step"
    reset = _check_reset(reset, x_t, where)
    return sequence.checked_step(RGLRU_CELL, params, h_prev, x_t, where=where, name="h_prev",
                                 reset=reset)  # fmt: skip


def hawk_step(
    params: HawkParams,
    carry: HawkState,
    x_t: Float[Array, "... d_in"],
    *,
    reset: bool | Bool[Array, "..."] = False,
) -> tuple[HawkState, Float[Array, "... d_h"]]:
    r"""One step of the Hawk block (what decoding runs): the convolution reads its window.

    .. math::

        y_t = \mathrm{GeLU}(W_y x_t + b_y), \quad v_t = W_u x_t + b_u, \quad
        u_t = \textstyle\sum_k W_{\mathrm{conv}}[k] \odot v_{t-w+1+k} + b_{\mathrm{conv}} \\
        h_t = \text{RG-LRU}(h_{t-1}, u_t), \quad o_t = W_o (h_t \odot y_t) + b_o

    Args:
        params: ``HawkParams``.
        carry: ``HawkState(window (..., w-1, d_r), h (..., d_r))``.
        x_t: input ``(..., d_in)``.
        reset: a segment starts here: the window and ``h`` are not read.

    Returns:
        ``(carry_t, o_t)``, ``o_t`` of shape ``(..., d_h)``.

    Raises:
        TypeError: wrong params or carry type, or a non-floating input.
        ValueError: a shape that does not match the parameters, or a bad ``reset``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_hawk_params(jax.random.key(0), 3, 4)
        >>> c0 = jaxrnn.HawkState(jnp.zeros((2, 3, 4)), jnp.zeros((2, 4)))
        >>> c1, o = jaxrnn.hawk_step(p, c0, jnp.ones((2, 3)))
        >>> c1.window.shape, o.shape
        ((2, 3, 4), (2, 4))
    """
    where = "hawk_step"
    reset = _check_reset(reset, x_t, where)
    return sequence.checked_step(HAWK_CELL, params, carry, x_t, where=where, name="carry",
                                 reset=reset)  # fmt: skip


_SCAN_ARGS = r"""
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        lengths: optional integers ``xs.shape[:-2]``; steps ``t >= lengths`` are padding
            (carry held, outputs zero).
        resets: optional bools ``xs.shape[:-1]``: True where a new segment starts; the step
            there reads no carry and does not normalise (RecurrentGemma's
            ``segment_pos == 0``). With ``reverse`` each segment is read last-to-first.
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        parallel: ``True``: every step at once (the linear recurrence: an associative scan
            on accelerators, a blocked loop on CPU). ``False``: a loop of the step. The two
            agree to rounding; both differentiate in forward and reverse mode, to any order.
"""


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def rglru_scan(
    params: RGLRUParams,
    xs: Float[Array, "... T d"],
    h0: Float[Array, "... d"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Float[Array, "... d"], Float[Array, "... T d"]]:
    h_T, hs, _ = sequence.run(
        RGLRU_CELL, params, xs, h0, lengths=lengths, resets=resets, reverse=reverse,
        method="parallel" if parallel else "sequential", where="rglru_scan", carry_name="h0",
    )  # fmt: skip
    return h_T, hs


rglru_scan.__doc__ = (
    r"""Run the RG-LRU over a sequence, all steps at once.

    .. math::

        r_t = \sigma(W_a x_t + b_a), \quad i_t = \sigma(W_x x_t + b_x), \quad
        a_t = \exp(-8\, r_t \odot \mathrm{softplus}(\Lambda)) \\
        h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (i_t \odot x_t)
        \qquad (\text{at a reset: } h_t = i_t \odot x_t)

    The derivative of the square root is bounded at 1000 (RecurrentGemma's rule); values
    are exact.

    Args:
        params: ``RGLRUParams(a_param, W_a, b_a, W_x, b_x)`` on ``d`` channels.
        h0: initial state ``(..., d)``; zeros of the parameters' dtype by default.
"""
    + _SCAN_ARGS
    + r"""
    Returns:
        ``(h_T, hs)``: the final state ``(..., d)`` (after the last valid step) and all
        states ``(..., T, d)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_rglru_params(jax.random.key(0), 4)
        >>> xs = jax.random.normal(jax.random.key(1), (2, 6, 4))
        >>> resets = jnp.zeros((2, 6), bool).at[:, 0].set(True)   # RecurrentGemma's start
        >>> h_T, hs = jaxrnn.rglru_scan(p, xs, resets=resets)
        >>> h_T_seq, hs_seq = jaxrnn.rglru_scan(p, xs, resets=resets, parallel=False)
        >>> hs.shape, bool(jnp.allclose(hs, hs_seq, atol=1e-6))
        ((2, 6, 4), True)
    """
)


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def hawk_scan(
    params: HawkParams,
    xs: Float[Array, "... T d_in"],
    carry0: HawkState | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[HawkState, Float[Array, "... T d_h"]]:
    carry_T, ys, _ = sequence.run(
        HAWK_CELL, params, xs, carry0, lengths=lengths, resets=resets, reverse=reverse,
        method="sequential", where="hawk_scan", carry_name="carry0",
        options={"parallel": parallel},
    )  # fmt: skip
    return carry_T, ys


hawk_scan.__doc__ = (
    r"""Run the Hawk block (Griffin's recurrent block) over a sequence.

    .. math::

        y_t = \mathrm{GeLU}(W_y x_t + b_y), \quad v_t = W_u x_t + b_u, \quad
        u_t = \textstyle\sum_k W_{\mathrm{conv}}[k] \odot v_{t-w+1+k} + b_{\mathrm{conv}} \\
        h_t = \text{RG-LRU}(h_{t-1}, u_t), \quad o_t = W_o (h_t \odot y_t) + b_o

    The convolution is causal, per channel, and does not reach across a segment start.

    Args:
        params: ``HawkParams``.
        carry0: the initial ``HawkState(window (..., w-1, d_r), h (..., d_r))``; zeros by
            default. The final carry of one call continues the next exactly (streaming).
"""
    + _SCAN_ARGS
    + r"""
    Returns:
        ``(carry_T, outputs)``: the ``HawkState`` after the last valid step and
        ``o_t`` for every step, ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params or carry type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_hawk_params(jax.random.key(0), 3, 4)
        >>> xs = jax.random.normal(jax.random.key(1), (2, 8, 3))
        >>> c_T, ys = jaxrnn.hawk_scan(p, xs)
        >>> c_4, first = jaxrnn.hawk_scan(p, xs[:, :4])      # two chunks, one stream
        >>> _, second = jaxrnn.hawk_scan(p, xs[:, 4:], c_4)
        >>> ys.shape, bool(jnp.allclose(ys, jnp.concatenate([first, second], 1), atol=1e-5))
        ((2, 8, 4), True)
    """
)


__all__ = [
    "C",
    "HAWK_CELL",
    "MAX_SQRT_GRADIENT",
    "RGLRU_CELL",
    "Hawk",
    "HawkParams",
    "HawkState",
    "RGLRU",
    "RGLRUParams",
    "RingLambda",
    "gate_pre",
    "hawk_parallel",
    "hawk_scan",
    "hawk_step",
    "init_hawk_params",
    "init_rglru_params",
    "rglru_ab",
    "rglru_scan",
    "rglru_step",
    "sqrt_bounded",
]
