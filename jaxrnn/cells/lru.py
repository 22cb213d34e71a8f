r"""The Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks
for Long Sequences").

A complex diagonal recurrence on ``d_h`` channels, read out to ``d_in`` real outputs:

.. math::

    \lambda &= \exp(-\exp(\nu_{\log}) + i \exp(\theta_{\log})), \qquad
        \gamma = \exp(\gamma_{\log}) \\
    h_t &= \lambda \odot h_{t-1} + \gamma \odot ((B_{re} + i B_{im})\, x_t), \qquad
        y_t = \mathrm{Re}((C_{re} + i C_{im})\, h_t) + D \odot x_t

The carry ``h`` is complex (``complex64`` for float32 parameters, ``complex128`` for
float64), the outputs real. ``h_t`` is linear in ``h_{t-1}``, so ``parallel=True``
evaluates every step at once (:func:`jaxrnn._src.linear.linear_scan`); the readout is the
cell's :attr:`~jaxrnn.Cell.outputs`. ``|\lambda| = \exp(-\exp(\nu_{\log})) < 1`` for every
``\nu_{\log}``: the recurrence is stable at any length.

The family whole: :class:`LRUParams`, :func:`init_lru_params`, :func:`lru_scan` and the cell
:data:`LRU_CELL` (its step is ``LRU_CELL.step``; decoding builds on it through
:func:`jaxrnn.decode.make_step_fn`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.ops import mul, product
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, init_from_layout, leaf, register_cell
from jaxrnn.params import FanInNormal, default_initializers, draw_dtype


class LRUParams(NamedTuple):
    """Parameters of the LRU: ``d_in`` inputs and outputs, ``d_h`` complex channels.

    Attributes:
        nu_log: ``ν_log``, ``(d_h,)``: ``|λ| = exp(-exp(ν_log))``.
        theta_log: ``θ_log``, ``(d_h,)``: the phase of ``λ`` is ``exp(θ_log)``.
        gamma_log: ``γ_log``, ``(d_h,)``: the input's normalisation ``γ = exp(γ_log)``.
        B_re, B_im: the input matrix ``B``'s real and imaginary parts, ``(d_h, d_in)``.
        C_re, C_im: the output matrix ``C``'s parts, ``(d_in, d_h)``.
        D: the skip connection, ``(d_in,)``.
    """

    nu_log: Float[Array, " d_h"]
    theta_log: Float[Array, " d_h"]
    gamma_log: Float[Array, " d_h"]
    B_re: Float[Array, "d_h d_in"]
    B_im: Float[Array, "d_h d_in"]
    C_re: Float[Array, "d_in d_h"]
    C_im: Float[Array, "d_in d_h"]
    D: Float[Array, " d_in"]


# --- initialisers ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RingNuLog:
    """``ν_log`` with ``|λ| = exp(-exp(ν_log))`` uniform in area on the ring
    ``[r_min, r_max]`` (``|λ|^2`` uniform on ``[r_min^2, r_max^2]``), kept strictly inside
    ``(0, 1)`` so that every parameter is finite."""

    r_min: float
    r_max: float

    def __call__(self, key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
        compute = draw_dtype(dtype)
        u = jax.random.uniform(key, shape, compute)
        r2 = self.r_min**2 + u * (self.r_max**2 - self.r_min**2)
        info = jnp.finfo(compute)
        r2 = jnp.clip(r2, info.tiny, 1 - info.eps)
        return jnp.log(-0.5 * jnp.log(r2)).astype(dtype)


@dataclasses.dataclass(frozen=True)
class PhaseThetaLog:
    """``θ_log`` with the phase ``exp(θ_log)`` uniform on ``[0, max_phase]`` (kept above 0,
    so that ``θ_log`` is finite)."""

    max_phase: float

    def __call__(self, key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
        compute = draw_dtype(dtype)
        u = jnp.maximum(jax.random.uniform(key, shape, compute), jnp.finfo(compute).tiny)
        return jnp.log(self.max_phase * u).astype(dtype)


def gamma_log_of(siblings: Any) -> Array:
    """``γ_log = log sqrt(1 - |λ|^2)`` from ``ν_log``: ``1 - |λ|^2 = -expm1(-2 exp(ν_log))``."""
    nu_log = jnp.asarray(siblings["nu_log"])
    compute = draw_dtype(nu_log.dtype)
    nu_log = nu_log.astype(compute)
    return (0.5 * jnp.log(-jnp.expm1(-2 * jnp.exp(nu_log)))).astype(siblings["nu_log"].dtype)


# Orvieto et al.: B normal with variance 1/(2 d_in) per part, C with 1/d_h, D standard normal.
_B_INIT = FanInNormal(0.5, (1,))
_C_INIT = FanInNormal(1.0, (1,))
_D_INIT = FanInNormal(1.0, ())


# --- the equations ----------------------------------------------------------------------------


def complex_dtype(dtype: DType) -> DType:
    """The carry's dtype for parameters of ``dtype``: ``complex128`` for float64, else
    ``complex64`` (there are no 16-bit complex numbers)."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return dtype
    return jnp.dtype(jnp.complex128 if dtype == jnp.float64 else jnp.complex64)


def _real_of(c: DType) -> DType:
    return jnp.float64 if jnp.dtype(c) == jnp.complex128 else jnp.float32


def lambda_gamma(params: LRUParams, carry_dtype: DType) -> tuple[Array, Array]:
    """``(λ, γ)``: ``λ = |λ| (cos θ + i sin θ)`` with ``|λ| = exp(-exp(ν_log))``,
    ``θ = exp(θ_log)``, in ``carry_dtype``; ``γ = exp(γ_log)``, real."""
    real = _real_of(carry_dtype)
    modulus = jnp.exp(-jnp.exp(params.nu_log.astype(real)))
    theta = jnp.exp(params.theta_log.astype(real))
    lam = jax.lax.complex(modulus * jnp.cos(theta), modulus * jnp.sin(theta))
    return lam, jnp.exp(params.gamma_log.astype(real))


def _input(params: LRUParams, x: Array, carry_dtype: DType, *, loop: bool) -> Array:
    """``γ ⊙ (B_re + i B_im) x`` for ``x (..., d_in)``: both parts in one product."""
    real = _real_of(carry_dtype)
    B = jnp.concatenate([params.B_re, params.B_im])  # (2 d_h, d_in)
    Bx = mul(B, x) if loop else product(x, B, jnp.zeros((B.shape[0],), B.dtype))
    Bx_re, Bx_im = jnp.split(Bx.astype(real), 2, axis=-1)
    gamma = jnp.exp(params.gamma_log.astype(real))
    return jax.lax.complex(gamma * Bx_re, gamma * Bx_im)


def _readout(params: LRUParams, h: Array, x: Array, *, loop: bool) -> Array:
    """``Re(C h) + D ⊙ x = C_re Re(h) - C_im Im(h) + D ⊙ x``, in the parameters' dtype."""
    dtype = params.D.dtype
    parts = jnp.concatenate([jnp.real(h), jnp.imag(h)], axis=-1).astype(dtype)
    C = jnp.concatenate([params.C_re, -params.C_im], axis=1)  # (d_in, 2 d_h)
    Ch = mul(C, parts) if loop else product(parts, C, jnp.zeros((C.shape[0],), dtype))
    return Ch + params.D * x.astype(dtype)


class LRU(Cell):
    """The LRU as a :class:`jaxrnn.Cell`: a complex carry ``h_t`` (``d_h``), linear in
    ``h_{t-1}``, and real outputs ``y_t`` of size ``d_in`` (:meth:`output_size`)."""

    name: ClassVar[str] = "lru"
    params_type: ClassVar[Any] = LRUParams
    init_options: ClassVar[dict[str, Any]] = {"r_min": 0.0, "r_max": 1.0,
                                              "max_phase": 2 * math.pi}  # fmt: skip
    entry_points: ClassVar[str] = "jaxrnn.lru_scan"

    def dims(self, params: Any) -> dict[str, int]:
        d_h, d_in = checks.matrix_shape(params, "B_re")
        return {"d_in": d_in, "d_h": d_h}

    def layout(self, d_in: int, d_h: int, *, r_min: float = 0.0, r_max: float = 1.0,
               max_phase: float = 2 * math.pi, **options: Any) -> LRUParams:  # fmt: skip
        if not (isinstance(r_min, (int, float)) and isinstance(r_max, (int, float))
                and 0.0 <= r_min <= r_max <= 1.0):  # fmt: skip
            raise ValueError(
                f"lru: expected 0 <= r_min <= r_max <= 1, got r_min={r_min!r}, r_max={r_max!r}"
            )
        if not (isinstance(max_phase, (int, float)) and max_phase > 0):
            raise ValueError(f"lru: expected max_phase > 0, got {max_phase!r}")
        return LRUParams(
            nu_log=leaf("other", (d_h,), init=RingNuLog(float(r_min), float(r_max))),
            theta_log=leaf("other", (d_h,), init=PhaseThetaLog(float(max_phase))),
            gamma_log=leaf("other", (d_h,), derive=gamma_log_of),
            B_re=leaf("input", (d_h, d_in), init=_B_INIT),
            B_im=leaf("input", (d_h, d_in), init=_B_INIT),
            C_re=leaf("input", (d_in, d_h), init=_C_INIT),
            C_im=leaf("input", (d_in, d_h), init=_C_INIT),
            D=leaf("other", (d_in,), init=_D_INIT),
        )

    def output_size(self, dims: Any) -> int:
        return dims["d_in"]

    def initial_carry(self, dims: Any, batch: tuple[int, ...], dtype: DType) -> Array:
        return jnp.zeros((*batch, dims["d_h"]), complex_dtype(dtype))

    def step(self, params: Any, h_prev: Array, x_t: Array) -> tuple[Array, Array]:
        lam, _ = lambda_gamma(params, h_prev.dtype)
        h_t = lam * h_prev + _input(params, x_t, h_prev.dtype, loop=True)
        return h_t, _readout(params, h_t, x_t, loop=True)

    def coefficients(self, params: Any, xs: Array, resets: Any = None) -> tuple[Array, Array]:
        """``(a, b) = (λ, γ ⊙ B x_t)`` of every step, complex."""
        carry = complex_dtype(checks.param_dtype(params))
        b = _input(params, xs, carry, loop=False)
        lam, _ = lambda_gamma(params, carry)
        return jnp.broadcast_to(lam, b.shape), b

    def outputs(self, params: Any, hs: Array, xs: Array) -> Array:
        """``y_t = Re(C h_t) + D ⊙ x_t`` of every step."""
        return _readout(params, hs, xs, loop=False)


LRU_CELL = register_cell(LRU())
"""The registered LRU cell (``jaxrnn.get_cell("lru")``)."""


def init_lru_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    r_min: float = 0.0,
    r_max: float = 1.0,
    max_phase: float = 6.283185307179586,
    dtype: DType = jnp.float32,
) -> LRUParams:
    """Initialise :class:`LRUParams` as Orvieto et al. do.

    ``|λ|`` uniform in area on the ring ``[r_min, r_max]`` (kept strictly inside
    ``(0, 1)``), its phase uniform on ``[0, max_phase]``, ``γ = sqrt(1 - |λ|^2)`` (computed
    as ``-expm1``, so finite for ``|λ|`` next to 1); ``B_re``, ``B_im`` normal with variance
    ``1/(2 d_in)``, ``C_re``, ``C_im`` with ``1/d_h``, ``D`` standard normal.

    Args:
        key: PRNG key.
        d_in: input (and output) size.
        d_h: number of complex channels.
        r_min, r_max: the ring of ``|λ|``, ``0 <= r_min <= r_max <= 1``.
        max_phase: the largest phase.
        dtype: floating dtype of every parameter.

    Returns:
        ``LRUParams(nu_log, theta_log, gamma_log (d_h,), B_re, B_im (d_h, d_in),
        C_re, C_im (d_in, d_h), D (d_in,))``.

    Raises:
        ValueError: a size that is not a positive int, or a ring or phase out of range.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_lru_params(jax.random.key(0), 3, 8, r_min=0.9, r_max=0.99)
        >>> r = jnp.exp(-jnp.exp(p.nu_log))
        >>> bool(((r >= 0.9 - 1e-6) & (r <= 0.99 + 1e-6)).all())
        True
        >>> bool(jnp.allclose(jnp.exp(p.gamma_log), jnp.sqrt(1 - r**2), rtol=1e-4))
        True
    """
    checks.check_size("d_in", d_in)
    checks.check_size("d_h", d_h)
    layout = LRU_CELL.layout(d_in, d_h, r_min=r_min, r_max=r_max, max_phase=max_phase)
    return init_from_layout(key, layout, default_initializers(), {}, dtype)


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def lru_scan(
    params: LRUParams,
    xs: Float[Array, "... T d_in"],
    h0: Array | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Array, Float[Array, "... T d_in"]]:
    r"""Run the LRU over a sequence, all steps at once.

    .. math::

        \lambda = \exp(-\exp(\nu_{\log}) + i \exp(\theta_{\log})), \quad
        h_t = \lambda \odot h_{t-1} + \exp(\gamma_{\log}) \odot ((B_{re} + i B_{im}) x_t) \\
        y_t = \mathrm{Re}((C_{re} + i C_{im}) h_t) + D \odot x_t

    The sequence rules of every cell (``docs/sequences.md``): padding holds ``h`` and emits
    zeros; a reset makes the step read ``h0``.

    Args:
        params: ``LRUParams``.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        h0: initial state ``(..., d_h)``, complex (``complex64`` for float32 parameters;
            a real ``h0`` is taken as the real part); zeros by default.
        lengths: optional integers ``xs.shape[:-2]``; steps ``t >= lengths`` are padding.
        resets: optional bools ``xs.shape[:-1]``: True where a new segment starts; that
            step reads ``h0`` in place of the previous state.
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        parallel: ``True``: every step at once (an associative scan on accelerators, a
            blocked loop on CPU); ``False``: a loop of the step. Both differentiate in
            forward and reverse mode, to any order.

    Returns:
        ``(h_T, ys)``: the final complex state ``(..., d_h)`` (after the last valid step)
        and the real outputs ``(..., T, d_in)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_lru_params(jax.random.key(0), 3, 8)
        >>> xs = jax.random.normal(jax.random.key(1), (2, 6, 3))
        >>> h_T, ys = jaxrnn.lru_scan(p, xs, lengths=jnp.array([6, 4]))
        >>> h_T.dtype, ys.shape, bool((ys[1, 4:] == 0).all())
        (dtype('complex64'), (2, 6, 3), True)
    """
    h_T, ys, _ = sequence.run(
        LRU_CELL, params, xs, h0, lengths=lengths, resets=resets, reverse=reverse,
        method="parallel" if parallel else "sequential", where="lru_scan", carry_name="h0",
    )  # fmt: skip
    return h_T, ys


__all__ = [
    "LRU",
    "LRU_CELL",
    "LRUParams",
    "PhaseThetaLog",
    "RingNuLog",
    "complex_dtype",
    "gamma_log_of",
    "init_lru_params",
    "lambda_gamma",
    "lru_scan",
]
