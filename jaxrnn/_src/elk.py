r"""The ELK step: Levenberg-Marquardt on Newton's linearisation, as a Kalman smoother.

ELK (Gonzalez et al., NeurIPS 2024) damps the Newton step of :mod:`jaxrnn._src.newton`.
At the iterate ``h`` with residuals ``r_t = f(h_{t-1}, x_t) - h_t`` and Jacobians ``J_t``,
the update ``\delta`` minimises the linearised merit plus a trust-region penalty:

.. math::

    \min_\delta \sum_{t=1}^T \frac{1}{q_t}\|\delta_t - J_t \delta_{t-1} - r_t\|^2
      + \lambda \|\delta_t\|^2, \qquad \delta_0 = 0.

With ``q_t = 1`` this is the Levenberg-Marquardt step on ``\tfrac12 \sum_t \|r_t\|^2``:
the normal equations ``(A^\top A + \lambda I)\delta = A^\top r``, ``A`` the block
bidiagonal ``(A\delta)_t = \delta_t - J_t \delta_{t-1}``. It is the posterior mean of a
linear-Gaussian state-space model: dynamics ``\delta_t = J_t \delta_{t-1} + r_t + w_t``
with process noise ``w_t \sim N(0, q_t I)``, and the observation ``0 = \delta_t + v_t``
with ``v_t \sim N(0, I/\lambda)``. A Kalman filter and a Rauch-Tung-Striebel smoother
compute it in ``O(T)``. ``\lambda \to 0`` is the Newton step, ``\lambda \to \infty``
shrinks it to ``A^\top r / \lambda``.

``q_t = 0`` pins step ``t`` to the Newton recurrence ``\delta_t = J_t \delta_{t-1} + r_t``
(zero variance: the smoother leaves it alone). The solver pins the first ``k + 1`` steps at
iteration ``k + 1``, so that, as for undamped Newton, iteration ``k`` makes ``h_k`` exact
and ``T`` iterations always suffice; ELK's damping acts on the unconverged rest.

Forms. With diagonal Jacobians (quasi-ELK) every quantity is a scalar per dimension. The
filter's variance obeys the Riccati recursion

.. math::

    P^-_t = a_t^2 P_{t-1} + q_t, \qquad P_t = \frac{P^-_t}{1 + \lambda P^-_t},

a Möbius map of ``P_{t-1}`` with the non-negative matrix
``[[a_t^2, q_t], [\lambda a_t^2, 1 + \lambda q_t]]``; its prefix products (normalised, no
cancellation: all entries are non-negative) give every ``P_t`` in one associative scan.
The mean ``m_t = (a_t m_{t-1} + r_t) / (1 + \lambda P^-_t)`` and the smoother
``s_t = m_t + G_t (s_{t+1} - a_{t+1} m_t - r_{t+1})``, ``G_t = P_t a_{t+1} / P^-_{t+1}``,
are elementwise linear recurrences (:mod:`jaxrnn._src.linear`). On CPU the Riccati
recursion is a sequential ``lax.scan`` instead (``jax.lax.platform_dependent``), as the
linear recurrences are. With dense Jacobians the filter and smoother are one sequential
``lax.scan`` each, with ``D x D`` covariances (``O(T D^3)`` work, ``T D^2`` memory).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._src.linear import linear_scan as elementwise_recurrence
from jaxrnn._src.typing import Array


def process_noise(T: int, pinned: Array, dtype) -> Array:
    """``q_t``: 0 for the first ``pinned`` steps (Newton's recurrence), 1 after."""
    return (jnp.arange(T) >= pinned).astype(dtype)


def _riccati_sequential(a2: Array, q: Array, lam: Array) -> Array:
    def step(P, a2_q):
        a2_t, q_t = a2_q
        P_minus = a2_t * P + q_t
        P = P_minus / (1 + lam * P_minus)
        return P, P

    return jax.lax.scan(step, jnp.zeros_like(a2[0]), (a2, q))[1]


def _compose_mobius(earlier, later):
    """``later @ earlier`` of 2x2 matrices stored entrywise, scaled to a largest entry of 1."""
    a, b, c, d = earlier
    e, f, g, h = later
    out = (e * a + f * c, e * b + f * d, g * a + h * c, g * b + h * d)
    scale = jnp.maximum(jnp.maximum(out[0], out[1]), jnp.maximum(out[2], out[3]))
    scale = jnp.where(scale > 0, scale, 1)
    return tuple(x / scale for x in out)


def _riccati_associative(a2: Array, q: Array, lam: Array) -> Array:
    ones = jnp.ones_like(a2)
    M = (a2, q * ones, lam * a2, 1 + lam * q * ones)
    _, P_num, _, P_den = jax.lax.associative_scan(_compose_mobius, M)
    return P_num / P_den  # the prefix product applied to (P_0, 1) = (0, 1)


def _riccati_platform(a2: Array, q: Array, lam: Array) -> Array:
    return jax.lax.platform_dependent(
        a2, q, lam, cpu=_riccati_sequential, default=_riccati_associative
    )


_RICCATI = {
    "sequential": _riccati_sequential,
    "associative": _riccati_associative,
    "platform": _riccati_platform,
}


def _smoother_gain(P: Array, a_next: Array, P_minus_next: Array) -> Array:
    """``G_t = P_t a_{t+1} / P^-_{t+1}`` (0 where step ``t+1`` is pinned: ``P^-_{t+1} = 0``)."""
    safe = jnp.where(P_minus_next > 0, P_minus_next, 1)
    return jnp.where(P_minus_next > 0, P * a_next / safe, 0)


def _pinned_to_filter(q: Array, m: Array, s: Array) -> Array:
    """The smoothed ``s_t``, except the filter's ``m_t`` (Newton's) on pinned steps.

    Their smoother gain is 0, but ``0 * inf = NaN``: an overflow in the unconverged
    suffix must not reach the exact prefix.
    """
    return jnp.where((q == 0)[:, None], m, s)


def elk_step_diagonal(a: Array, r: Array, lam: Array, q: Array, form: str = "platform") -> Array:
    """The ELK step ``delta`` (``(T, D)``) for diagonal Jacobians ``a`` and residuals ``r``.

    ``lam > 0`` (a scalar), ``q`` of shape ``(T,)`` (:func:`process_noise`). ``form``:
    ``"platform"`` (sequential on CPU, associative elsewhere), ``"sequential"`` or
    ``"associative"``, for the Riccati recursion and the linear recurrences alike.
    """
    q = q[:, None].astype(a.dtype)
    lam = jnp.asarray(lam, a.dtype)
    a2 = a * a
    P = _RICCATI[form](a2, q, lam)
    P_prev = jnp.concatenate([jnp.zeros_like(P[:1]), P[:-1]])
    c = 1 / (1 + lam * (a2 * P_prev + q))  # 1 / (1 + lam P^-_t)
    zero = jnp.zeros_like(r[0])
    _, m = elementwise_recurrence(c * a, c * r, zero, form=form)
    a_next = jnp.concatenate([a[1:], jnp.zeros_like(a[:1])])
    r_next = jnp.concatenate([r[1:], jnp.zeros_like(r[:1])])
    P_minus_next = jnp.concatenate([(a2 * P_prev + q)[1:], jnp.zeros_like(q[:1] * P[:1])])
    G = _smoother_gain(P, a_next, P_minus_next)
    _, s = elementwise_recurrence(G, m - G * (a_next * m + r_next), zero, reverse=True, form=form)
    return _pinned_to_filter(q[:, 0], m, s)


def _filter_full(J: Array, r: Array, lam: Array, q: Array):
    eye = jnp.eye(J.shape[-1], dtype=J.dtype)

    def step(m_P, inputs):
        m, P = m_P
        J_t, r_t, q_t = inputs
        m_minus = J_t @ m + r_t
        P_minus = J_t @ P @ J_t.T + q_t * eye
        both = jnp.linalg.solve(eye + lam * P_minus, jnp.column_stack([m_minus, P_minus]))
        m, P = both[:, 0], both[:, 1:]
        P = (P + P.T) / 2
        return (m, P), (m, P, P_minus)

    m0 = jnp.zeros_like(r[0])
    return jax.lax.scan(step, (m0, jnp.zeros_like(J[0])), (J, r, q))[1]


def elk_step_full(J: Array, r: Array, lam: Array, q: Array) -> Array:
    """The ELK step ``delta`` (``(T, D)``) for dense Jacobians ``J`` (``(T, D, D)``).

    Sequential: a Kalman filter and an RTS smoother, one ``lax.scan`` each.
    """
    q = q.astype(J.dtype)
    lam = jnp.asarray(lam, J.dtype)
    m, P, P_minus = _filter_full(J, r, lam, q)
    eye = jnp.eye(J.shape[-1], dtype=J.dtype)

    def back(s_next, inputs):  # s_t = m_t + G_t (s_{t+1} - J_{t+1} m_t - r_{t+1})
        m_t, P_t, J_next, r_next, P_minus_next, q_next = inputs
        # G_t^T = (P^-_{t+1})^{-1} J_{t+1} P_t; a pinned step t+1 has P_t = P^-_{t+1} = 0
        pinned = q_next == 0
        G_T = jnp.linalg.solve(jnp.where(pinned, eye, P_minus_next), J_next @ P_t)
        s_t = m_t + G_T.T @ (s_next - J_next @ m_t - r_next)
        return s_t, s_t

    after = (J[1:], r[1:], P_minus[1:], q[1:])
    inputs = (m[:-1], P[:-1], *after)
    _, s = jax.lax.scan(back, m[-1], inputs, reverse=True)
    return _pinned_to_filter(q, m, jnp.concatenate([s, m[-1:]]))


def elk_step(J: Array, r: Array, lam: Array, pinned: Array, form: str = "platform") -> Array:
    """The ELK step for dense (``(T, D, D)``) or diagonal (``(T, D)``) Jacobians ``J``.

    The first ``pinned`` steps follow Newton's recurrence (``q_t = 0``), the rest the
    damped problem (``q_t = 1``) with ``lam > 0``.
    """
    q = process_noise(r.shape[0], pinned, r.dtype)
    if J.ndim == 3:
        return elk_step_full(J, r, lam, q)
    return elk_step_diagonal(J, r, lam, q, form)
