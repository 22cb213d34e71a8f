"""16-bit floats: on CPU the loops run in float32 and round once; elsewhere they keep the dtype.

XLA's CPU backend widens every 16-bit operation to float32, including the per-step write
into a loop's stacked outputs, which then converts the whole ``(T, ...)`` buffer at every
step: bfloat16 gradients cost O(T^2) (``jaxrnn._src.loops.common.cpu_float32``). These tests hold
the fix to its definition: the 16-bit result is exactly the float32 result rounded.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import jaxrnn

B, T, D_IN, D_H = 3, 40, 8, 16
LENGTHS = jnp.array([T, 17, 0])


def _cast(tree, dtype):
    return jax.tree.map(lambda a: a.astype(dtype), tree)


def _assert_rounded(got, want_f32, dtype):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want_f32), strict=True):
        assert g.dtype == dtype
        assert jnp.array_equal(g, w.astype(dtype)), float(jnp.max(jnp.abs(g - w)))


def _inputs(dtype):
    p = _cast(jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H), dtype)
    r = _cast(jaxrnn.init_rnn_params(jax.random.key(1), D_IN, D_H, 5), dtype)
    xs = jax.random.normal(jax.random.key(2), (B, T, D_IN)).astype(dtype)
    # a weight that 16-bit floats hold exactly, so both losses get the same cotangent
    w = jax.random.normal(jax.random.key(3), (B, T, D_H)).astype(dtype).astype(jnp.float32)
    return p, r, xs, w


@pytest.mark.parametrize("remat", [None, 7])
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_lstm_16_bit_on_cpu_is_float32_rounded(dtype, remat):
    p, _, xs, w = _inputs(dtype)
    p32, xs32 = _cast(p, jnp.float32), xs.astype(jnp.float32)

    def run(p, xs):
        return jaxrnn.lstm_scan(p, xs, lengths=LENGTHS, remat=remat)

    def grad(p, xs):
        loss = lambda p, xs: jnp.sum(run(p, xs)[1].astype(jnp.float32) * w)  # noqa: E731
        return jax.grad(loss, argnums=(0, 1))(p, xs)

    _assert_rounded(run(p, xs), run(p32, xs32), dtype)
    _assert_rounded(grad(p, xs), grad(p32, xs32), dtype)


@pytest.mark.parametrize("remat", [None, 7])
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_rnn_16_bit_on_cpu_is_float32_rounded(dtype, remat):
    _, r, xs, w = _inputs(dtype)
    r32, xs32 = _cast(r, jnp.float32), xs.astype(jnp.float32)

    def states(r, xs):  # (s_T, ss): the loop's results (the readout runs after it)
        return jaxrnn.rnn_scan(r, xs, lengths=LENGTHS, remat=remat)[:2]

    def grad(r, xs):
        loss = lambda r, xs: jnp.sum(states(r, xs)[1].astype(jnp.float32) * w)  # noqa: E731
        g = jax.grad(loss, argnums=(0, 1))(r, xs)
        return (g[0].U, g[0].W, g[0].b_s), g[1]  # the readout's V, b_o are not in the loss

    _assert_rounded(states(r, xs), states(r32, xs32), dtype)
    _assert_rounded(grad(r, xs), grad(r32, xs32), dtype)
