"""lstm_scan(fused_vjp=True): same values and gradients as autodiff of the scan, reverse mode only."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # fused vs autodiff, float64
F32_TOL = 1e-5
D_IN, D_H, T = 3, 5, 7
LENGTHS = [[7, 3, 0, 5], [1, 7, 6, 2]]


def _setup(dtype):
    k = jax.random.split(jax.random.key(0), 5)
    p = jaxrnn.init_lstm_params(k[0], D_IN, D_H, dtype=dtype)
    p = jaxrnn.LSTMParams(*(g._replace(b=0.3 * jax.random.normal(k[1], g.b.shape, dtype)) for g in p))
    xs = jax.random.normal(k[2], (2, 4, T, D_IN), dtype)
    state0 = jaxrnn.LSTMState(h=jax.random.normal(k[3], (2, 4, D_H), dtype),
                              C=jax.random.normal(k[4], (2, 4, D_H), dtype))  # fmt: skip
    return p, xs, state0


def _loss(p, xs, state0, fused, **kw):
    st, hs = jaxrnn.lstm_scan(p, xs, state0, fused_vjp=fused, **kw)
    return jnp.sum(jnp.sin(hs)) + jnp.sum(st.C**2) + jnp.sum(jnp.cos(st.h))


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero", "state0"])
def test_fused_vjp_equals_autodiff_float64(lengths, reverse, with_state):
    p, xs, state0 = _setup(jnp.float64)
    state0 = state0 if with_state else None
    kw = dict(lengths=None if lengths is None else jnp.array(lengths), reverse=reverse)
    argnums = (0, 1, 2) if with_state else (0, 1)
    want = jax.grad(_loss, argnums=argnums)(p, xs, state0, False, **kw)
    got = jax.grad(_loss, argnums=argnums)(p, xs, state0, True, **kw)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, atol=F64_TOL, rtol=F64_TOL)
    out_f = jaxrnn.lstm_scan(p, xs, state0, fused_vjp=True, **kw)
    out_a = jaxrnn.lstm_scan(p, xs, state0, **kw)
    for a, b in zip(jax.tree.leaves(out_f), jax.tree.leaves(out_a), strict=True):
        np.testing.assert_allclose(a, b, atol=F64_TOL)
    if lengths is not None:  # padding inputs get exactly zero gradient
        pad = np.arange(T)[None, None, :] >= np.array(lengths)[..., None]
        assert not np.any(np.asarray(got[1])[pad])


def test_fused_vjp_float32_unroll_and_vmap():
    p, xs, state0 = _setup(jnp.float32)
    want = jax.grad(_loss, argnums=(0, 1))(p, xs, state0, False)
    got = jax.grad(_loss, argnums=(0, 1))(p, xs, state0, True, unroll=3)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(a, b, atol=F32_TOL, rtol=F32_TOL)
    per_example = jax.vmap(jax.grad(lambda x: _loss(p, x[None], None, True)))(xs[0])
    np.testing.assert_allclose(per_example, jax.grad(_loss, 1)(p, xs[0], None, True),
                               atol=F32_TOL)  # fmt: skip


def test_fused_vjp_is_reverse_mode_only_and_checks_its_flag():
    p, xs, _ = _setup(jnp.float32)
    with pytest.raises(TypeError, match="forward-mode"):
        jax.jvp(lambda x: jaxrnn.lstm_scan(p, x, fused_vjp=True)[1], (xs,), (xs,))
    with pytest.raises(ValueError, match="expected remat=None with fused_vjp=True"):
        jaxrnn.lstm_scan(p, xs, fused_vjp=True, remat=2)
    with pytest.raises(TypeError, match="expected fused_vjp to be True or False, got 1"):
        jaxrnn.lstm_scan(p, xs, fused_vjp=1)
