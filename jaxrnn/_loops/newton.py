r"""The Newton solver for one example, on flat state vectors, with its implicit adjoint.

The trajectory ``h_1..h_T`` of ``h_t = f(h_{t-1}, x_t)`` is the root of the T equations
``h_t - f(h_{t-1}, x_t) = 0``. Linearising ``f`` around the current guess ``h`` gives the
Newton step ``delta`` as a *linear* recurrence in the per-step Jacobians
``J_t = \partial f / \partial h_{t-1}`` at ``(h_{t-1}, x_t)``:

.. math::

    \delta_t = J_t \delta_{t-1} + r_t, \qquad \delta_0 = 0, \qquad
    r_t = f(h_{t-1}, x_t) - h_t,

solved for all ``t`` at once by a parallel prefix scan over the affine maps
``\delta \mapsto J_t \delta + r_t`` (``O(log T)`` depth). With ``J`` replaced by any
approximation ``\tilde J`` (its diagonal: quasi-DEER; ``J / (1 + \lambda)``: damping),
``\delta_1 = r_1`` still makes ``h_1`` exact, and once ``h_1..h_{k-1}`` are exact their
residuals vanish, so iteration ``k`` makes ``h_k`` exact: at most ``T`` iterations.

The adjoint (gradient) of the solution is, by implicit differentiation, the linear
recurrence backward in time with the transposed Jacobians,
``\lambda_t = \bar h_t + J_{t+1}^\top \lambda_{t+1}``, solved by the same scan; the
parameter and input cotangents are then one ``vjp`` of ``f`` over all steps at once.

Used by :func:`jaxrnn.newton_scan` (the public, checked entry point) and by the scans'
``method="newton"``. The batch is vmapped over the per-example solver, so each example
stops on its own residual (and reports its own iteration count).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from jaxrnn._loops.linear import compose as compose_diagonal
from jaxrnn._typing import Array


def default_tol(dtype: Any) -> float:
    """The default stopping tolerance: ``eps ** 0.75`` of the state's dtype.

    6.4e-6 for float32 and 1.8e-12 for float64: far enough above rounding that the residual
    reaches it, and close enough that, Newton converging quadratically near the solution,
    the trajectory then agrees with the sequential loop to a few ulps times the
    sensitivity of the recurrence.
    """
    return float(jnp.finfo(dtype).eps) ** 0.75


# Above this many Jacobian entries per example, the diagonal is computed in time chunks
# so that the dense per-step Jacobians never exist for the whole sequence at once.
_DIAG_CHUNK_ENTRIES = 1 << 22


def _compose_full(a: tuple[Array, Array], b: tuple[Array, Array]) -> tuple[Array, Array]:
    """``b`` after ``a`` for affine maps ``x -> A x + c`` with dense ``A``."""
    A_a, c_a = a
    A_b, c_b = b
    return A_b @ A_a, jnp.einsum("...ij,...j->...i", A_b, c_a) + c_b


def linear_recurrence(A: Array, c: Array, *, reverse: bool = False) -> Array:
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


def _shift_down(h0: Array, H: Array) -> Array:
    """``(h_0, h_1, ..., h_{T-1})`` from ``h_0`` and ``H = (h_1, ..., h_T)``."""
    return jnp.concatenate([h0[None], H[:-1]])


def _shift_up(v: Array) -> Array:
    """``(v_2, ..., v_T, 0)``: what step ``t+1`` sends back to step ``t``."""
    return jnp.concatenate([v[1:], jnp.zeros_like(v[:1])])


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

    def residual(self, consts: tuple, h0: Array, H: Array, xs: Any) -> Array:
        """``max_t ||f(h_{t-1}, x_t) - h_t||_inf`` (NaN counts as not converged)."""
        return max_abs(self.values(consts, _shift_down(h0, H), xs) - H)

    def forward(self, consts, h0, xs, init, damping, tol, max_iters):
        """Newton iterations from ``init`` until the residual is ``<= tol`` or the cap."""
        scale = 1.0 / (1.0 + damping)

        def keep_going(state):
            _, res, k = state
            return (k < max_iters) & ~(res <= tol)

        def newton_step(state):
            H, _, k = state
            # Steps past the exact prefix may have overflowed (products of Jacobians
            # larger than the float range, e.g. float32 with large weights); a NaN there
            # would stay (r_t - h_t = NaN). Restarting them from 0 keeps the guarantee.
            H = jnp.where(jnp.isfinite(H), H, jnp.zeros_like(H))
            H_prev = _shift_down(h0, H)
            r = self.values(consts, H_prev, xs) - H
            J = self.jacobians(consts, H_prev, xs, self.jacobian)
            J = J if damping == 0 else J * jnp.asarray(scale, J.dtype)
            H = H + linear_recurrence(J, r)
            return H, self.residual(consts, h0, H, xs), k + 1

        res0 = self.residual(consts, h0, init, xs)
        state = (init, res0, jnp.zeros((), jnp.int32))
        return jax.lax.while_loop(keep_going, newton_step, state)

    def adjoint(self, consts, h0, xs, H, H_bar, tol):
        """``lambda_t = H_bar_t + J_{t+1}^T lambda_{t+1}``, exactly (``J`` undamped)."""
        H_prev = _shift_down(h0, H)
        _, vjp = jax.vjp(lambda c, hp, x: self.values(c, hp, x), consts, H_prev, xs)
        if self.jacobian == "full":
            J_T = jnp.swapaxes(self.jacobians(consts, H_prev, xs, "full"), -1, -2)
            return linear_recurrence(_shift_up(J_T), H_bar, reverse=True), vjp
        # Quasi-Newton on the (linear) adjoint equation, the diagonal as preconditioner:
        # lambda_t = H_bar_t + d_{t+1} lambda_{t+1} + (J_{t+1}^T - d_{t+1}) lambda_{t+1}^old.
        # Exact after at most T iterations by the same argument as the forward pass.
        d = self.jacobians(consts, H_prev, xs, "diagonal")
        A = _shift_up(d)
        T = H.shape[0]
        goal = tol * max_abs(H_bar)

        def sent_back(lam):  # (J_{t+1}^T lambda_{t+1})_t
            return _shift_up(vjp(lam)[1])

        def keep_going(state):
            _, _, res, k = state
            return (k < T) & ~(res <= goal)

        def step(state):
            lam, back, _, k = state
            lam = linear_recurrence(A, H_bar + back - A * _shift_up(lam), reverse=True)
            back = sent_back(lam)
            return lam, back, max_abs(H_bar + back - lam), k + 1

        zero = jnp.zeros_like(H_bar)
        state = (zero, zero, max_abs(H_bar), jnp.zeros((), jnp.int32))
        return jax.lax.while_loop(keep_going, step, state)[0], vjp


def make_solve(solver: Solver, damping: float, tol: float, max_iters: int) -> Callable:
    """``solve(consts, h0, xs, init) -> (H, iterations, residual)`` with an implicit VJP.

    ``init`` gets a zero cotangent: the solution does not depend on the starting guess.
    """

    @jax.custom_vjp
    def solve(consts, h0, xs, init):
        H, res, k = solver.forward(consts, h0, xs, init, damping, tol, max_iters)
        return H, k, res

    def solve_fwd(consts, h0, xs, init):
        out = solve(consts, h0, xs, init)
        return out, (consts, h0, xs, out[0])

    def solve_bwd(saved, cotangents):
        consts, h0, xs, H = saved
        lam, vjp = solver.adjoint(consts, h0, xs, H, cotangents[0], tol)
        consts_bar, H_prev_bar, xs_bar = vjp(lam)
        return consts_bar, H_prev_bar[0], xs_bar, jnp.zeros_like(H)  # init: same shape

    solve.defvjp(solve_fwd, solve_bwd)
    return solve


def _tree_map(fn, *trees):
    return jax.tree_util.tree_map(fn, *trees)


def newton_carries(step_fn, carry0, xs, init, *, jacobian, damping, tol, max_iters, diag_fn=None):
    """Every carry of ``step_fn`` over ``xs`` (``(..., T, d_in)``, ``T >= 1``), checked inputs.

    The carry pytree of each example is flattened into one vector (``ravel_pytree``), the
    solver vmapped over the flattened batch, and the results unflattened. ``step_fn`` is
    closure-converted so that gradients reach what it closes over. ``diag_fn(carry, x_t)``
    (optional, carry-shaped) is the diagonal of ``d step_fn / d carry``, used by
    ``"diagonal"`` instead of ``D`` forward-mode products. Returns ``(carry_T, carries,
    iterations, residual)``, the last two of shape ``xs.shape[:-2]``.
    """
    batch, T = tuple(xs.shape[:-2]), xs.shape[-2]
    n = math.prod(batch)
    flat = _tree_map(lambda a: a.reshape(n, a.shape[-1]), carry0)
    h0, unravel = ravel_pytree(_tree_map(lambda a: a[0], flat))
    H0 = jax.vmap(lambda c: ravel_pytree(c)[0])(flat)  # (n, D)

    def f_and_diag(h, x_t):
        def flat(fn):
            return ravel_pytree(fn(unravel(h), x_t))[0].astype(h.dtype)

        return flat(step_fn), None if diag_fn is None else flat(diag_fn)

    xs_n = xs.reshape(n, T, xs.shape[-1])
    if init is None:  # the initial carry at every step
        init_n = jnp.broadcast_to(H0[:, None], (n, T, h0.shape[0]))
    else:
        init_n = _tree_map(lambda a: a.reshape(n, T, a.shape[-1]), init)
        init_n = jax.vmap(jax.vmap(lambda c: ravel_pytree(c)[0]))(init_n).astype(h0.dtype)
    both, consts = jax.closure_convert(f_and_diag, h0, xs_n[0, 0])
    diag = None if diag_fn is None else (lambda h, x, *c: both(h, x, *c)[1])
    solver = Solver(lambda h, x, *c: both(h, x, *c)[0], jacobian, diag)
    tol = default_tol(h0.dtype) if tol is None else tol
    cap = T if max_iters is None else min(max_iters, T)
    solve = make_solve(solver, damping, tol, cap)
    H, k, res = jax.vmap(solve, in_axes=(None, 0, 0, 0))(tuple(consts), H0, xs_n, init_n)
    carries = _tree_map(lambda a: a.reshape(*batch, T, a.shape[-1]), jax.vmap(jax.vmap(unravel))(H))
    carry_T = _tree_map(lambda a: a[..., -1, :], carries)
    return carry_T, carries, k.reshape(batch), res.reshape(batch)


def newton_sequence(step_fn, diag_fn, carry0, xs, mask, *, reverse: bool, jacobian: str):
    """The scans' ``method="newton"``: padding and ``reverse`` as in the sequential loops.

    ``mask`` is None or ``(T, ..., 1)`` (``jaxrnn._checks.valid_mask``). A padding step
    holds the carry (the mask travels as one more input column; its Jacobian is the
    identity) and its output is zero; ``reverse`` runs the recurrence on the time-reversed
    inputs and flips the carries back. Returns ``(carry_T, carries)`` with leaves
    ``(..., d)`` and ``(..., T, d)``. ``diag_fn``: as in :func:`newton_carries`, or None.
    """
    if mask is not None:
        m = jnp.moveaxis(mask, 0, -2).astype(xs.dtype)  # (..., T, 1)
        xs = jnp.concatenate([xs, m], axis=-1)
        step, diag = step_fn, diag_fn

        def step_fn(carry, x_m):
            valid = x_m[-1] > 0
            return _tree_map(lambda a, b: jnp.where(valid, a, b), step(carry, x_m[:-1]), carry)

        def masked_diag(carry, x_m):
            valid = x_m[-1] > 0
            return _tree_map(lambda a: jnp.where(valid, a, 1), diag(carry, x_m[:-1]))

        diag_fn = None if diag is None else masked_diag

    if reverse:
        xs = jnp.flip(xs, axis=-2)
    carry_T, carries, _, _ = newton_carries(
        step_fn,
        carry0,
        xs,
        None,
        jacobian=jacobian,
        damping=0.0,
        tol=None,
        max_iters=None,
        diag_fn=diag_fn,
    )
    if reverse:
        carries = _tree_map(lambda a: jnp.flip(a, axis=-2), carries)
    if mask is not None:
        carries = _tree_map(lambda a: jnp.where(m > 0, a, jnp.zeros_like(a)), carries)
    return carry_T, carries
