"""The blocked CPU forward of the minGRU / minLSTM: block sizes, the float64 reference with
several blocks (lengths, reverse, h0), the unblocked form, and derivatives through it."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src.linear import block_steps, blocked, unblocked
from tests import reference as ref
from tests.jaxrnn.test_cells import _nonzero_biases

pytestmark = pytest.mark.usefixtures("strict_promotion")

B, T, D_IN, D_H = 4, 12, 3, 5
CELLS = {
    "mingru": (jaxrnn.init_mingru_params, jaxrnn.mingru_scan, ref.mingru_forward,
               jaxrnn.get_cell("mingru")),
    "minlstm": (jaxrnn.init_minlstm_params, jaxrnn.minlstm_scan, ref.minlstm_forward,
                jaxrnn.get_cell("minlstm")),
}  # fmt: skip


def _setup(cell, dtype, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    p = _nonzero_biases(CELLS[cell][0](k[0], D_IN, D_H, dtype=dtype), k[1])
    xs = jax.random.normal(k[2], (B, T, D_IN), dtype)
    h0 = 0.5 * jax.random.normal(k[3], (B, D_H), dtype)
    return p, xs, h0


def _blocked(cell, p, xs, h0, lengths, reverse, K):
    """The blocked form on batch-major inputs, with ``K`` steps per block."""
    mask = None if lengths is None else jnp.arange(T)[:, None] < lengths[None]
    h_T, hs = blocked(CELLS[cell][3], reverse, p, jnp.moveaxis(xs, 1, 0), h0, mask, None, K=K)
    hs = hs if mask is None else jnp.where(mask[..., None], hs, 0)
    return h_T, jnp.moveaxis(hs, 0, 1)


@pytest.mark.parametrize(
    ("T_", "n", "expected"),
    [(1000, 1, 1000), (2000, 16, 250), (100000, 1, 4000), (4096, 16, 256), (300, 64, 60),
     (1999, 16, 1999), (7, 4096, 1), (1, 1, 1)],
)  # fmt: skip
def test_block_steps_picks_a_divisor_near_the_target(T_, n, expected):
    K = block_steps(T_, n)
    assert K == expected and T_ % K == 0


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(
    ("cell", "K", "reverse", "lengths"),
    list(itertools.product(CELLS, [1, 3, 4, 12], [False, True], [None, np.array([12, 7, 1, 0])])),
)
def test_blocked_matches_float64_reference(cell, K, reverse, lengths):
    p, xs, h0 = _setup(cell, jnp.float64)
    lengths = None if lengths is None else jnp.asarray(lengths)
    h_T, hs = _blocked(cell, p, xs, h0, lengths, reverse, K)
    for b in range(B):
        L = None if lengths is None else int(lengths[b])
        h_ref, hs_ref = CELLS[cell][2](p, xs[b], h0=h0[b], length=L, reverse=reverse)
        np.testing.assert_allclose(h_T[b], h_ref, atol=1e-12)
        np.testing.assert_allclose(hs[b], hs_ref, atol=1e-12)


@pytest.mark.parametrize(("cell", "reverse"), list(itertools.product(CELLS, [False, True])))
def test_blocked_equals_unblocked_in_float32(cell, reverse):
    """Each step is the same arithmetic in both forms: equal to the rounding of fused
    elementwise expressions (exactly equal for the minGRU on XLA's CPU backend today)."""
    p, xs, h0 = _setup(cell, jnp.float32, seed=1)
    spec = CELLS[cell][3]
    x_time = jnp.moveaxis(xs, 1, 0)
    h_u, hs_u = unblocked(spec, reverse, p, x_time, h0, None, None)
    h_b, hs_b = _blocked(cell, p, xs, h0, None, reverse, 4)
    np.testing.assert_allclose(h_b, h_u, atol=1e-6, rtol=0)
    np.testing.assert_allclose(jnp.moveaxis(hs_b, 0, 1), hs_u, atol=1e-6, rtol=0)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("cell", CELLS)
def test_scan_with_several_blocks_matches_reference_and_differentiates(cell):
    """A shape where ``mingru_scan`` cuts the steps into several blocks (n = 64 rows per
    step: 60-step blocks of T = 300): values, and forward and reverse derivatives against
    the sequential form (whose own derivatives the other tests check)."""
    k = jax.random.split(jax.random.key(3), 3)
    p = _nonzero_biases(CELLS[cell][0](k[0], 2, 3, dtype=jnp.float64), k[1])
    xs = jax.random.normal(k[2], (64, 300, 2), jnp.float64)
    lengths = jnp.arange(64) * 5
    assert block_steps(300, 64) == 60
    scan = CELLS[cell][1]
    h_T, hs = scan(p, xs, lengths=lengths, reverse=True)
    for b in (0, 1, 37, 63):
        h_ref, hs_ref = CELLS[cell][2](p, xs[b], length=int(lengths[b]), reverse=True)
        np.testing.assert_allclose(h_T[b], h_ref, atol=1e-12)
        np.testing.assert_allclose(hs[b], hs_ref, atol=1e-12)

    def loss(par, x, parallel):
        return (scan(par, x, lengths=lengths, parallel=parallel)[1] ** 2).sum()

    g = jax.grad(loss, argnums=(0, 1))(p, xs, True)
    g_seq = jax.grad(loss, argnums=(0, 1))(p, xs, False)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_seq)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    dx = jax.random.normal(jax.random.key(4), xs.shape, jnp.float64)
    t = jax.jvp(lambda x: scan(p, x)[1], (xs,), (dx,))[1]
    t_seq = jax.jvp(lambda x: scan(p, x, parallel=False)[1], (xs,), (dx,))[1]
    np.testing.assert_allclose(t, t_seq, atol=1e-12)
