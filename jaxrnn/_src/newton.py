r"""Newton's method over time for one example on a flat state, and its derivatives.

The trajectory ``h_1..h_T`` of ``h_t = f(h_{t-1}, x_t)`` is the root of the T equations
``h_t - f(h_{t-1}, x_t) = 0``. Linearising ``f`` around the current guess ``h`` gives the
Newton step ``delta`` as a *linear* recurrence in the per-step Jacobians
``J_t = \partial f / \partial h_{t-1}`` at ``(h_{t-1}, x_t)``:

.. math::

    \delta_t = J_t \delta_{t-1} + r_t, \qquad \delta_0 = 0, \qquad
    r_t = f(h_{t-1}, x_t) - h_t,

solved for all ``t`` at once by a parallel prefix scan over the affine maps
``\delta \mapsto J_t \delta + r_t`` (``O(log T)`` depth). With ``J`` replaced by any
approximation ``\tilde J`` (its diagonal: quasi-DEER), ``\delta_1 = r_1`` still makes
``h_1`` exact, and once ``h_1..h_{k-1}`` are exact their residuals vanish, so iteration
``k`` makes ``h_k`` exact: at most ``T`` iterations. The damped (ELK) step of
:mod:`jaxrnn._src.elk` keeps this: it follows Newton's recurrence on the first ``k``
steps at iteration ``k``.

Derivatives, by the implicit function theorem: at the solution, a tangent of the
parameters, the inputs or ``h_0`` moves the trajectory by the linear recurrence

.. math::

    dh_t = J_t\, dh_{t-1} + \frac{\partial f}{\partial x} dx_t
      + \frac{\partial f}{\partial \theta} d\theta, \qquad dh_0 \text{ given},

the same recurrence as a Newton step, solved by the same scan (a ``jax.custom_jvp``;
forward mode). Reverse mode is JAX's transpose of it: ``jax.lax.custom_linear_solve``
supplies the transposed solve, the adjoint recurrence backward in time
``\lambda_t = \bar h_t + J_{t+1}^\top \lambda_{t+1}``, and the parameter and input
cotangents come from one transposed ``jvp`` of ``f`` over all steps at once.

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
import numpy as np
from jax.flatten_util import ravel_pytree

from jaxrnn._src.newton_solver import Solver, shift_down


def default_tol(dtype: Any) -> float:
    """The default stopping tolerance: ``eps ** 0.75`` of the state's dtype.

    6.4e-6 for float32 and 1.8e-12 for float64: far enough above rounding that the residual
    reaches it, and close enough that, Newton converging quadratically near the solution,
    the trajectory then agrees with the sequential loop to a few ulps times the
    sensitivity of the recurrence.
    """
    return float(jnp.finfo(dtype).eps) ** 0.75


def make_solve(solver: Solver, damping: float, tol: float, max_iters: int) -> Callable:
    """``solve(consts, h0, xs, init) -> (H, iterations, residual)`` with its implicit JVP.

    The tangent is the linear recurrence ``dH_t = J_t dH_{t-1} + u_t`` at the solution,
    ``u_t`` the step's tangent for the tangents of ``consts``, ``x_t`` (and ``h_0`` at
    ``t = 1``), solved by ``jax.lax.custom_linear_solve`` so that reverse mode transposes
    it into the adjoint recurrence. ``init`` has no effect on the solution: its tangent
    is ignored. ``iterations`` and ``residual`` have zero tangents.
    """

    @jax.custom_jvp
    def solve(consts, h0, xs, init):
        H, res, k = solver.forward(consts, h0, xs, init, damping, tol, max_iters)
        return H, k, res

    @solve.defjvp
    def solve_jvp(primals, tangents):
        consts, h0, xs, init = primals
        d_consts, d_h0, d_xs, _ = tangents
        H, k, res = solve(consts, h0, xs, init)
        H_prev = shift_down(h0, H)
        d_H_prev = shift_down(d_h0, jnp.zeros_like(H))
        _, u = jax.jvp(solver.values, (consts, H_prev, xs), (d_consts, d_H_prev, d_xs))
        _, coupling = jax.linearize(lambda hp: solver.values(consts, hp, xs), H_prev)

        def matvec(y):  # (y_t - J_t y_{t-1})_t
            return y - coupling(shift_down(jnp.zeros_like(y[0]), y))

        solve_y, transpose_solve_y = solver.linear_solves(consts, h0, xs, H, tol)
        dH = jax.lax.custom_linear_solve(matvec, u, solve_y, transpose_solve_y)
        d_k = np.zeros(np.shape(k), jax.dtypes.float0)
        return (H, k, res), (dH, d_k, jnp.zeros_like(res))

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


def newton_sequence(
    step_fn, diag_fn, carry0, xs, mask, *, reverse: bool, jacobian: str, resets=None,
    reset_carry=None,
):  # fmt: skip
    """The scans' ``method="newton"``: padding, resets and ``reverse`` as in the loops.

    ``mask`` is None or ``(T, ..., 1)``. A padding step holds the carry (the mask travels
    as one more input column; its Jacobian is the identity) and its output is zero.
    ``resets`` (None or bool ``(..., T)``, already in the order the steps are taken) makes
    the step read ``reset_carry`` (default ``carry0``) instead of the previous carry: the
    reset flag and that carry (flattened) travel as more input columns, and the Jacobian at
    a reset is zero.
    ``reverse`` runs the recurrence on the time-reversed inputs and flips the carries back.
    Returns ``(carry_T, carries)`` with leaves ``(..., d)`` and ``(..., T, d)``.
    ``diag_fn``: as in :func:`newton_carries`, or None.
    """
    if resets is not None:
        T = xs.shape[-2]
        target = carry0 if reset_carry is None else reset_carry
        flat0 = jax.vmap(lambda c: ravel_pytree(c)[0])(
            _tree_map(lambda a: a.reshape(-1, a.shape[-1]), target)
        )
        _, unravel = ravel_pytree(_tree_map(lambda a: a.reshape(-1, a.shape[-1])[0], target))
        D = flat0.shape[-1]
        c0_cols = jnp.broadcast_to(flat0.reshape(*xs.shape[:-2], 1, D), (*xs.shape[:-2], T, D))
        r_col = resets[..., None].astype(xs.dtype)
        xs = jnp.concatenate([xs, c0_cols.astype(xs.dtype), r_col], axis=-1)
        r_step, r_diag = step_fn, diag_fn

        def step_fn(carry, x_r):
            reset = x_r[-1] > 0
            start = _tree_map(
                lambda c0, c: jnp.where(reset, c0, c), unravel(x_r[-1 - D : -1]), carry
            )
            return r_step(start, x_r[: -1 - D])

        def reset_diag(carry, x_r):
            reset = x_r[-1] > 0
            start = _tree_map(
                lambda c0, c: jnp.where(reset, c0, c), unravel(x_r[-1 - D : -1]), carry
            )
            return _tree_map(lambda a: jnp.where(reset, 0, a), r_diag(start, x_r[: -1 - D]))

        diag_fn = None if r_diag is None else reset_diag
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
