"""ELK damping and forward mode of jaxrnn.newton_scan.

The damped step against a dense float64 NumPy solve of the Levenberg-Marquardt normal
equations; damped results against the sequential scans, also where ELK's steps run far
off; ``jax.jvp`` and ``jax.grad`` against the sequential scans' in float64. Fewer
iterations with damping: ``test_newton_damping.py`` (quasi-ELK only; docs/newton.md).
What a test compares runs under module-level ``jax.jit``s (options static, arrays traced), so
the tests sharing shapes and options share one compiled program.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src.elk import elk_step

STEP_ATOL = 1e-12  # a dense solve of 21 unknowns: measured <= 7e-16
F64_ATOL = 1e-9  # damped: stops just below tol (1.8e-12) x sensitivity; measured <= 2e-13
F32_ATOL = 1e-4  # measured <= 1.2e-5
F64_DERIV_RTOL = 1e-8

B, T, D_IN, D_H = 2, 16, 3, 4
JACOBIANS = ("full", "diagonal")


def _rnn(dtype, gain=1.0, d_h=D_H, t=T, b=B):
    p = jaxrnn.init_rnn_params(jax.random.key(0), D_IN, d_h, 2, dtype=dtype)
    W = jnp.linalg.qr(jax.random.normal(jax.random.key(7), (d_h, d_h)))[0]
    xs = jax.random.normal(jax.random.key(1), (b, t, D_IN), dtype)
    return p._replace(W=(gain * W).astype(dtype)), xs


def _rnn_newton_eager(p, xs, s0=None, **kw):
    s0 = jnp.zeros((*xs.shape[:-2], p.W.shape[0]), xs.dtype) if s0 is None else s0
    return jaxrnn.newton_scan(lambda s, x: jaxrnn.rnn_step(p, s, x)[0], s0, xs, **kw)


_rnn_newton = jax.jit(_rnn_newton_eager, static_argnames=("jacobian", "damping", "tol"))


def _dense_lm_step(J, r, lam, pinned):
    """argmin sum_t |d_t - J_t d_{t-1} - r_t|^2 + lam |d_t|^2 (d_0 = 0), the first
    ``pinned`` steps held to d_t = J_t d_{t-1} + r_t: the normal equations, dense."""
    T, D = r.shape
    d = np.zeros((T, D))
    prev = np.zeros(D)
    for t in range(pinned):
        d[t] = prev = J[t] @ prev + r[t]
    n = T - pinned
    A = np.eye(n * D)
    for t in range(1, n):
        A[t * D : (t + 1) * D, (t - 1) * D : t * D] = -J[pinned + t]
    rhs = r[pinned:].copy()
    if pinned:
        rhs[0] += J[pinned] @ prev
    d[pinned:] = np.linalg.solve(A.T @ A + lam * np.eye(n * D), A.T @ rhs.ravel()).reshape(n, D)
    return d


_elk_step = jax.jit(elk_step, static_argnames="form")  # lam, pinned traced: one program per form


@pytest.mark.parametrize("pinned", [0, 1, 3])
@pytest.mark.parametrize("jacobian", ["full", "diagonal-sequential", "diagonal-associative"])
def test_elk_step_solves_the_normal_equations(x64, jacobian, pinned):
    rng = np.random.default_rng(0)
    J = 1.5 * rng.normal(size=(7, 3, 3))
    r, lam = rng.normal(size=(7, 3)), 0.7
    if jacobian != "full":
        J = np.stack([np.diag(np.diag(j)) for j in J])
    form = jacobian.split("-")[-1] if jacobian != "full" else "platform"
    J_in = jnp.asarray(J) if jacobian == "full" else jnp.asarray(np.diagonal(J, 0, 1, 2))
    got = _elk_step(J_in, jnp.asarray(r), lam, pinned, form=form)
    np.testing.assert_allclose(got, _dense_lm_step(J, r, lam, pinned), atol=STEP_ATOL)


@pytest.mark.parametrize("jacobian", JACOBIANS)
@pytest.mark.parametrize("damping", [1e-4, 1.0])
def test_damped_matches_sequential_float64(x64, jacobian, damping):
    p, xs = _rnn(jnp.float64)
    _, ss, info = _rnn_newton(p, xs, jacobian=jacobian, damping=damping)
    np.testing.assert_allclose(ss, jaxrnn.rnn_scan(p, xs)[1], atol=F64_ATOL, rtol=0)
    its, res = np.asarray(info.iterations), np.asarray(info.residual)
    assert bool((its <= T).all()) and bool((res <= 1.8e-12).all())


@pytest.mark.parametrize("jacobian", JACOBIANS)
def test_damped_matches_sequential_float32(jacobian):
    p, xs = _rnn(jnp.float32)
    _, ss, info = _rnn_newton(p, xs, jacobian=jacobian, damping=1e-2)
    assert ss.dtype == jnp.float32
    np.testing.assert_allclose(ss, jaxrnn.rnn_scan(p, xs)[1], atol=F32_ATOL, rtol=0)


def test_damped_exact_by_the_cap_when_its_steps_run_far_off(x64):
    """An expanding map, ``h + sin``-like: with little damping ELK's steps in the
    unconverged suffix reach ~1e250; the pinned prefix must not lose digits to them
    (it is formed as ``f(h_{t-1}) + J_t delta_{t-1}``, not ``h_t + delta_t``)."""
    xs = 0.5 * jax.random.normal(jax.random.key(1), (1, 120, 2), jnp.float64)

    def step(h, x):
        return 0.9 * h + 0.5 * jnp.sin(3 * h) + x

    def seq(xs):
        return jax.lax.scan(lambda h, x: (step(h, x),) * 2, jnp.zeros(2), xs)[1]

    @jax.jit
    def both(xs):
        _, hs, info = jaxrnn.newton_scan(step, jnp.zeros((1, 2)), xs, damping=1e-8, tol=0.0)
        return hs, info.iterations, jax.vmap(seq)(xs)

    hs, iterations, want = both(xs)
    assert int(iterations[0]) == 120
    np.testing.assert_allclose(hs, want, atol=F64_ATOL, rtol=0)


@pytest.mark.parametrize("damping", [-1.0, float("nan"), float("inf"), True, "1", None])
def test_bad_damping_raises(damping):
    p, xs = _rnn(jnp.float32)
    with pytest.raises(ValueError, match="expected damping to be a finite number >= 0"):
        _rnn_newton_eager(p, xs, damping=damping)


@functools.partial(jax.jit, static_argnames=("jacobian", "damping"))
def _jvp_and_grad(p, xs, s0, w, tangents, jacobian, damping):
    """``(jvp, grad)`` of the carries; ``jacobian=None``: of the sequential scan."""

    def carries(p, xs, s0):
        if jacobian is None:
            return jaxrnn.rnn_scan(p, xs, s0)[:2]
        return _rnn_newton_eager(p, xs, s0, jacobian=jacobian, damping=damping)[:2]

    def loss(*a):
        return (w * carries(*a)[1]).sum() + (carries(*a)[0] ** 2).sum()

    return jax.jvp(carries, (p, xs, s0), tangents), jax.grad(loss, argnums=(0, 1, 2))(p, xs, s0)


@pytest.mark.parametrize("jacobian", JACOBIANS)
@pytest.mark.parametrize("damping", [0.0, 1e-2])
def test_jvp_and_grad_match_sequential(x64, jacobian, damping):
    """Tangents of the closed-over parameters, the inputs and the initial state."""
    p, xs = _rnn(jnp.float64)
    s0 = 0.1 * jnp.ones((B, D_H))
    w = jax.random.normal(jax.random.key(9), (B, T, D_H))
    tangents = jax.tree.map(lambda a: jnp.cos(jnp.arange(a.size).reshape(a.shape)), (p, xs, s0))
    got = _jvp_and_grad(p, xs, s0, w, tangents, jacobian=jacobian, damping=damping)
    want = _jvp_and_grad(p, xs, s0, w, tangents, jacobian=None, damping=None)  # one program
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, r, rtol=F64_DERIV_RTOL, atol=1e-12)


@functools.partial(jax.jit, static_argnames="method")
def _lstm_jvp(p, xs, dp, method):
    return jax.jvp(lambda p: jaxrnn.lstm_scan(p, xs, method=method), (p,), (dp,))


@pytest.mark.parametrize("method", ["newton", "newton-diagonal"])
def test_lstm_scan_newton_jvp(x64, method):
    p = jaxrnn.init_lstm_params(jax.random.key(2), D_IN, D_H, dtype=jnp.float64)
    xs = jax.random.normal(jax.random.key(3), (B, T, D_IN), jnp.float64)
    dp = jax.tree.map(jnp.ones_like, p)
    got = _lstm_jvp(p, xs, dp, method)
    want = _lstm_jvp(p, xs, dp, "sequential")  # one program for both methods
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, r, rtol=F64_DERIV_RTOL, atol=1e-12)
