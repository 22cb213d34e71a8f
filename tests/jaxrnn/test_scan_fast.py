"""The fast loops (jaxrnn._src.loops): values and derivatives, both modes, against a step-by-step loop.

The reference runs ``lstm_step``/``rnn_step`` in a Python loop (padding steps hold the
state and emit zeros) and is differentiated by JAX's own rules; the fast path has a
hand-written tangent loop whose transpose is the backward pass. (Compile time: each step of
the reference is one jitted program, the same for every step; the fast path's values and
derivatives that a test compares are one program.)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-11
F32_TOL = 2e-5
D_IN, D_H, T = 3, 5, 8
LENGTHS = [[8, 3, 0, 5], [1, 7, 6, 2]]


def _setup(kind, dtype):
    rng = np.random.default_rng(0)  # NumPy draws: no program to compile per shape

    def normal(*shape, scale=1.0):
        return jnp.asarray(scale * rng.normal(size=shape), dtype)

    if kind == "lstm":
        p = jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H, dtype=dtype)
        p = jaxrnn.LSTMParams(*(g._replace(b=normal(D_H, scale=0.3)) for g in p))
        state0 = jaxrnn.LSTMState(h=normal(2, 4, D_H), C=normal(2, 4, D_H))
    else:
        p = jaxrnn.init_rnn_params(jax.random.key(0), D_IN, D_H, 2, dtype=dtype)
        p = p._replace(b_s=normal(D_H, scale=0.3))
        state0 = normal(2, 4, D_H)
    xs = normal(2, 4, T, D_IN)
    return p, xs, state0


@functools.partial(jax.jit, static_argnums=0)
def _masked_step(kind, p, state, xs, t, lengths):
    """Step ``t`` of the reference (one program for every ``t``); a padding step
    (``t >= lengths``) holds the state and emits zeros."""
    if kind == "lstm":
        new, out = jaxrnn.lstm_step(p, state, xs[..., t, :])
    else:
        new = out = jaxrnn.rnn_step(p, state, xs[..., t, :])[0]
    if lengths is not None:
        m = (t < lengths)[..., None]
        new = jax.tree.map(lambda n, o: jnp.where(m, n, o), new, state)
        out = jnp.where(m, out, 0)
    return new, out


def _reference(kind, p, xs, state0, lengths, reverse):
    """``(final state, per-step states)`` by a Python loop of the step functions."""
    batch = xs.shape[:-2]
    if state0 is None:
        z = jnp.zeros((*batch, D_H), xs.dtype)
        state0 = jaxrnn.LSTMState(z, z) if kind == "lstm" else z
    state, outs = state0, [None] * T
    for t in reversed(range(T)) if reverse else range(T):
        state, outs[t] = _masked_step(kind, p, state, xs, t, lengths)
    return state, jnp.stack(outs, axis=-2)


def _fast(kind, p, xs, state0, lengths, reverse, unroll=1):
    kw = dict(lengths=lengths, reverse=reverse, unroll=unroll)
    if kind == "lstm":
        return jaxrnn.lstm_scan(p, xs, state0, **kw)
    s_T, ss, _ = jaxrnn.rnn_scan(p, xs, state0, **kw)
    return s_T, ss


def _scalar(out):
    state, ys = out
    return jnp.sum(jnp.sin(ys)) + sum(
        jnp.sum(jnp.cos(leaf) ** 2) for leaf in jax.tree.leaves(state)
    )


def _close(got, want, tol):
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["lstm", "rnn"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero", "state0"])
def test_values_and_both_modes_equal_the_step_loop_float64(kind, lengths, reverse, with_state):
    p, xs, state0 = _setup(kind, jnp.float64)
    state0 = state0 if with_state else None
    lengths = None if lengths is None else jnp.array(lengths)
    args = (p, xs, state0) if with_state else (p, xs)

    def f_fast(*a):
        return _fast(kind, *a, *((None,) if not with_state else ()), lengths, reverse)

    def f_ref(*a):
        return _reference(kind, *a, *((None,) if not with_state else ()), lengths, reverse)

    tangents = jax.tree.map(lambda a: jnp.asarray(np.cos(3.0 * np.asarray(a))), args)

    def values_grads_jvp(f, args, tangents):
        grads = jax.grad(lambda *a: _scalar(f(*a)), tuple(range(len(args))))(*args)
        return f(*args), grads, jax.jvp(f, args, tangents)

    # the fast path as one program; the reference op by op (its ops recur in every case)
    got = jax.jit(values_grads_jvp, static_argnums=0)(f_fast, args, tangents)
    want = values_grads_jvp(f_ref, args, tangents)
    for g, w in zip(got, want, strict=True):  # values, gradients, (values, tangents)
        _close(g, w, F64_TOL)
    grads = got[1]
    if lengths is not None:  # padding inputs get exactly zero gradient
        pad = np.arange(T)[None, None, :] >= np.asarray(lengths)[..., None]
        assert not np.any(np.asarray(grads[1])[pad])


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_second_derivatives_equal_the_step_loop_float64(kind):
    p, xs, _ = _setup(kind, jnp.float64)
    xs = xs[0, :2]
    lengths = jnp.array([5, 8])

    def hess(f):
        return jax.hessian(lambda x: _scalar(f(kind, p, x, None, lengths, True)))

    got = jax.jit(hess(_fast))(xs)
    np.testing.assert_allclose(got, hess(_reference)(xs), atol=F64_TOL, rtol=F64_TOL)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_float32_unroll_and_vmap(kind):
    p, xs, state0 = _setup(kind, jnp.float32)

    def loss(p, x, unroll=1):
        return _scalar(_fast(kind, p, x, None, None, False, unroll))

    @jax.jit
    def fast(p, xs):  # unroll=3; per-example gradients by vmap and of the whole batch
        per_example = jax.vmap(jax.grad(lambda x: loss(p, x[None])))(xs[0])
        return jax.grad(loss, (0, 1))(p, xs, 3), per_example, jax.grad(loss, 1)(p, xs[0])

    grads, per_example, batch = fast(p, xs)
    want = jax.grad(lambda p, x: _scalar(_reference(kind, p, x, None, None, False)), (0, 1))(p, xs)
    _close(grads, want, F32_TOL)
    np.testing.assert_allclose(per_example, batch, atol=F32_TOL)


@pytest.mark.parametrize("kind", ["lstm", "rnn"])
def test_remat_path_gives_the_same_values_and_gradients(kind):
    p, xs, state0 = _setup(kind, jnp.float32)
    lengths = jnp.array(LENGTHS)

    def loss(p, x, remat):
        if kind == "lstm":
            out = jaxrnn.lstm_scan(p, x, lengths=lengths, remat=remat)
        else:
            out = jaxrnn.rnn_scan(p, x, lengths=lengths, remat=remat)[:2]
        return _scalar(out)

    @jax.jit
    def both(p, xs):  # (value, gradients) with and without remat, one program
        return [jax.value_and_grad(loss, (0, 1))(p, xs, remat) for remat in (3, None)]

    (v_remat, g_remat), (v, g) = both(p, xs)
    np.testing.assert_allclose(v_remat, v, rtol=F32_TOL)
    _close(g_remat, g, F32_TOL)
