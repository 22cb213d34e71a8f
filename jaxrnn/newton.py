r"""Any recurrence ``carry_t = step_fn(carry_{t-1}, x_t)`` evaluated in parallel over time.

DEER (Lim et al., ICLR 2024), quasi-DEER and ELK (Gonzalez et al., NeurIPS 2024): the
whole trajectory is the root of ``h_t - f(h_{t-1}, x_t) = 0, t = 1..T``; each Newton
iteration is a linear recurrence in the per-step Jacobians, solved by a parallel prefix
scan. The derivation, the exactness argument and the adjoint are in
:mod:`jaxrnn._src.newton`; measurements are in ``docs/newton.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.newton import default_tol, newton_carries
from jaxrnn._src.typing import Array, Float, Int

JACOBIANS = ("full", "diagonal")


class NewtonInfo(NamedTuple):
    """How the Newton iterations ended, per batch element.

    Attributes:
        iterations: Newton iterations taken, shape ``xs.shape[:-2]`` (int32); at most
            ``max_iters``, which defaults to (and is capped at) ``T``.
        residual: ``max_t ||carry_t - step_fn(carry_{t-1}, x_t)||_inf`` of the returned
            trajectory (the carry flattened), shape ``xs.shape[:-2]``.
    """

    iterations: Int[Array, "..."]
    residual: Float[Array, "..."]


def _check_number(value: Any, name: str, where: str, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ValueError(f"{where}: expected {name} to be a number >= {minimum}, got {value!r}")
    return float(value)


def _check_damping(value: Any, where: str) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise ValueError(f"{where}: expected damping to be a finite number >= 0, got {value!r}")
    return float(value)


def _check_tree(tree: Any, shapes: list[tuple[int, ...]], name: str, where: str, want: str):
    leaves = jax.tree_util.tree_leaves(tree)
    got = [tuple(getattr(leaf, "shape", ())) for leaf in leaves]
    if got != shapes or not all(jnp.issubdtype(jnp.result_type(x), jnp.floating) for x in leaves):
        raise ValueError(
            f"{where}: expected {name} to be a pytree like carry0 of floating arrays with "
            f"shapes {shapes} {want}, got {got}"
        )


def newton_scan(
    step_fn: Callable[[Any, Any], Any],
    carry0: Any,
    xs: Float[Array, "... T d_in"],
    *,
    jacobian: str = "full",
    damping: float = 0.0,
    tol: float | None = None,
    max_iters: int | None = None,
    init: Any = None,
) -> tuple[Any, Any, NewtonInfo]:
    r"""Evaluate ``carry_t = step_fn(carry_{t-1}, x_t)`` for all ``t`` by Newton's method.

    .. math::

        h^{(k+1)} = h^{(k)} + \delta, \qquad
        \delta_t = \tilde J_t \delta_{t-1} + f(h^{(k)}_{t-1}, x_t) - h^{(k)}_t, \qquad
        \tilde J_t = \Big[\frac{\partial f}{\partial h}(h^{(k)}_{t-1}, x_t)
          \Big]_{\text{full or diag}}

    where ``h_t`` is the carry flattened into one vector (``D`` entries). Each iteration
    solves its linear recurrence with one ``jax.lax.associative_scan``. Iterations stop
    when the residual ``max_t ||h_t - f(h_{t-1}, x_t)||_inf <= tol``, or after
    ``max_iters``. After ``k`` iterations the first ``k`` steps are exact whatever
    ``jacobian`` and ``damping``, so the default cap of ``T`` iterations always ends at
    the sequential result.

    ``damping = lambda > 0`` (ELK, Gonzalez et al. 2024) replaces the Newton step by the
    Levenberg-Marquardt step on the merit ``1/2 sum_t ||h_t - f(h_{t-1}, x_t)||^2``:

    .. math::

        \delta = \arg\min_\delta \sum_{t > k+1}
          \|\delta_t - \tilde J_t \delta_{t-1} - r_t\|^2 + \lambda \|\delta_t\|^2,

    with ``delta_t`` on the first ``k + 1`` steps of iteration ``k + 1`` given by the
    Newton recurrence above (so the exact prefix still grows by one step per iteration
    and the cap of ``T`` still holds). ``lambda`` is fixed; it bounds the step where the
    linearised dynamics expand, ``lambda -> 0`` is Newton and a large ``lambda`` advances
    little more than the exact prefix. The step is the mean of a Kalman smoother: with
    ``"diagonal"``, per dimension, by parallel scans on accelerators and sequential scans
    on CPU; with ``"full"``, a sequential Kalman filter and RTS smoother over ``T``
    steps with ``D x D`` covariances (``O(T D^3)`` work, not parallel in time).

    Derivatives, forward and reverse mode, are exact at the solution, by implicit
    differentiation: the tangent is the linear recurrence ``dh_t = J_t dh_{t-1} + u_t``
    with the (undamped) Jacobians at the solution, ``u_t`` the step's tangent for the
    tangents of ``x_t``, of what ``step_fn`` closes over and (``t = 1``) of ``carry0``;
    reverse mode is its transpose, the adjoint recurrence backward in time. Both are
    solved by the same scan (``"diagonal"``: iterated with the diagonal as
    preconditioner and the exact Jacobian products, capped at ``T``). Closed-over values
    are made explicit with ``jax.closure_convert``; ``init`` gets no derivative and
    :class:`NewtonInfo` zero tangents.

    Memory per example: ``T·D²`` for ``"full"`` (the Jacobians, and ``D³`` work per step
    in the scan), ``T·D`` for ``"diagonal"``.

    Args:
        step_fn: ``step_fn(carry, x_t) -> carry`` for ONE example: ``carry`` a pytree of
            ``(d,)`` arrays, ``x_t`` of shape ``(d_in,)``. It is vmapped over time and the
            batch axes (functions written for leading batch axes work unchanged).
        carry0: the initial carry, a pytree of ``(..., d)`` arrays (batch axes of ``xs``).
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        jacobian: ``"full"`` (DEER: dense Jacobians, quadratic convergence) or
            ``"diagonal"`` (quasi-DEER: their diagonals; more iterations, far cheaper).
        damping: ``lambda >= 0`` above (a finite number); 0 is plain Newton.
        tol: residual at which to stop; ``None``: :func:`default_tol` of the carry's dtype
            (6.4e-6 float32, 1.8e-12 float64).
        max_iters: cap on the iterations (an int >= 0); ``None`` or more than ``T``
            means ``T``. Below ``T`` the result is exact only if the residual met ``tol``.
        init: a starting trajectory (warm start, e.g. the previous training step's
            ``carries``), a pytree like ``carry0`` with leaves ``(..., T, d)``; default:
            ``carry0`` at every step.

    Returns:
        ``(carry_T, carries, info)``: the final carry (leaves ``(..., d)``), all carries
        (leaves ``(..., T, d)``) and a :class:`NewtonInfo` per batch element.

    Raises:
        TypeError: ``step_fn`` not callable, or its output not shaped like ``carry0``.
        ValueError: a bad ``jacobian``, ``damping``, ``tol``, ``max_iters`` or shapes.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> W = 0.5 * jnp.eye(3)
        >>> step = lambda h, x: jnp.tanh(W @ h + x)
        >>> xs = jnp.ones((2, 50, 3))                       # (B, T, d_in)
        >>> h_T, hs, info = jaxrnn.newton_scan(step, jnp.zeros((2, 3)), xs)
        >>> hs.shape, info.iterations.shape, bool((info.iterations < 50).all())
        ((2, 50, 3), (2,), True)
    """
    where = "newton_scan"
    if not callable(step_fn):
        raise TypeError(f"{where}: expected step_fn to be callable, got {type(step_fn).__name__}")
    if jacobian not in JACOBIANS:
        raise ValueError(f"{where}: expected jacobian to be one of {JACOBIANS}, got {jacobian!r}")
    damping = _check_damping(damping, where)
    if tol is not None:
        tol = _check_number(tol, "tol", where, minimum=0.0)
    if max_iters is not None and (
        isinstance(max_iters, bool) or not isinstance(max_iters, int) or max_iters < 0
    ):
        raise ValueError(f"{where}: expected max_iters to be None or an int >= 0, got {max_iters}")
    xs = jnp.asarray(xs)
    if xs.ndim < 2 or not jnp.issubdtype(xs.dtype, jnp.floating):
        raise ValueError(
            f"{where}: expected xs to be a floating array of shape (..., T, d_in), got "
            f"shape {tuple(xs.shape)} and dtype {xs.dtype}"
        )
    batch, T = tuple(xs.shape[:-2]), xs.shape[-2]
    leaves = jax.tree_util.tree_leaves(carry0)
    if not leaves:
        raise ValueError(f"{where}: expected carry0 to hold at least one array, got {carry0!r}")
    d_s: list[Any] = [getattr(leaf, "shape", (None,))[-1] if getattr(leaf, "ndim", 0) else None
                      for leaf in leaves]  # fmt: skip
    _check_tree(carry0, [(*batch, d) for d in d_s], "carry0", where, "(batch axes of xs, then d)")
    if init is not None:
        _check_tree(init, [(*batch, T, d) for d in d_s], "init", where, "(..., T, d)")
    _check_step_output(step_fn, carry0, xs)
    if T == 0:
        carries = jax.tree_util.tree_map(lambda a: jnp.zeros((*batch, 0, a.shape[-1]), a.dtype),
                                         carry0)  # fmt: skip
        dtype = jnp.result_type(*leaves)
        return carry0, carries, NewtonInfo(jnp.zeros(batch, jnp.int32), jnp.zeros(batch, dtype))
    carry_T, carries, k, res = newton_carries(
        step_fn, carry0, xs, init, jacobian=jacobian, damping=damping, tol=tol,
        max_iters=max_iters,
    )  # fmt: skip
    return carry_T, carries, NewtonInfo(k, res)


def _check_step_output(step_fn: Callable, carry0: Any, xs: Array) -> None:
    """``step_fn`` must map one example's carry to a carry of the same structure and shapes."""
    one = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape[-1:], a.dtype), carry0)
    x_t = jax.ShapeDtypeStruct(xs.shape[-1:], xs.dtype)
    out = jax.eval_shape(step_fn, one, x_t)
    shapes = jax.tree_util.tree_map(lambda a: a.shape, one)
    if jax.tree_util.tree_map(lambda a: getattr(a, "shape", None), out) != shapes:
        raise TypeError(
            f"newton_scan: expected step_fn(carry, x_t) to return a carry shaped like carry0 "
            f"(one example: {shapes}), got {jax.tree_util.tree_map(jnp.shape, out)}"
        )


__all__ = ["NewtonInfo", "default_tol", "newton_scan"]
