"""The sLSTM against the float64 NumPy equations (``tests/reference.py``): values, the
sequence rules (lengths, reverse, resets, state0), Newton's method with ``m_0 = -inf``, the
Jacobian diagonal, derivatives (central differences), float32 stability at T = 16,384 with
saturated gates, and the errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref

TOL64 = 1e-10  # float64 against the NumPy loops
TOL32 = 2e-5  # float32 paths against each other
FORMS = ("recurrent", "parallel", "chunkwise")


def _slstm(key=0, d_in=3, d_h=8, heads=2, dtype=jnp.float64):
    p = jaxrnn.init_slstm_params(jax.random.key(key), d_in, d_h, num_heads=heads, dtype=dtype)
    ks = jax.random.split(jax.random.key(key + 100), 4)  # non-zero biases
    return jaxrnn.SLSTMParams(*(
        g._replace(b=g.b + 0.5 * jax.random.normal(k, g.b.shape, dtype)) for g, k in zip(p, ks)
    ))  # fmt: skip


def _state_dict(state, b):
    return {f: np.asarray(getattr(state, f)[b]) for f in state._fields}


def _qkv(B=2, H=2, T=11, d_k=4, d_v=3, dtype=jnp.float64, key=0, scale=1.0):
    k = jax.random.split(jax.random.key(key), 5)
    q = jax.random.normal(k[0], (B, H, T, d_k), dtype)
    kk = jax.random.normal(k[1], (B, H, T, d_k), dtype)
    v = jax.random.normal(k[2], (B, H, T, d_v), dtype)
    i_pre = scale * jax.random.normal(k[3], (B, H, T), dtype)
    f_pre = scale * jax.random.normal(k[4], (B, H, T), dtype) + 1.0
    return q, kk, v, i_pre, f_pre


def _mstate(B=2, H=2, d_k=4, d_v=3, dtype=jnp.float64):
    k = jax.random.split(jax.random.key(7), 3)
    return jaxrnn.MLSTMState(
        C=jax.random.normal(k[0], (B, H, d_k, d_v), dtype),
        n=jax.random.normal(k[1], (B, H, d_k), dtype),
        m=jax.random.normal(k[2], (B, H), dtype),
    )


# --- the sLSTM ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "reverse"), [("sequential", False), ("sequential", True),
                                               ("newton", True)])  # fmt: skip
def test_slstm_scan_matches_the_reference(method, reverse, x64):
    p = _slstm()
    xs = jax.random.normal(jax.random.key(1), (3, 7, 3), jnp.float64)
    lengths = jnp.array([7, 4, 0])
    state_T, hs = jaxrnn.slstm_scan(p, xs, lengths=lengths, reverse=reverse, method=method)
    for b in range(3):
        want_T, want = ref.slstm_forward(p, xs[b], length=int(lengths[b]), reverse=reverse)
        np.testing.assert_allclose(hs[b], want, atol=TOL64, err_msg=f"{method} {reverse}")
        if lengths[b] > 0:
            for f in "hcnm":
                np.testing.assert_allclose(getattr(state_T, f)[b], want_T[f], atol=TOL64)
    # lengths 0: the state is the initial one (Newton: m_0 = -1e4 stands in for -inf)
    m0 = -jaxrnn._src.sequence.INFINITE_CARRY if method != "sequential" else -jnp.inf
    assert bool((state_T.m[2] == m0).all())


def test_slstm_with_a_state_matches_the_reference_and_steps(x64):
    p = _slstm(heads=4)
    xs = jax.random.normal(jax.random.key(1), (2, 6, 3), jnp.float64)
    k = jax.random.split(jax.random.key(2), 4)
    state0 = jaxrnn.SLSTMState(
        h=jax.random.normal(k[0], (2, 8), jnp.float64),
        c=jax.random.normal(k[1], (2, 8), jnp.float64),
        n=1 + jax.random.uniform(k[2], (2, 8), jnp.float64),
        m=jax.random.normal(k[3], (2, 8), jnp.float64),
    )
    state_T, hs = jaxrnn.slstm_scan(p, xs, state0)
    state = state0
    for t in range(6):
        state, h_t = jaxrnn.slstm_step(p, state, xs[:, t])
        np.testing.assert_allclose(h_t, hs[:, t], atol=TOL64)
    for b in range(2):
        want_T, want = ref.slstm_forward(p, xs[b], _state_dict(state0, b))
        np.testing.assert_allclose(hs[b], want, atol=TOL64)
        np.testing.assert_allclose(state_T.c[b], want_T["c"], atol=TOL64)


def test_slstm_resets_remat_and_carries(x64):
    p = _slstm()
    xs = jax.random.normal(jax.random.key(1), (2, 8, 3), jnp.float64)
    resets = jnp.zeros((2, 8), bool).at[0, 4].set(True).at[1, 2].set(True)
    _, hs = jaxrnn.slstm_scan(p, xs, resets=resets, reverse=True)
    _, first = jaxrnn.slstm_scan(p, xs[0, :4], reverse=True)
    _, second = jaxrnn.slstm_scan(p, xs[0, 4:], reverse=True)
    np.testing.assert_allclose(hs[0], jnp.concatenate([first, second]), atol=TOL64)
    other = jaxrnn.slstm_scan(p, xs, resets=resets, reverse=True, remat=3)[1]
    np.testing.assert_allclose(other, hs, atol=TOL64)
    _, hs, carries = jaxrnn.cell_scan(p, xs, return_carries=True, method="newton-diagonal")
    np.testing.assert_allclose(carries.h, jaxrnn.slstm_scan(p, xs)[1], atol=TOL64)
    assert carries.m.shape == (2, 8, 8)


def test_slstm_derivatives_central_differences(x64):
    p = _slstm(d_h=4, heads=2)
    xs = jax.random.normal(jax.random.key(1), (2, 5, 3), jnp.float64)
    lengths = jnp.array([5, 3])

    def loss(p, xs):
        state_T, hs = jaxrnn.slstm_scan(p, xs, lengths=lengths)
        return (hs**2).sum() + state_T.c.sum() + state_T.n.sum()

    jax.test_util.check_grads(loss, (p, xs), order=1, modes=["fwd", "rev"])


def test_slstm_jacobian_diagonal_is_the_diagonal(x64):
    p = _slstm()
    cell = jaxrnn.get_cell("slstm")
    k = jax.random.split(jax.random.key(3), 4)
    state = jaxrnn.SLSTMState(*(jax.random.normal(kk, (8,), jnp.float64) for kk in k))
    state = state._replace(n=1 + jnp.abs(state.n))
    x = jnp.ones(3, jnp.float64)
    J = jax.jacfwd(lambda s: cell.step(p, s, x)[0])(state)
    diag = cell.jacobian_diagonal(p, state, x)
    for f in "hcnm":
        np.testing.assert_allclose(getattr(diag, f), jnp.diagonal(getattr(getattr(J, f), f)),
                                   atol=TOL64)  # fmt: skip


def test_slstm_is_stable_in_float32_with_saturated_gates():
    p = _slstm(d_in=2, d_h=4, heads=1, dtype=jnp.float32)
    p = p._replace(i=p.i._replace(b=p.i.b + 40.0), f=p.f._replace(b=p.f.b - 40.0))
    xs = 5 * jax.random.normal(jax.random.key(1), (1, 16384, 2))
    state_T, hs = jaxrnn.slstm_scan(p, xs)
    assert bool(jnp.isfinite(hs).all()) and bool(jnp.isfinite(state_T.m).all())
    _, want = ref.slstm_forward(p, xs[0])
    np.testing.assert_allclose(hs[0], want, atol=1e-4)
    g = jax.grad(lambda p: jaxrnn.slstm_scan(p, xs[:, :64], lengths=jnp.array([40]))[1].sum())(p)
    assert all(bool(jnp.isfinite(a).all()) for a in jax.tree.leaves(g))


def test_slstm_dtypes_and_errors():
    p = _slstm(dtype=jnp.float32)
    _, hs = jaxrnn.slstm_scan(p, jnp.ones((2, 4, 3), jnp.bfloat16))
    assert hs.dtype == jnp.float32
    with pytest.raises(ValueError, match="expected num_heads to divide d_h=8"):
        jaxrnn.init_slstm_params(jax.random.key(0), 3, 8, num_heads=3)
    with pytest.raises(ValueError, match=r"slstm_scan: expected xs to have shape \(..., T, d_in\)"):
        jaxrnn.slstm_scan(p, jnp.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"expected params.f.W to have shape \(2, 4, 4\)"):
        jaxrnn.slstm_scan(p._replace(f=p.f._replace(W=jnp.ones((1, 8, 8)))), jnp.ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected params.i.W to have shape \(heads"):
        jaxrnn.slstm_scan(p._replace(i=p.i._replace(W=jnp.ones((8, 8)))), jnp.ones((4, 3)))
    with pytest.raises(TypeError, match="expected params to be a jaxrnn.SLSTMParams"):
        jaxrnn.slstm_scan(jaxrnn.init_lstm_params(jax.random.key(0), 3, 8)._asdict(),
                          jnp.ones((4, 3)))  # fmt: skip
    with pytest.raises(TypeError, match=r"expected state0 to be a jaxrnn.SLSTMState"):
        jaxrnn.slstm_scan(p, jnp.ones((4, 3)), jaxrnn.LSTMState(jnp.ones(8), jnp.ones(8)))
    with jax.enable_x64(True), pytest.raises(TypeError, match="expected xs with dtype float32"):
        jaxrnn.slstm_scan(p, jnp.ones((4, 3), jnp.float64))
    with pytest.raises(ValueError, match="method='parallel' needs a cell that is linear"):
        jaxrnn.slstm_scan(p, jnp.ones((4, 3)), method="parallel")
