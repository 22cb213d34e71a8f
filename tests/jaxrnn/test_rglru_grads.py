"""The RG-LRU and the Hawk block, derivatives: central differences of the float64 reference,
``check_grads`` in both modes to second order, parallel == sequential in forward mode, the
square root's bounded derivative, and a long sequence in float32."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxrnn
from jaxrnn.cells.rglru import MAX_SQRT_GRADIENT, sqrt_bounded
from tests import reference as ref
from tests.jaxrnn.test_rglru import D_OUT, LENGTHS, RESETS, D, T, _hawk, _rglru

pytestmark = pytest.mark.usefixtures("strict_promotion")

GRAD_TOL = 1e-7  # float64 autodiff against central differences (eps=1e-6)
LONG_TOL = 1e-4  # float32 at T = 20,000 against the float64 reference


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("cell", "parallel"), [("rglru", False), ("hawk", True)])
def test_gradients_match_central_differences_of_reference(cell, parallel):
    """d(loss)/d(every parameter), d(loss)/d(xs) and d(loss)/d(initial carry), float64,
    with lengths, resets and reverse."""
    rng = np.random.default_rng(0)
    L = LENGTHS[:2]
    if cell == "rglru":
        p, xs, c0 = _rglru()
        p, xs, c0 = p, xs[:2], c0[:2]
        w = rng.normal(size=(2, T, D))

        def ref_loss(p_, xs_, c0_):
            return sum((ref.rglru_forward(p_, xs_[b], c0_[b], L[b], RESETS[b], True)[1]
                        * w[b]).sum() for b in range(2))  # fmt: skip

        def lib_loss(p_, xs_, c0_):
            hs = jaxrnn.rglru_scan(p_, xs_, c0_, lengths=jnp.asarray(L), resets=RESETS[:2],
                                   reverse=True, parallel=parallel)[1]  # fmt: skip
            return (hs * w).sum()
    else:
        p, xs, c0 = _hawk()
        xs, c0 = xs[:2], jax.tree.map(lambda a: a[:2], c0)
        w = rng.normal(size=(2, T, D_OUT))

        def ref_loss(p_, xs_, c0_):
            return sum((ref.hawk_forward(p_, xs_[b], c0_.window[b], c0_.h[b], L[b], RESETS[b],
                                         True)[2] * w[b]).sum() for b in range(2))  # fmt: skip

        def lib_loss(p_, xs_, c0_):
            ys = jaxrnn.hawk_scan(p_, xs_, c0_, lengths=jnp.asarray(L), resets=RESETS[:2],
                                  reverse=True)[1]  # fmt: skip
            return (ys * w).sum()

    grads = jax.grad(lib_loss, argnums=(0, 1, 2))(p, xs, c0)
    leaves, tree = jax.tree.flatten((p, xs, c0))
    for i, (leaf, g) in enumerate(zip(leaves, jax.tree.leaves(grads))):

        def f(v, i=i):
            new = list(leaves)
            new[i] = v
            return ref_loss(*jax.tree.unflatten(tree, [np.asarray(a) for a in new]))

        num = ref.numerical_grad(f, leaf)
        np.testing.assert_allclose(g, num, atol=GRAD_TOL, rtol=GRAD_TOL, err_msg=f"leaf {i}")


@pytest.mark.usefixtures("x64")
def test_check_grads_forward_and_reverse_mode_second_order():
    p, xs, h0 = _rglru()
    r = jnp.asarray(RESETS)[:1, :4]

    def f(p, xs, h0):
        return jaxrnn.rglru_scan(p, xs, h0, resets=r)[1]

    check_grads(f, (p, xs[:1, :4], h0[:1]), order=2, modes=("fwd", "rev"), atol=1e-5,
                rtol=1e-5)  # fmt: skip
    q, xq, c0 = _hawk()
    check_grads(lambda q: jaxrnn.hawk_scan(q, xq[:1, :4], resets=r)[1], (q,), order=1,
                modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)  # fmt: skip


def test_jvp_of_parallel_equals_jvp_of_sequential():
    p, xs, h0 = _rglru(jnp.float32, seed=4)
    tangents = jax.tree.map(jnp.ones_like, (p, xs, h0))

    def f(parallel):
        return lambda p, xs, h0: jaxrnn.rglru_scan(p, xs, h0, resets=jnp.asarray(RESETS),
                                                   parallel=parallel)  # fmt: skip

    out_p, dout_p = jax.jvp(f(True), (p, xs, h0), tangents)
    out_s, dout_s = jax.jvp(f(False), (p, xs, h0), tangents)
    for a, b in zip((*out_p, *dout_p), (*out_s, *dout_s)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def test_sqrt_derivative_is_bounded_at_1000_and_values_are_exact():
    u = jnp.array([0.0, 1e-9, 2.5e-7, 0.25, 1.0])
    np.testing.assert_array_equal(sqrt_bounded(u), jnp.sqrt(u))
    want = jnp.array([MAX_SQRT_GRADIENT, MAX_SQRT_GRADIENT, MAX_SQRT_GRADIENT, 1.0, 0.5])
    for mode in (jax.vmap(jax.grad(sqrt_bounded)),
                 lambda u: jax.jvp(sqrt_bounded, (u,), (jnp.ones_like(u),))[1]):  # fmt: skip
        np.testing.assert_allclose(mode(u), want, rtol=1e-6)
    # a = 1 - tiny: the unbounded derivative would be ~1e4; every gradient stays finite
    p, xs, _ = _rglru(jnp.float32)
    p = p._replace(a_param=jnp.full((D,), -30.0))  # softplus(Λ) ~ 1e-13: a_t ~ 1 - 8e-13

    def loss(p):
        return jaxrnn.rglru_scan(p, xs)[1].sum()

    g = jax.grad(loss)(p)
    assert all(bool(jnp.isfinite(a).all()) for a in jax.tree.leaves(g))
    assert float(jnp.abs(g.a_param).max()) > 0


def test_long_sequence_is_stable_in_float32():
    """T = 20,000 in float32 against the float64 loop (the 100,000-step run is in
    benchmarks/rglru.py); the recurrence is a contraction, so the error does not grow."""
    k = jax.random.split(jax.random.key(5), 2)
    p = jaxrnn.init_rglru_params(k[0], 4, min_rad=0.999, max_rad=0.9999)
    xs = jax.random.normal(k[1], (20_000, 4))
    resets = jnp.zeros(20_000, bool).at[0].set(True)
    h_T, hs = jaxrnn.rglru_scan(p, xs, resets=resets)
    want_T, want = ref.rglru_forward(p, xs, resets=resets)
    assert bool(jnp.isfinite(hs).all())
    np.testing.assert_allclose(hs, want, atol=LONG_TOL)
    g = jax.grad(lambda p: jaxrnn.rglru_scan(p, xs, resets=resets)[0].sum())(p)
    assert all(bool(jnp.isfinite(a).all()) for a in jax.tree.leaves(g))


