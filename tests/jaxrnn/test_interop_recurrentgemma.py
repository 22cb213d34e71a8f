"""RecurrentGemma's ``RGLRU`` and ``RecurrentBlock`` against jaxrnn's RG-LRU and Hawk block:
the converters both ways, forward values (``segment_pos`` resets, an initial state, the
decoding cache) and gradients, float32. Skipped where ``recurrentgemma`` is not installed
(``pip install --no-deps recurrentgemma==1.0.1``: a test-only dependency)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import interop

rg_layers = pytest.importorskip("recurrentgemma.jax.layers")
rg_modules = pytest.importorskip("recurrentgemma.jax.modules")

OUT_TOL = 2e-6  # float32: RecurrentGemma's forward pass against ours
GRAD_TOL = 2e-5  # float32 gradients, relative to the largest entry
B, T, D, H, D_R = 2, 9, 8, 2, 6


def _segment_pos():
    """Example 0 starts a document at t = 0 and another at t = 5; example 1 continues a
    document from an earlier call (no start at t = 0: the initial state is read) and starts
    one at t = 3."""
    pos = np.stack([np.r_[np.arange(5), np.arange(4)], np.r_[np.arange(7, 10), np.arange(6)]])
    return jnp.asarray(pos, jnp.int32)


def _spread(variables, key):
    """RecurrentGemma initialises biases at zero; random ones (and perturbed matrices) test
    the layout of every entry."""
    leaves, tree = jax.tree.flatten(variables)
    keys = jax.random.split(key, len(leaves))
    leaves = [a + 0.3 * jax.random.normal(k, a.shape) if a.ndim <= 2 else a
              for a, k in zip(leaves, keys)]  # fmt: skip
    return jax.tree.unflatten(tree, leaves)


def _close(got, want, tol):
    scale = max(float(jnp.abs(want).max()), 1.0)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=tol * scale)


def test_rglru_forward_and_gradients_equal_recurrentgemma():
    k = jax.random.split(jax.random.key(0), 4)
    layer = rg_layers.RGLRU(width=D, num_heads=H)
    x = jax.random.normal(k[0], (B, T, D))
    pos = _segment_pos()
    variables = _spread(layer.init(k[1], x, pos), k[2])
    h0 = jax.random.normal(k[3], (B, D))
    p = interop.from_recurrentgemma_rglru(variables)
    resets = pos == 0

    y, last_h = jax.jit(layer.apply)(variables, x, pos, h0)
    h_T, hs = jaxrnn.rglru_scan(p, x, h0, resets=resets)
    _close(hs, y, OUT_TOL)
    _close(h_T, last_h, OUT_TOL)
    _close(jaxrnn.rglru_scan(p, x, h0, resets=resets, parallel=False)[1], y, OUT_TOL)

    w = jax.random.normal(jax.random.key(9), (B, T, D))
    g_rg, gx_rg = jax.jit(jax.grad(lambda v, x: (layer.apply(v, x, pos, h0)[0] * w).sum(),
                                   argnums=(0, 1)))(variables, x)  # fmt: skip
    g, gx = jax.jit(jax.grad(lambda p, x: (jaxrnn.rglru_scan(p, x, h0, resets=resets)[1]
                                           * w).sum(), argnums=(0, 1)))(p, x)  # fmt: skip
    want = interop.from_recurrentgemma_rglru(g_rg)  # the converter is a permutation
    for name in p._fields:
        _close(getattr(g, name), getattr(want, name), GRAD_TOL)
    _close(gx, gx_rg, GRAD_TOL)


def test_recurrent_block_forward_cache_and_gradients_equal_recurrentgemma():
    k = jax.random.split(jax.random.key(1), 3)
    block = rg_modules.RecurrentBlock(width=D, num_heads=H, lru_width=D_R)
    x = jax.random.normal(k[0], (B, T, D))
    pos = _segment_pos()
    variables = _spread(block.init(k[1], x, pos), k[2])
    p = interop.from_recurrentgemma_recurrent_block(variables)
    resets = pos == 0

    y, cache = jax.jit(block.apply)(variables, x, pos)
    c_T, ys = jaxrnn.hawk_scan(p, x, resets=resets)
    _close(ys, y, OUT_TOL)
    state = interop.from_recurrentgemma_cache(cache)
    _close(c_T.h, state.h, OUT_TOL)
    _close(c_T.window, state.window, OUT_TOL)  # no document starts in the last 3 steps
    _close(jaxrnn.hawk_scan(p, x, resets=resets, parallel=False)[1], y, OUT_TOL)

    w = jax.random.normal(jax.random.key(9), (B, T, D))
    g_rg, gx_rg = jax.jit(jax.grad(lambda v, x: (block.apply(v, x, pos)[0] * w).sum(),
                                   argnums=(0, 1)))(variables, x)  # fmt: skip
    g, gx = jax.jit(jax.grad(lambda p, x: (jaxrnn.hawk_scan(p, x, resets=resets)[1] * w).sum(),
                             argnums=(0, 1)))(p, x)  # fmt: skip
    want = interop.from_recurrentgemma_recurrent_block(g_rg)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(want)):
        _close(a, b, GRAD_TOL)
    _close(gx, gx_rg, GRAD_TOL)


def test_decoding_steps_equal_recurrentgemma_with_its_cache():
    """RecurrentGemma decodes one token per call from its cache (conv window, RG-LRU state):
    ``hawk_step`` from the converted cache gives the same outputs and cache."""
    k = jax.random.split(jax.random.key(2), 3)
    block = rg_modules.RecurrentBlock(width=D, num_heads=H, lru_width=D_R)
    x = jax.random.normal(k[0], (B, 6, D))
    variables = _spread(block.init(k[1], x[:, :1], jnp.zeros((B, 1), jnp.int32)), k[2])
    p = interop.from_recurrentgemma_recurrent_block(variables)
    cache = rg_modules.RecurrentBlock.init_cache(B, D_R, jnp.float32)
    carry = interop.from_recurrentgemma_cache(cache)
    apply = jax.jit(block.apply)
    for t in range(6):
        pos = jnp.full((B, 1), t, jnp.int32)
        y, cache = apply(variables, x[:, t : t + 1], pos, cache)
        carry, o = jaxrnn.hawk_step(p, carry, x[:, t], reset=t == 0)
        _close(o, y[:, 0], OUT_TOL)
        state = interop.from_recurrentgemma_cache(cache)
        _close(carry.window, state.window, OUT_TOL)
        _close(carry.h, state.h, OUT_TOL)
    # the whole sequence in parallel reaches the same final carry
    c_T, _ = jaxrnn.hawk_scan(p, x, resets=jnp.arange(6)[None].repeat(B, 0) == 0)
    _close(c_T.h, carry.h, OUT_TOL)


def test_converters_round_trip_and_recurrentgemma_runs_our_weights():
    p = jaxrnn.init_hawk_params(jax.random.key(3), D, D, lru_width=D_R, num_heads=H)
    v = interop.to_recurrentgemma_recurrent_block(p)
    back = interop.from_recurrentgemma_recurrent_block(v)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(p)):
        np.testing.assert_array_equal(a, b)
    block = rg_modules.RecurrentBlock(width=D, num_heads=H, lru_width=D_R)
    x = jax.random.normal(jax.random.key(4), (B, T, D))
    pos = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
    y, _ = jax.jit(block.apply)(v, x, pos)
    _close(jaxrnn.hawk_scan(p, x, resets=pos == 0)[1], y, OUT_TOL)
    r = interop.to_recurrentgemma_rglru(p.rglru)
    assert jax.tree.map(jnp.shape, r) == jax.tree.map(
        jnp.shape, rg_layers.RGLRU(width=D_R, num_heads=H).init(jax.random.key(0), x[..., :D_R],
                                                               pos))  # fmt: skip


def test_converters_refuse_what_they_cannot_represent():
    with pytest.raises(ValueError, match="a complex one \\(a_imag_param\\) has no jaxrnn equivalent"):
        interop.from_recurrentgemma_rglru({"a_param": 0, "a_gate": 0, "input_gate": 0,
                                           "a_imag_param": 0})  # fmt: skip
    with pytest.raises(ValueError, match="expected RecurrentGemma variables with"):
        interop.from_recurrentgemma_recurrent_block({"params": {"linear_y": {}}})
    with pytest.raises(ValueError, match=r"expected a_gate to hold w \(num_heads, in, out\)"):
        interop.from_recurrentgemma_rglru({"a_param": jnp.ones(4), "a_gate": {"w": jnp.ones((4, 4)), "b": jnp.ones(4)},
                                           "input_gate": {}})  # fmt: skip
