"""The sLSTM against the float64 NumPy equations (``tests/reference.py``): values, the
sequence rules (lengths, reverse, resets, state0), Newton's method with ``m_0 = -inf``, the
Jacobian diagonal, derivatives (central differences), float32 stability at T = 16,384 with
saturated gates, and the errors."""

from __future__ import annotations

import functools

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
    """``init_slstm_params`` with initialisers drawn on the host (NumPy: no program compiled
    per shape): every ``U`` Glorot uniform, every block of ``W`` orthogonal (the defaults'
    laws), and non-zero biases ``0.5 N(0, 1)``."""
    rng = np.random.default_rng(key)

    def glorot(_, shape, dtype):
        limit = np.sqrt(6 / sum(shape))
        return rng.uniform(-limit, limit, shape).astype(dtype)

    def orthogonal(_, shape, dtype):
        q, r = np.linalg.qr(rng.standard_normal(shape))
        return (q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]).astype(dtype)

    def bias(_, shape, dtype):
        return (0.5 * rng.standard_normal(shape)).astype(dtype)

    return jaxrnn.init_slstm_params(jax.random.key(key), d_in, d_h, num_heads=heads,
                                    dtype=dtype, U_init=glorot, W_init=orthogonal,
                                    b_init=bias)  # fmt: skip


def _host(tree):
    """Every leaf as a NumPy array: indexing and comparing them compiles nothing."""
    return jax.tree.map(np.asarray, tree)


def _normal(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


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
    xs = _normal(1, (3, 7, 3))
    lengths = np.array([7, 4, 0])
    state_T, hs = _host(jaxrnn.slstm_scan(p, xs, lengths=lengths, reverse=reverse,
                                          method=method))  # fmt: skip
    for b in range(3):
        want_T, want = ref.slstm_forward(p, xs[b], length=int(lengths[b]), reverse=reverse)
        np.testing.assert_allclose(hs[b], want, atol=TOL64, err_msg=f"{method} {reverse}")
        if lengths[b] > 0:
            for f in "hcnm":
                np.testing.assert_allclose(getattr(state_T, f)[b], want_T[f], atol=TOL64)
    # lengths 0: the state is the initial one (Newton: m_0 = -1e4 stands in for -inf)
    m0 = -jaxrnn._src.sequence.INFINITE_CARRY if method != "sequential" else -np.inf
    assert bool((state_T.m[2] == m0).all())


def test_slstm_with_a_state_matches_the_reference_and_steps(x64):
    p = _slstm(heads=4)
    xs = _normal(1, (2, 6, 3))
    rng = np.random.default_rng(2)
    state0 = jaxrnn.SLSTMState(
        h=rng.standard_normal((2, 8)),
        c=rng.standard_normal((2, 8)),
        n=1 + rng.uniform(size=(2, 8)),
        m=rng.standard_normal((2, 8)),
    )
    state_T, hs = _host(jaxrnn.slstm_scan(p, xs, state0))
    step = jax.jit(jaxrnn.slstm_step)  # one program for the six steps
    state = state0
    for t in range(6):
        state, h_t = step(p, state, xs[:, t])
        np.testing.assert_allclose(h_t, hs[:, t], atol=TOL64)
    for b in range(2):
        want_T, want = ref.slstm_forward(p, xs[b], _state_dict(state0, b))
        np.testing.assert_allclose(hs[b], want, atol=TOL64)
        np.testing.assert_allclose(state_T.c[b], want_T["c"], atol=TOL64)


def test_slstm_resets_remat_and_carries(x64):
    p = _slstm()
    xs = _normal(1, (2, 8, 3))
    resets = np.zeros((2, 8), bool)
    resets[0, 4] = resets[1, 2] = True

    @jax.jit
    def run(p, xs, resets):  # the six scans: one program
        return (
            jaxrnn.slstm_scan(p, xs, resets=resets, reverse=True)[1],
            jaxrnn.slstm_scan(p, xs[0, :4], reverse=True)[1],
            jaxrnn.slstm_scan(p, xs[0, 4:], reverse=True)[1],
            jaxrnn.slstm_scan(p, xs, resets=resets, reverse=True, remat=3)[1],
            jaxrnn.cell_scan(p, xs, return_carries=True, method="newton-diagonal")[2],
            jaxrnn.slstm_scan(p, xs)[1],
        )

    hs, first, second, other, carries, plain = _host(run(p, xs, resets))
    np.testing.assert_allclose(hs[0], np.concatenate([first, second]), atol=TOL64)
    np.testing.assert_allclose(other, hs, atol=TOL64)
    np.testing.assert_allclose(carries.h, plain, atol=TOL64)
    assert carries.m.shape == (2, 8, 8)


def test_slstm_derivatives_central_differences(x64):
    p = _slstm(d_h=4, heads=2)
    xs = _normal(1, (2, 5, 3))
    lengths = jnp.array([5, 3])

    def loss(p, xs):
        state_T, hs = jaxrnn.slstm_scan(p, xs, lengths=lengths)
        return (hs**2).sum() + state_T.c.sum() + state_T.n.sum()

    jax.test_util.check_grads(jax.jit(loss), (p, xs), order=1, modes=["fwd", "rev"])


def test_slstm_jacobian_diagonal_is_the_diagonal(x64):
    p = _slstm()
    cell = jaxrnn.get_cell("slstm")
    rng = np.random.default_rng(3)
    state = jaxrnn.SLSTMState(*(rng.standard_normal(8) for _ in range(4)))
    state = state._replace(n=1 + np.abs(state.n))
    x = np.ones(3)

    @jax.jit
    def both(p, state, x):  # the Jacobian and its diagonal: one program
        J = jax.jacfwd(lambda s: cell.step(p, s, x)[0])(state)
        return J, cell.jacobian_diagonal(p, state, x)

    J, diag = _host(both(p, state, x))
    for f in "hcnm":
        np.testing.assert_allclose(getattr(diag, f), np.diagonal(getattr(getattr(J, f), f)),
                                   atol=TOL64)  # fmt: skip


def test_slstm_is_stable_in_float32_with_saturated_gates():
    p = _slstm(d_in=2, d_h=4, heads=1, dtype=jnp.float32)
    p = p._replace(i=p.i._replace(b=p.i.b + 40.0), f=p.f._replace(b=p.f.b - 40.0))
    # jax.random's draw (one program), scaled on the host: bit for bit the eager draw
    xs = 5 * np.asarray(jax.jit(lambda: jax.random.normal(jax.random.key(1), (1, 16384, 2)))())

    @jax.jit
    def run(p, xs):  # the scan and the gradient: one program
        grad = jax.grad(lambda p: jaxrnn.slstm_scan(p, xs[:, :64], lengths=jnp.array([40]))[1]
                        .sum())  # fmt: skip
        return jaxrnn.slstm_scan(p, xs), grad(p)

    (state_T, hs), g = _host(run(p, xs))
    assert bool(np.isfinite(hs).all()) and bool(np.isfinite(state_T.m).all())
    _, want = ref.slstm_forward(p, xs[0])
    np.testing.assert_allclose(hs[0], want, atol=1e-4)
    assert all(bool(np.isfinite(a).all()) for a in jax.tree.leaves(g))


def test_slstm_dtypes_and_errors():
    p = _slstm(dtype=jnp.float32)
    ones = functools.partial(np.ones, dtype=np.float32)  # host arrays: nothing compiled
    _, hs = jaxrnn.slstm_scan(p, np.ones((2, 4, 3), jnp.bfloat16))
    assert hs.dtype == jnp.float32
    with pytest.raises(ValueError, match="expected num_heads to divide d_h=8"):
        jaxrnn.init_slstm_params(jax.random.key(0), 3, 8, num_heads=3)
    with pytest.raises(ValueError, match=r"slstm_scan: expected xs to have shape \(..., T, d_in\)"):
        jaxrnn.slstm_scan(p, ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"expected params.f.W to have shape \(2, 4, 4\)"):
        jaxrnn.slstm_scan(p._replace(f=p.f._replace(W=ones((1, 8, 8)))), ones((4, 3)))
    with pytest.raises(ValueError, match=r"expected params.i.W to have shape \(heads"):
        jaxrnn.slstm_scan(p._replace(i=p.i._replace(W=ones((8, 8)))), ones((4, 3)))
    lstm = jax.jit(jaxrnn.init_lstm_params, static_argnums=(1, 2))(jax.random.key(0), 3, 8)
    with pytest.raises(TypeError, match="expected params to be a jaxrnn.SLSTMParams"):
        jaxrnn.slstm_scan(lstm._asdict(), ones((4, 3)))
    with pytest.raises(TypeError, match=r"expected state0 to be a jaxrnn.SLSTMState"):
        jaxrnn.slstm_scan(p, ones((4, 3)), jaxrnn.LSTMState(ones(8), ones(8)))
    with jax.enable_x64(True), pytest.raises(TypeError, match="expected xs with dtype float32"):
        jaxrnn.slstm_scan(p, np.ones((4, 3), jnp.float64))
    with pytest.raises(ValueError, match="method='parallel' needs a cell that is linear"):
        jaxrnn.slstm_scan(p, ones((4, 3)), method="parallel")
