r"""The Newton and ELK iterations for one example on a flat state, and their linear solves.

Derivations in :mod:`jaxrnn._src.newton` (Newton, exactness, derivatives) and
:mod:`jaxrnn._src.elk` (the damped step). :class:`Solver` holds the step ``f`` and
evaluates it, its Jacobians and the residual over all steps at once (``vmap`` over time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn._src.elk import elk_step
from jaxrnn._src.linear import compose as compose_diagonal
from jaxrnn._src.typing import Array

# Above this many Jacobian entries per example, the diagonal is computed in time chunks
# so that the dense per-step Jacobians never exist for the whole sequence at once.
_DIAG_CHUNK_ENTRIES = 1 << 22


def _compose_full(a: tuple[Array, Array], b: tuple[Array, Array]) -> tuple[Array, Array]:
    """``b`` after ``a`` for affine maps ``x -> A x + c`` with dense ``A``."""
    A_a, c_a = a
    A_b, c_b = b
    return A_b @ A_a, jnp.einsum("...ij,...j->...i", A_b, c_a) + c_b


def affine_scan(A: Array, c: Array, *, reverse: bool = False) -> Array:
    """All ``y_t = A_t y_{t-1} + c_t`` (``y_0 = 0``) by one parallel prefix scan.

    ``A`` is ``(T, D, D)`` (dense) or ``(T, D)`` (diagonal); ``c`` is ``(T, D)``. With
    ``reverse`` the recurrence runs from ``t = T-1`` down: ``y_t = A_t y_{t+1} + c_t``.
    """
    compose = _compose_full if A.ndim == 3 else compose_diagonal
    _, y = jax.lax.associative_scan(compose, (A, c), reverse=reverse)
    return y


def max_abs(x: Array) -> Array:
    """``max |x|``, NaN if any entry is NaN (XLA's CPU reductions may skip NaNs)."""
    a = jnp.abs(x)
    return jnp.where(jnp.isnan(a).any(), jnp.nan, jnp.max(a, initial=0))


def shift_down(h0: Array, H: Array) -> Array:
    """``(h_0, h_1, ..., h_{T-1})`` from ``h_0`` and ``H = (h_1, ..., h_T)``."""
    return jnp.concatenate([h0[None], H[:-1]])


def shift_up(v: Array) -> Array:
    """``(v_2, ..., v_T, 0)``: what step ``t+1`` sends back to step ``t``."""
    return jnp.concatenate([v[1:], jnp.zeros_like(v[:1])])


def _finite(H: Array) -> Array:
    """Non-finite entries restarted from 0.

    Steps past the exact prefix may overflow (products of Jacobians beyond the float
    range, e.g. float32 with large weights); a NaN there would stay (``r_t - h_t = NaN``).
    Restarting them from 0 keeps the guarantee: the exact prefix is finite.
    """
    return jnp.where(jnp.isfinite(H), H, jnp.zeros_like(H))


class Solver:
    """Evaluations of ``f(h, x, *consts)`` over all steps, and the Jacobians it needs."""

    def __init__(self, f: Callable[..., Array], jacobian: str, diag: Callable | None = None):
        self.f = f
        self.jacobian = jacobian
        self.diag = diag  # optional: the diagonal of df/dh in O(D) (the cells give one)

    def values(self, consts: tuple, H_prev: Array, xs: Any) -> Array:
        return jax.vmap(lambda h, x: self.f(h, x, *consts))(H_prev, xs)

    def jacobians(self, consts: tuple, H_prev: Array, xs: Any, jacobian: str) -> Array:
        """``(T, D, D)`` dense Jacobians, or their ``(T, D)`` diagonals."""
        jac = jax.jacfwd(lambda h, x: self.f(h, x, *consts))
        if jacobian == "full":
            return jax.vmap(jac)(H_prev, xs)
        cell_diag = self.diag
        if cell_diag is not None:
            return jax.vmap(lambda h, x: cell_diag(h, x, *consts))(H_prev, xs)
        T, D = H_prev.shape

        def diag(h_x):
            return jnp.diagonal(jac(*h_x))

        if T * D * D <= _DIAG_CHUNK_ENTRIES:
            return jax.vmap(diag)((H_prev, xs))
        return jax.lax.map(diag, (H_prev, xs), batch_size=max(1, _DIAG_CHUNK_ENTRIES // (D * D)))

    def forward(self, consts, h0, xs, init, damping, tol, max_iters):
        """``(H, residual, iterations)``: iterations from ``init`` until the residual
        ``max_t |r_t| <= tol`` or ``max_iters``; Newton, or ELK for ``damping > 0``.

        The state carries ``F_t = f(h_{t-1}, x_t)``; ``r_t = F_t - h_t``.
        """
        t = jnp.arange(init.shape[0])[:, None]

        def keep_going(state):
            H, F, k = state
            return (k < max_iters) & ~(max_abs(F - H) <= tol)

        def newton(state):
            H, F, k = state
            J = self.jacobians(consts, shift_down(h0, H), xs, self.jacobian)
            H = _finite(H + affine_scan(J, F - H))
            return H, self.values(consts, shift_down(h0, H), xs), k + 1

        def elk(state):
            H, F, k = state
            J = self.jacobians(consts, shift_down(h0, H), xs, self.jacobian)
            delta = elk_step(J, F - H, damping, k + 1)
            # The pinned steps as F_t + J_t delta_{t-1} (= h_t + delta_t): no cancellation
            # against a far-off h_t (ELK's steps in an expanding suffix can reach 1e250).
            delta_prev = shift_down(jnp.zeros_like(delta[0]), delta)
            J_delta = jnp.einsum("tij,tj->ti", J, delta_prev) if J.ndim == 3 else J * delta_prev
            H = _finite(jnp.where(t <= k, F + J_delta, H + delta))
            return H, self.values(consts, shift_down(h0, H), xs), k + 1

        step = newton if damping == 0 else elk
        F0 = self.values(consts, shift_down(h0, init), xs)
        H, F, k = jax.lax.while_loop(keep_going, step, (init, F0, jnp.zeros((), jnp.int32)))
        return H, max_abs(F - H), k

    def linear_solves(self, consts, h0, xs, H, tol) -> tuple[Callable, Callable]:
        """``solve(matvec, b)`` and ``transpose_solve(vecmat, b)`` for
        ``jax.lax.custom_linear_solve``: the tangent recurrence ``y_t = J_t y_{t-1} + b_t``
        and the adjoint ``y_t = J_{t+1}^T y_{t+1} + b_t`` (Jacobians at the solution ``H``,
        undamped, computed once for both).

        ``"full"``: one parallel scan with the dense Jacobians. ``"diagonal"``: the exact
        coupling applied matrix-free (``matvec(y) = y - (J_t y_{t-1})_t``, or its
        transpose), iterated with the diagonal as preconditioner,
        ``y <- rec(d, b + (J - d) y^{old})``: exact after at most ``T`` iterations by the
        exactness argument, stopped when the equation's residual is ``<= tol * max|b|``.
        """
        J = self.jacobians(consts, shift_down(h0, H), xs, self.jacobian)
        if self.jacobian == "full":
            J_T = shift_up(jnp.swapaxes(J, -1, -2))
            return (
                lambda _, b: affine_scan(J, b),
                lambda _, b: affine_scan(J_T, b, reverse=True),
            )
        T = H.shape[0]

        def iterate(A, shift, reverse):
            def solve(operator, b):  # operator(y) = y - coupling(y)
                goal = tol * max_abs(b)

                def keep_going(state):
                    _, res, k = state
                    return (k < T) & ~(res <= goal)

                def step(state):
                    y, _, k = state
                    y = affine_scan(A, b + y - operator(y) - A * shift(y), reverse=reverse)
                    return y, max_abs(b - operator(y)), k + 1

                state = (jnp.zeros_like(b), max_abs(b), jnp.zeros((), jnp.int32))
                return jax.lax.while_loop(keep_going, step, state)[0]

            return solve

        down = lambda y: shift_down(jnp.zeros_like(y[0]), y)  # noqa: E731
        return iterate(J, down, False), iterate(shift_up(J), shift_up, True)
