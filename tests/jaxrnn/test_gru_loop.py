"""The GRU's fast loop against a Python loop of ``gru_step``: values, ``jax.jvp``,
gradients and second derivatives; unroll, vmap, remat; padding law. (CPU chunks and
compile-once: ``test_implementation_details.py``.)"""

from __future__ import annotations

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
    k = jax.random.split(jax.random.key(0), 5)
    p = jaxrnn.init_gru_params(k[0], D_IN, D_H, dtype=dtype)
    p = jaxrnn.GRUParams(
        *(g._replace(b=0.3 * jax.random.normal(k[1], g.b.shape, dtype)) for g in p[:3]),
        b_hn=0.3 * jax.random.normal(k[4], (D_H,), dtype),
    )
    h0 = jax.random.normal(k[3], (2, 4, D_H), dtype)
    xs = jax.random.normal(k[2], (2, 4, T, D_IN), dtype)
    return p, xs, h0


def _reference(p, xs, h0, lengths, reverse, reset_after):
    """``(h_T, hs)`` by a Python loop of ``gru_step`` (padding holds and emits zeros)."""
    h = jnp.zeros((*xs.shape[:-2], D_H), xs.dtype) if h0 is None else h0
    outs = [None] * xs.shape[-2]
    for t in reversed(range(len(outs))) if reverse else range(len(outs)):
        new, out = jaxrnn.gru_step(p, h, xs[..., t, :], reset_after=reset_after)
        if lengths is not None:
            m = (t < lengths)[..., None]
            new, out = jnp.where(m, new, h), jnp.where(m, out, 0)
        h, outs[t] = new, out
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

    _close(f_fast(*args), f_ref(*args), F64_TOL)
    grads = jax.grad(lambda *a: _scalar(f_fast(*a)), (0, 1, 2))(*args)
    _close(grads, jax.grad(lambda *a: _scalar(f_ref(*a)), (0, 1, 2))(*args), F64_TOL)
    tangents = jax.tree.map(lambda a: jnp.cos(3.0 * a), args)
    _close(jax.jvp(f_fast, args, tangents), jax.jvp(f_ref, args, tangents), F64_TOL)


@pytest.mark.usefixtures("x64")
@VARIANTS
def test_second_derivatives_equal_the_step_loop_float64(reset_after):
    p, xs, _ = _setup(jnp.float64)
    xs = xs[0, :2]
    lengths = jnp.array([5, 8])

    def hess(f):
        return jax.hessian(lambda x: _scalar(f(p, x, None, lengths, True, reset_after)))(xs)

    np.testing.assert_allclose(hess(_fast), hess(_reference), atol=F64_TOL, rtol=F64_TOL)

    # forward over reverse, in the weights: d/dW (dL/db_hn)
    def mixed(f):
        def g(W):
            q = p._replace(n=p.n._replace(W=W))
            return jax.grad(lambda b: _scalar(f(q._replace(b_hn=b), xs, None, lengths, False,
                                                 reset_after)))(q.b_hn)  # fmt: skip

        return jax.jacfwd(g)(p.n.W)

    np.testing.assert_allclose(mixed(_fast), mixed(_reference), atol=F64_TOL, rtol=F64_TOL)


@VARIANTS
def test_float32_unroll_and_vmap(reset_after):
    p, xs, _ = _setup(jnp.float32)

    def loss(p, x, unroll=1):
        return _scalar(_fast(p, x, None, None, False, reset_after, unroll))

    want = jax.grad(lambda p, x: _scalar(_reference(p, x, None, None, False, reset_after)), (0, 1))
    _close(jax.grad(loss, (0, 1))(p, xs, 3), want(p, xs), F32_TOL)
    per_example = jax.vmap(jax.grad(lambda x: loss(p, x[None])))(xs[0])
    np.testing.assert_allclose(per_example, jax.grad(loss, 1)(p, xs[0]), atol=F32_TOL)


@VARIANTS
def test_remat_gives_the_same_values_and_gradients(reset_after):
    p, xs, _ = _setup(jnp.float32)
    lengths = jnp.array(LENGTHS)

    def loss(p, x, remat):
        return _scalar(_fast(p, x, None, lengths, False, reset_after, remat=remat))

    np.testing.assert_allclose(loss(p, xs, 3), loss(p, xs, None), rtol=F32_TOL)
    _close(jax.grad(loss, (0, 1))(p, xs, 3), jax.grad(loss, (0, 1))(p, xs, None), F32_TOL)


@settings(max_examples=10, deadline=None)
@given(reset_after=st.booleans(), reverse=st.booleans(), data=st.data())
def test_padding_after_lengths_never_changes_valid_outputs(reset_after, reverse, data):
    batch = data.draw(st.integers(1, 3), label="B")
    steps = data.draw(st.integers(1, 5), label="T")
    lengths = np.array(data.draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch)))
    seed = data.draw(st.integers(0, 2**16), label="seed")
    scale = data.draw(st.sampled_from([1.0, 1e3]), label="pad scale")
    p, _, _ = _setup(jnp.float32)
    k1, k2 = jax.random.split(jax.random.key(seed))
    xs = jax.random.normal(k1, (batch, steps, D_IN))
    pad = np.arange(steps)[None, :, None] >= lengths[:, None, None]
    xs_other = jnp.where(pad, scale * jax.random.normal(k2, xs.shape), xs)
    a = _fast(p, xs, None, jnp.asarray(lengths), reverse, reset_after)
    b = _fast(p, xs_other, None, jnp.asarray(lengths), reverse, reset_after)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(np.asarray(a[1])[np.broadcast_to(pad, a[1].shape)], 0)
    for i in range(batch):  # ...and equals running each example on its valid prefix alone
        L = int(lengths[i])
        if L:
            alone = _fast(p, xs[i, :L], None, None, reverse, reset_after)
            np.testing.assert_allclose(a[0][i], alone[0], atol=1e-6)
            np.testing.assert_allclose(a[1][i, :L], alone[1], atol=1e-6)
