"""The GRU (both placements of the reset gate) against the float64 NumPy reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref
from tests.jaxrnn.test_cells import _nonzero_biases

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # forward, float64 vs float64 reference
GRAD_TOL = 1e-7  # float64 autodiff vs central differences (eps=1e-6)
F32_TOL = 2e-5  # float32 vs float64 reference
B, T, D_IN, D_H = 3, 6, 3, 4
LENGTHS = np.array([6, 3, 0])  # full, partial and empty sequences

CASES = [
    (reset_after, lengths, reverse)
    for reset_after in (True, False)
    for lengths in (None, LENGTHS)
    for reverse in (False, True)
]
IDS = [
    f"{'after' if a else 'before'}-{'lengths' if L is not None else 'full'}-{'rev' if r else 'fwd'}"
    for a, L, r in CASES
]


def _setup(dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    p = _nonzero_biases(jaxrnn.init_gru_params(k[0], D_IN, D_H, dtype=dtype), k[1])
    xs = jax.random.normal(k[2], (B, T, D_IN), dtype)
    h0 = 0.5 * jax.random.normal(k[3], (B, D_H), dtype)
    return p, xs, h0


def _run(p, xs, h0, lengths, reverse, reset_after):
    lengths = None if lengths is None else jnp.asarray(lengths)
    return jaxrnn.gru_scan(p, xs, h0, lengths=lengths, reverse=reverse, reset_after=reset_after)


def _run_ref(p, xs, h0, lengths, reverse, reset_after, b):
    L = None if lengths is None else int(lengths[b])
    return ref.gru_forward(p, xs[b], h0=h0[b], length=L, reverse=reverse, reset_after=reset_after)


def test_init_shapes_defaults_and_dtype():
    p = jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H, dtype=jnp.bfloat16)
    for g in (p.z, p.r, p.n):
        assert g.U.shape == (D_H, D_IN) and g.W.shape == (D_H, D_H) and g.b.shape == (D_H,)
        assert not g.b.any()
        W = g.W.astype(jnp.float32)
        np.testing.assert_allclose(W @ W.T, np.eye(D_H), atol=2e-2)  # orthogonal
    assert p.b_hn.shape == (D_H,) and not p.b_hn.any()
    assert all(leaf.dtype == jnp.bfloat16 for leaf in jax.tree.leaves(p))
    with pytest.raises(ValueError, match=r"expected d_h to be a positive int, got 0"):
        jaxrnn.init_gru_params(jax.random.key(0), D_IN, 0)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("reset_after", [True, False])
def test_step_matches_reference_one_example_and_batch(reset_after):
    p, xs, h0 = _setup()
    h_t, y_t = jaxrnn.gru_step(p, h0, xs[:, 0], reset_after=reset_after)
    assert y_t is h_t
    for b in range(B):
        want, _ = ref.gru_forward(p, xs[b, :1], h0=h0[b], reset_after=reset_after)
        np.testing.assert_allclose(h_t[b], want, atol=F64_TOL, rtol=0)
        one, _ = jaxrnn.gru_step(p, h0[b], xs[b, 0], reset_after=reset_after)
        np.testing.assert_allclose(one, want, atol=F64_TOL, rtol=0)


def test_the_two_variants_differ():
    p, xs, h0 = _setup(jnp.float32)
    a = jaxrnn.gru_scan(p, xs, h0, reset_after=True)[1]
    b = jaxrnn.gru_scan(p, xs, h0, reset_after=False)[1]
    assert float(jnp.abs(a - b).max()) > 1e-3


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("reset_after", "lengths", "reverse"), CASES, ids=IDS)
def test_forward_matches_float64_reference(reset_after, lengths, reverse):
    p, xs, h0 = _setup()
    h_T, hs = _run(p, xs, h0, lengths, reverse, reset_after)
    for b in range(B):
        want_h, want_hs = _run_ref(p, xs, h0, lengths, reverse, reset_after, b)
        np.testing.assert_allclose(h_T[b], want_h, atol=F64_TOL, rtol=0)
        np.testing.assert_allclose(hs[b], want_hs, atol=F64_TOL, rtol=0)


@pytest.mark.usefixtures("x64")
def test_default_initial_state_is_zero():
    p, xs, _ = _setup()
    h_T, hs = jaxrnn.gru_scan(p, xs[0])  # no batch axis
    want_h, want_hs = ref.gru_forward(p, xs[0])
    np.testing.assert_allclose(h_T, want_h, atol=F64_TOL, rtol=0)
    np.testing.assert_allclose(hs, want_hs, atol=F64_TOL, rtol=0)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("reset_after", "lengths", "reverse"), CASES, ids=IDS)
def test_gradients_match_central_differences(reset_after, lengths, reverse):
    """d(loss)/d(every parameter), d(loss)/d(xs) and d(loss)/d(h0) vs central differences."""
    p, xs, h0 = _setup()
    rng = np.random.default_rng(0)  # loss = fixed random projection of every output
    proj = [(rng.normal(size=D_H), rng.normal(size=(T, D_H))) for _ in range(B)]

    def ref_loss(p_, xs_, h0_):
        return sum(
            (o * w).sum()
            for b in range(B)
            for o, w in zip(
                ref.gru_forward(
                    p_, xs_[b], h0=h0_[b], length=None if lengths is None else lengths[b],
                    reverse=reverse, reset_after=reset_after,
                ),
                proj[b],
            )
        )  # fmt: skip

    def lib_loss(p_, xs_, h0_):
        outs = _run(p_, xs_, h0_, lengths, reverse, reset_after)
        return sum((o[b] * w).sum() for b in range(B) for o, w in zip(outs, proj[b]))

    g_p, g_xs, g_h0 = jax.grad(lib_loss, argnums=(0, 1, 2))(p, xs, h0)
    xs_np, h0_np = np.asarray(xs), np.asarray(h0)
    leaves, tree = jax.tree.flatten(p)
    for k, (leaf, g) in enumerate(zip(leaves, jax.tree.leaves(g_p), strict=True)):

        def f(v, k=k):
            new = [np.asarray(x) for x in leaves]
            new[k] = v
            return ref_loss(jax.tree.unflatten(tree, new), xs_np, h0_np)

        np.testing.assert_allclose(g, ref.numerical_grad(f, leaf), atol=GRAD_TOL, rtol=GRAD_TOL)
    num_xs = ref.numerical_grad(lambda v: ref_loss(p, v, h0_np), xs_np)
    np.testing.assert_allclose(g_xs, num_xs, atol=GRAD_TOL, rtol=GRAD_TOL)
    num_h0 = ref.numerical_grad(lambda v: ref_loss(p, xs_np, v), h0_np)
    np.testing.assert_allclose(g_h0, num_h0, atol=GRAD_TOL, rtol=GRAD_TOL)
    if lengths is not None:  # padding inputs get exactly zero gradient
        pad = np.arange(T)[None, :] >= LENGTHS[:, None]
        assert not np.any(np.asarray(g_xs)[pad])


@pytest.mark.parametrize(("reset_after", "lengths", "reverse"), CASES, ids=IDS)
def test_float32_close_to_reference_and_dtype_preserved(reset_after, lengths, reverse):
    p, xs, h0 = _setup(jnp.float32)
    h_T, hs = _run(p, xs, h0, lengths, reverse, reset_after)
    assert h_T.dtype == hs.dtype == jnp.float32
    for b in range(B):
        want_h, want_hs = _run_ref(p, xs, h0, lengths, reverse, reset_after, b)
        np.testing.assert_allclose(h_T[b], want_h, atol=F32_TOL)
        np.testing.assert_allclose(hs[b], want_hs, atol=F32_TOL)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_16_bit_parameters_keep_their_dtype(dtype):
    p, xs, h0 = _setup(dtype)
    h_T, hs = jaxrnn.gru_scan(p, xs, h0, lengths=jnp.asarray(LENGTHS))
    assert h_T.dtype == hs.dtype == dtype
    p32 = jax.tree.map(lambda a: a.astype(jnp.float32), (p, xs, h0))
    want = jaxrnn.gru_scan(*p32, lengths=jnp.asarray(LENGTHS))[1]
    np.testing.assert_allclose(hs.astype(jnp.float32), want, atol=2e-2)


def test_lower_precision_inputs_are_accepted():
    p, xs, h0 = _setup(jnp.float32)
    with jax.numpy_dtype_promotion("standard"):  # the check itself asks for a promotion
        h_T, hs = jaxrnn.gru_scan(p, xs.astype(jnp.bfloat16), h0.astype(jnp.bfloat16))
    assert hs.dtype == jnp.float32


def test_zero_steps_pass_the_state_through():
    p, xs, h0 = _setup(jnp.float32)
    h_T, hs = jaxrnn.gru_scan(p, xs[:, :0], h0)
    assert hs.shape == (B, 0, D_H)
    np.testing.assert_array_equal(h_T, h0)
