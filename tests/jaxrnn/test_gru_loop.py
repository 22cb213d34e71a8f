"""The GRU's fast loop against a Python loop of ``gru_step``: values, ``jax.jvp``,
gradients and second derivatives; unroll, vmap, remat; padding law. (CPU chunks and
compile-once: ``test_implementation_details.py``.)"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxrnn

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-11
F32_TOL = 2e-5
D_IN, D_H, T = 3, 5, 8
LENGTHS = [[8, 3, 0, 5], [1, 7, 6, 2]]
VARIANTS = pytest.mark.parametrize("reset_after", [True, False], ids=["after", "before"])


def _setup(dtype):
    rng = np.random.default_rng(0)  # NumPy draws: no program to compile per shape

    def normal(*shape, scale=1.0):
        return jnp.asarray(scale * rng.normal(size=shape), dtype)

    p = jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H, dtype=dtype)
    p = jaxrnn.GRUParams(
        *(g._replace(b=normal(D_H, scale=0.3)) for g in p[:3]), b_hn=normal(D_H, scale=0.3)
    )
    return p, normal(2, 4, T, D_IN), normal(2, 4, D_H)


@functools.partial(jax.jit, static_argnames="reset_after")
def _masked_step(p, h, xs, t, lengths, reset_after):
    """Step ``t`` of the reference (one program for every ``t``); a padding step
    (``t >= lengths``) holds the state and emits zeros."""
    new, out = jaxrnn.gru_step(p, h, xs[..., t, :], reset_after=reset_after)
    if lengths is not None:
        m = (t < lengths)[..., None]
        new, out = jnp.where(m, new, h), jnp.where(m, out, 0)
    return new, out


def _reference(p, xs, h0, lengths, reverse, reset_after):
    """``(h_T, hs)`` by a Python loop of ``gru_step`` (padding holds and emits zeros)."""
    h = jnp.zeros((*xs.shape[:-2], D_H), xs.dtype) if h0 is None else h0
    outs = [None] * xs.shape[-2]
    for t in reversed(range(len(outs))) if reverse else range(len(outs)):
        h, outs[t] = _masked_step(p, h, xs, t, lengths, reset_after=reset_after)
    return h, jnp.stack(outs, axis=-2)


def _fast(p, xs, h0, lengths, reverse, reset_after, unroll=1, remat=None):
    return jaxrnn.gru_scan(
        p, xs, h0, lengths=lengths, reverse=reverse, unroll=unroll, remat=remat,
        reset_after=reset_after,
    )  # fmt: skip


def _scalar(out):
    h_T, hs = out
    return jnp.sum(jnp.sin(hs)) + jnp.sum(jnp.cos(h_T) ** 2)


def _close(got, want, tol):
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)


@pytest.mark.usefixtures("x64")
@VARIANTS
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_values_jvp_and_gradients_equal_the_step_loop_float64(reset_after, lengths, reverse):
    p, xs, h0 = _setup(jnp.float64)
    lengths = None if lengths is None else jnp.array(lengths)
    args = (p, xs, h0)

    def f_fast(*a):
        return _fast(*a, lengths, reverse, reset_after)

    def f_ref(*a):
        return _reference(*a, lengths, reverse, reset_after)

    tangents = jax.tree.map(lambda a: jnp.asarray(np.cos(3.0 * np.asarray(a))), args)

    def values_grads_jvp(f, args, tangents):
        grads = jax.grad(lambda *a: _scalar(f(*a)), (0, 1, 2))(*args)
        return f(*args), grads, jax.jvp(f, args, tangents)

    # the fast path as one program; the reference op by op (its ops recur in every case)
    got = jax.jit(values_grads_jvp, static_argnums=0)(f_fast, args, tangents)
    want = values_grads_jvp(f_ref, args, tangents)
    for g, w in zip(got, want, strict=True):  # values, gradients, (values, tangents)
        _close(g, w, F64_TOL)


@pytest.mark.usefixtures("x64")
@VARIANTS
def test_second_derivatives_equal_the_step_loop_float64(reset_after):
    p, xs, _ = _setup(jnp.float64)
    xs = xs[0, :2]
    lengths = jnp.array([5, 8])

    def hess(f):
        return jax.hessian(lambda x: _scalar(f(p, x, None, lengths, True, reset_after)))

    got = jax.jit(hess(_fast))(xs)
    np.testing.assert_allclose(got, hess(_reference)(xs), atol=F64_TOL, rtol=F64_TOL)

    # forward over reverse, in the weights: d/dW (dL/db_hn)
    def mixed(f):
        def g(W):
            q = p._replace(n=p.n._replace(W=W))
            return jax.grad(lambda b: _scalar(f(q._replace(b_hn=b), xs, None, lengths, False,
                                                 reset_after)))(q.b_hn)  # fmt: skip

        return jax.jacfwd(g)(p.n.W)

    got = jax.jit(lambda: mixed(_fast))()
    np.testing.assert_allclose(got, mixed(_reference), atol=F64_TOL, rtol=F64_TOL)


@VARIANTS
def test_float32_unroll_and_vmap(reset_after):
    p, xs, _ = _setup(jnp.float32)

    def loss(p, x, unroll=1):
        return _scalar(_fast(p, x, None, None, False, reset_after, unroll))

    @jax.jit
    def fast(p, xs):  # unroll=3; per-example gradients by vmap and of the whole batch
        per_example = jax.vmap(jax.grad(lambda x: loss(p, x[None])))(xs[0])
        return jax.grad(loss, (0, 1))(p, xs, 3), per_example, jax.grad(loss, 1)(p, xs[0])

    grads, per_example, batch = fast(p, xs)
    want = jax.grad(lambda p, x: _scalar(_reference(p, x, None, None, False, reset_after)), (0, 1))
    _close(grads, want(p, xs), F32_TOL)
    np.testing.assert_allclose(per_example, batch, atol=F32_TOL)


@VARIANTS
def test_remat_gives_the_same_values_and_gradients(reset_after):
    p, xs, _ = _setup(jnp.float32)
    lengths = jnp.array(LENGTHS)

    def loss(p, x, remat):
        return _scalar(_fast(p, x, None, lengths, False, reset_after, remat=remat))

    @jax.jit
    def both(p, xs):  # (value, gradients) with and without remat, one program
        return [jax.value_and_grad(loss, (0, 1))(p, xs, remat) for remat in (3, None)]

    (v_remat, g_remat), (v, g) = both(p, xs)
    np.testing.assert_allclose(v_remat, v, rtol=F32_TOL)
    _close(g_remat, g, F32_TOL)


@settings(max_examples=10, deadline=None)
@given(reset_after=st.booleans(), reverse=st.booleans(), data=st.data())
def test_padding_after_lengths_never_changes_valid_outputs(reset_after, reverse, data):
    batch = data.draw(st.integers(1, 3), label="B")
    steps = data.draw(st.integers(1, 5), label="T")
    lengths = np.array(data.draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch)))
    seed = data.draw(st.integers(0, 2**16), label="seed")
    scale = data.draw(st.sampled_from([1.0, 1e3]), label="pad scale")
    p, _, _ = _setup(jnp.float32)
    rng = np.random.default_rng(seed)  # NumPy data and indexing: only the scans compile
    xs = rng.normal(size=(batch, steps, D_IN)).astype(np.float32)
    pad = np.arange(steps)[None, :, None] >= lengths[:, None, None]
    xs_other = np.where(pad, scale * rng.normal(size=xs.shape), xs).astype(np.float32)
    a = _fast(p, xs, None, jnp.asarray(lengths), reverse, reset_after)
    b = _fast(p, xs_other, None, jnp.asarray(lengths), reverse, reset_after)
    a, b = [np.asarray(x) for x in a], [np.asarray(y) for y in b]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a[1][np.broadcast_to(pad, a[1].shape)], 0)
    for i in range(batch):  # ...and equals running each example on its valid prefix alone
        L = int(lengths[i])
        if L:
            alone = _fast(p, xs[i, :L], None, None, reverse, reset_after)
            np.testing.assert_allclose(a[0][i], alone[0], atol=1e-6)
            np.testing.assert_allclose(a[1][i, :L], alone[1], atol=1e-6)
