"""jaxrnn.newton_scan (DEER / quasi-DEER / damped Newton over time) against the sequential scans.

Tiny sizes; every comparison is with the library's sequential scans (themselves checked
against tests/reference.py) on the same parameters. The Newton solves run under one
module-level ``jax.jit`` per helper (options static, parameters and inputs traced), so the
tests sharing shapes and options share one compiled program.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

F64_ATOL = 1e-10  # measured <= 3e-12 (contracting and random weights)
F32_ATOL = 1e-4  # measured <= 6e-6 ("diagonal" stops at tol = 6.4e-6, linearly convergent)
F64_GRAD_RTOL = 1e-8
F32_GRAD_RTOL = 2e-3
CHAOS_ATOL = 1e-6  # large weights amplify rounding in both loops alike: measured 5e-8

B, T, D_IN, D_H = 2, 16, 3, 4
JACOBIANS = ("full", "diagonal")


def _rnn(dtype, gain=1.0, seed=0):
    p = jaxrnn.init_rnn_params(jax.random.key(seed), D_IN, D_H, 2)
    p = jax.tree.map(lambda a: a.astype(dtype), p)
    xs = jax.random.normal(jax.random.key(seed + 1), (B, T, D_IN), dtype)
    return p._replace(W=gain * p.W), xs


def _lstm(dtype, trained_like=False):
    p = jaxrnn.init_lstm_params(jax.random.key(2), D_IN, D_H)
    p = jax.tree.map(lambda a: a.astype(dtype), p)
    if trained_like:  # long memory: forget gate open, recurrent weights contracting
        p = p._replace(f=p.f._replace(b=p.f.b + 3.0))
        p = jax.tree.map(lambda a: 0.5 * a if a.ndim == 2 else a, p)
    xs = jax.random.normal(jax.random.key(3), (B, T, D_IN), dtype)
    return p, xs


def _rnn_newton_eager(p, xs, s0=None, **kw):
    s0 = jnp.zeros((*xs.shape[:-2], D_H), xs.dtype) if s0 is None else s0
    return jaxrnn.newton_scan(lambda s, x: jaxrnn.rnn_step(p, s, x)[0], s0, xs, **kw)


_OPTIONS = ("jacobian", "damping", "tol", "max_iters")
_rnn_newton_jit = jax.jit(_rnn_newton_eager, static_argnames=_OPTIONS)


def _rnn_newton(
    p, xs, s0=None, *, jacobian="full", damping=0.0, tol=None, max_iters=None, init=None
):
    """``_rnn_newton_eager`` under one jit, every option passed (defaults too): calls that
    leave an option at its default share the program of calls that name it."""
    kw = dict(jacobian=jacobian, damping=damping, tol=tol, max_iters=max_iters)
    return _rnn_newton_jit(p, xs, s0, init=init, **kw)


@functools.partial(jax.jit, static_argnames=_OPTIONS)
def _lstm_newton(p, xs, **kw):
    z = jnp.zeros((*xs.shape[:-2], D_H), xs.dtype)
    step = lambda c, x: jaxrnn.lstm_step(p, c, x)[0]  # noqa: E731
    return jaxrnn.newton_scan(step, jaxrnn.LSTMState(h=z, C=z), xs, **kw)


def _max_err(a, b):
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


@pytest.mark.parametrize("jacobian", JACOBIANS)
@pytest.mark.parametrize("gain", [0.5, 1.0])  # contracting ("trained-like") and random
def test_rnn_matches_sequential_float64(x64, jacobian, gain):
    p, xs = _rnn(jnp.float64, gain)
    s_T, ss, info = _rnn_newton(p, xs, jacobian=jacobian)
    r_T, rs, _ = jaxrnn.rnn_scan(p, xs)
    assert _max_err((s_T, ss), (r_T, rs)) < F64_ATOL
    its, res = np.asarray(info.iterations), np.asarray(info.residual)
    assert its.shape == (B,) and res.shape == (B,)
    assert bool((its <= T).all()) and bool((res <= 1e-11).all())


@pytest.mark.parametrize("jacobian", JACOBIANS)
def test_rnn_matches_sequential_float32(jacobian):
    p, xs = _rnn(jnp.float32)
    s_T, ss, info = _rnn_newton(p, xs, jacobian=jacobian)
    assert ss.dtype == jnp.float32 and info.residual.dtype == jnp.float32
    assert _max_err(ss, jaxrnn.rnn_scan(p, xs)[1]) < F32_ATOL


@pytest.mark.parametrize("jacobian", JACOBIANS)
@pytest.mark.parametrize("trained_like", [False, True])
def test_lstm_matches_sequential(x64, jacobian, trained_like):
    p, xs = _lstm(jnp.float64, trained_like)
    state_T, states, _ = _lstm_newton(p, xs, jacobian=jacobian)
    ref_T, hs = jaxrnn.lstm_scan(p, xs)
    assert isinstance(state_T, jaxrnn.LSTMState) and states.C.shape == (B, T, D_H)
    assert _max_err((state_T, states.h), (ref_T, hs)) < F64_ATOL


def test_full_newton_converges_in_few_iterations(x64):
    """Quadratic convergence: a handful of iterations for T=16, far below the cap."""
    p, xs = _rnn(jnp.float64, 0.5)
    assert int(_rnn_newton(p, xs)[2].iterations.max()) <= 8


def test_several_batch_axes_and_jit(x64):
    p, xs = _rnn(jnp.float64)
    xs4 = jnp.stack([xs, 2 * xs])  # (2, B, T, d_in)
    _, ss, info = jax.jit(lambda p, xs: _rnn_newton_eager(p, xs))(p, xs4)
    assert info.iterations.shape == (2, B) and ss.shape == (2, B, T, D_H)
    assert _max_err(ss, jaxrnn.rnn_scan(p, xs4)[1]) < F64_ATOL


@functools.partial(jax.jit, static_argnames="jacobian")
def _rnn_grads(p, xs, s0, w, jacobian):
    """Gradients of a loss of the carries w.r.t. ``(p, xs, s0)``; ``jacobian=None``: of the
    sequential scan."""

    def loss(p, xs, s0):
        if jacobian is None:
            s_T, ss, _ = jaxrnn.rnn_scan(p, xs, s0)
        else:
            s_T, ss, _ = _rnn_newton_eager(p, xs, s0, jacobian=jacobian)
        return (w * ss).sum() + (s_T**2).sum()

    return jax.grad(loss, (0, 1, 2))(p, xs, s0)


@pytest.mark.parametrize("jacobian", JACOBIANS)
def test_rnn_gradients_match_sequential(x64, jacobian):
    """Implicit adjoint: grads w.r.t. closed-over params, inputs and the initial state."""
    p, xs = _rnn(jnp.float64)
    s0 = 0.1 * jnp.ones((B, D_H))
    w = jax.random.normal(jax.random.key(9), (B, T, D_H))
    got = _rnn_grads(p, xs, s0, w, jacobian)
    want = _rnn_grads(p, xs, s0, w, None)  # one program for both cases
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, r, rtol=F64_GRAD_RTOL, atol=1e-12)


@functools.partial(jax.jit, static_argnames="jacobian")
def _lstm_grads(p, xs, jacobian):
    """Gradient of the summed squared outputs w.r.t. ``p``; ``jacobian=None``: sequential."""
    if jacobian is None:
        return jax.grad(lambda p: (jaxrnn.lstm_scan(p, xs)[1] ** 2).sum())(p)
    return jax.grad(lambda p: (_lstm_newton(p, xs, jacobian=jacobian)[1].h ** 2).sum())(p)


@pytest.mark.parametrize("jacobian", JACOBIANS)
def test_lstm_gradients_match_sequential_float32(jacobian):
    p, xs = _lstm(jnp.float32, trained_like=True)
    got = _lstm_grads(p, xs, jacobian)
    want = _lstm_grads(p, xs, None)  # one program for both cases
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, r, rtol=F32_GRAD_RTOL, atol=F32_GRAD_RTOL * 1e-2)


def test_chaotic_ends_exact_by_the_cap(x64):
    """Large recurrent weights: Newton struggles (most of the T iterations), still exact."""
    p, xs = _rnn(jnp.float64, gain=4.0)
    ref = jaxrnn.rnn_scan(p, xs)[1]
    for jacobian in JACOBIANS:
        for damping in (0.0, 1.0):
            _, ss, info = _rnn_newton(p, xs, jacobian=jacobian, damping=damping)
            assert _max_err(ss, ref) < CHAOS_ATOL
            assert bool((np.asarray(info.iterations) <= T).all())
    assert int(_rnn_newton(p, xs)[2].iterations.min()) > T // 3  # it does struggle


@pytest.mark.parametrize("jacobian", JACOBIANS)
@pytest.mark.parametrize("damping", [0.0, 3.0])
def test_first_k_steps_exact_after_k_iterations(x64, jacobian, damping):
    p, xs = _rnn(jnp.float64, gain=4.0)
    ref = jaxrnn.rnn_scan(p, xs)[1]
    k = 5
    _, ss, info = _rnn_newton(p, xs, jacobian=jacobian, damping=damping, tol=0.0, max_iters=k)
    assert bool((np.asarray(info.iterations) == k).all())
    assert _max_err(np.asarray(ss)[:, :k], np.asarray(ref)[:, :k]) < F64_ATOL
    _, ss, info = _rnn_newton(p, xs, jacobian=jacobian, damping=damping, tol=0.0)
    assert bool((np.asarray(info.iterations) <= T).all()) and _max_err(ss, ref) < CHAOS_ATOL


def test_warm_start(x64):
    p, xs = _rnn(jnp.float64)
    ref = jaxrnn.rnn_scan(p, xs)[1]
    assert bool((np.asarray(_rnn_newton(p, xs, init=ref)[2].iterations) == 0).all())
    near = ref + 1e-3 * jax.random.normal(jax.random.key(5), ref.shape)
    _, ss, info = _rnn_newton(p, xs, init=near)
    assert _max_err(ss, ref) < F64_ATOL
    cold = np.asarray(_rnn_newton(p, xs)[2].iterations)
    assert bool((np.asarray(info.iterations) < cold).all())


def test_no_time_steps():
    p, xs = _rnn(jnp.float32)
    s0 = jnp.ones((B, D_H))
    s_T, ss, info = _rnn_newton_eager(p, xs[:, :0], s0)
    assert ss.shape == (B, 0, D_H) and bool((s_T == s0).all())
    assert info.iterations.tolist() == [0, 0]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"jacobian": "dense"},
            ValueError,
            r"jacobian to be one of \('full', 'diagonal'\), got 'dense'",
        ),
        ({"damping": -1.0}, ValueError, "damping to be a finite number >= 0, got -1.0"),
        ({"tol": "small"}, ValueError, "tol to be a number"),
        ({"max_iters": 2.5}, ValueError, "max_iters to be None or an int >= 0, got 2.5"),
        ({"init": jnp.zeros((B, T + 1, D_H))}, ValueError, r"init .* shapes \[\(2, 16, 4\)\]"),
    ],
)
def test_bad_options(kwargs, error, match):
    p, xs = _rnn(jnp.float32)
    with pytest.raises(error, match=match):
        _rnn_newton_eager(p, xs, **kwargs)


def test_bad_step_fn_and_shapes():
    p, xs = _rnn(jnp.float32)
    s0 = jnp.zeros((B, D_H))
    with pytest.raises(TypeError, match="expected step_fn to be callable, got RNNParams"):
        jaxrnn.newton_scan(p, s0, xs)
    with pytest.raises(TypeError, match="return a carry shaped like carry0"):
        jaxrnn.newton_scan(lambda s, x: jaxrnn.rnn_step(p, s, x), s0, xs)
    with pytest.raises(ValueError, match=r"carry0 .* shapes \[\(2, 4\)\]"):
        jaxrnn.newton_scan(lambda s, x: s, jnp.zeros((3, D_H)), xs)
    with pytest.raises(ValueError, match=r"xs to be a floating array of shape \(\.\.\., T, d_in\)"):
        jaxrnn.newton_scan(lambda s, x: s, s0, jnp.ones(3))


@pytest.mark.parametrize("jacobian", JACOBIANS)
def test_float32_overflow_past_the_exact_prefix_does_not_stick(jacobian):
    """Gain 4, T=80: products of Jacobians pass float32's range (4^64) and overflow ahead
    of the converged prefix; those steps restart, and the iterations still converge."""
    p = jaxrnn.init_rnn_params(jax.random.key(0), D_IN, D_H, 2)
    p = p._replace(W=4.0 * p.W)
    xs = jax.random.normal(jax.random.key(1), (B, 80, D_IN))
    _, ss, info = _rnn_newton(p, xs, jacobian=jacobian)
    ss, its, res = np.asarray(ss), np.asarray(info.iterations), np.asarray(info.residual)
    assert bool(np.isfinite(ss).all()) and bool((its <= 80).all())
    assert bool((res <= jaxrnn.newton.default_tol(jnp.float32)).all())
    # chaos: float32 loops drift apart (sequential float32 vs float64: O(1) by t=200),
    # but the first steps agree
    assert _max_err(ss[:, :8], np.asarray(jaxrnn.rnn_scan(p, xs)[1])[:, :8]) < F32_ATOL
