"""The mLSTM and the sLSTM against ``xlstm`` (2.0.6, PyTorch, CPU) on the same inputs, in
float64: ``parallel_stabilized_simple``, ``recurrent_step_stabilized_simple``,
``chunkwise_simple`` and the vanilla sLSTM (``slstm_forward``). Skipped where ``xlstm`` or
``torch`` is absent (``pip install torch==2.13.0``, then ``pip install --no-deps
xlstm==2.0.6 einops omegaconf dacite``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

torch = pytest.importorskip("torch")
backends = pytest.importorskip("xlstm.blocks.mlstm.backends")
vanilla = pytest.importorskip("xlstm.blocks.slstm.src.vanilla")

TOL = 1e-10  # float64, both sides


def _inputs(B=2, H=2, T=12, d=4, key=0):
    k = jax.random.split(jax.random.key(key), 5)
    q, kk, v = (jax.random.normal(k[j], (B, H, T, d), jnp.float64) for j in range(3))
    i_pre = 2 * jax.random.normal(k[3], (B, H, T), jnp.float64)
    f_pre = 2 * jax.random.normal(k[4], (B, H, T), jnp.float64) + 2
    return q, kk, v, i_pre, f_pre


def _t(a):
    return torch.from_numpy(np.asarray(a))


def test_parallel_stabilized_simple(x64):
    q, k, v, i_pre, f_pre = _inputs()
    want = backends.parallel_stabilized_simple(_t(q), _t(k), _t(v), _t(i_pre)[..., None],
                                               _t(f_pre)[..., None]).numpy()  # fmt: skip
    for form in ("parallel", "chunkwise", "recurrent"):
        h, _ = jaxrnn.mlstm(q, k, v, i_pre, f_pre, form=form, chunk_size=5)
        np.testing.assert_allclose(h, want, atol=TOL, rtol=TOL, err_msg=form)


def test_recurrent_step_stabilized_simple(x64):
    q, k, v, i_pre, f_pre = _inputs(T=6)
    B, H, T, d = q.shape
    # xlstm's step starts from m = 0 (its parallel form from -inf): give both the same state
    state = jaxrnn.MLSTMState(C=jnp.zeros((B, H, d, d)), n=jnp.zeros((B, H, d)),
                              m=jnp.zeros((B, H)))  # fmt: skip
    C, n, m = _t(state.C), _t(state.n)[..., None], _t(state.m)[..., None, None]
    hs = []
    for t in range(T):
        sl = slice(t, t + 1)
        h_t, (C, n, m) = backends.recurrent_step_stabilized_simple(
            C, n, m, _t(q[:, :, sl]), _t(k[:, :, sl]), _t(v[:, :, sl]),
            _t(i_pre[:, :, sl])[..., None], _t(f_pre[:, :, sl])[..., None],
        )  # fmt: skip
        hs.append(h_t[:, :, 0].numpy())
    h, state_T = jaxrnn.mlstm(q, k, v, i_pre, f_pre, state, form="recurrent")
    np.testing.assert_allclose(h, np.stack(hs, 2), atol=TOL, rtol=TOL)
    np.testing.assert_allclose(state_T.C, C.numpy(), atol=TOL, rtol=TOL)
    np.testing.assert_allclose(state_T.n, n[..., 0].numpy(), atol=TOL, rtol=TOL)
    np.testing.assert_allclose(state_T.m, m[..., 0, 0].numpy(), atol=TOL, rtol=TOL)


def test_chunkwise_simple(x64):
    q, k, v, i_pre, f_pre = _inputs(T=12)
    B, H, T, d = q.shape
    kk = jax.random.split(jax.random.key(9), 3)
    state = jaxrnn.MLSTMState(
        C=jax.random.normal(kk[0], (B, H, d, d), jnp.float64),
        n=jax.random.normal(kk[1], (B, H, d), jnp.float64),
        m=jax.random.normal(kk[2], (B, H), jnp.float64),
    )
    # chunkwise_simple scales q (not k) by 1/sqrt(d): its C and n are ours times sqrt(d)
    s = np.sqrt(d)
    want, (C, n, m) = backends.chunkwise_simple(
        _t(q), _t(k), _t(v), _t(i_pre), _t(f_pre), initial_C=_t(state.C) * s,
        initial_n=_t(state.n) * s, initial_m=_t(state.m), chunk_size=4,
        return_last_state=True,
    )  # fmt: skip
    for form in ("chunkwise", "parallel", "recurrent"):
        h, state_T = jaxrnn.mlstm(q, k, v, i_pre, f_pre, state, form=form, chunk_size=4)
        np.testing.assert_allclose(h, want.numpy(), atol=TOL, rtol=TOL, err_msg=form)
        np.testing.assert_allclose(state_T.C * s, C.numpy(), atol=TOL, rtol=TOL)
        np.testing.assert_allclose(state_T.n * s, n.numpy(), atol=TOL, rtol=TOL)
        np.testing.assert_allclose(state_T.m, m[..., 0, 0].numpy(), atol=TOL, rtol=TOL)


def test_vanilla_slstm(x64):
    d_in, d_h, H, B, T = 3, 8, 2, 2, 7
    p = jaxrnn.init_slstm_params(jax.random.key(0), d_in, d_h, num_heads=H, dtype=jnp.float64)
    kb = jax.random.split(jax.random.key(1), 4)
    p = jaxrnn.SLSTMParams(*(g._replace(b=jax.random.normal(k, (d_h,), jnp.float64))
                             for g, k in zip(p, kb)))  # fmt: skip
    xs = jax.random.normal(jax.random.key(2), (B, T, d_in), jnp.float64)
    # xlstm's loop takes the input products Wx (T, B, 4 d_h), gates (i, f, z, o), and its
    # recurrent kernel as (heads, 4 d, d): row g d + j of head h is row j of W_g's block h
    Wx = np.concatenate([np.asarray(xs @ g.U.T) for g in p], -1).transpose(1, 0, 2)
    R = np.concatenate([np.asarray(g.W) for g in p], axis=1)
    b = np.concatenate([np.asarray(g.b) for g in p])
    states = torch.zeros((4, B, d_h), dtype=torch.float64)
    states_all, _, _ = vanilla.slstm_forward(
        _t(Wx), states, _t(R), _t(b), vanilla.slstm_pointwise_function_registry["slstm"]
    )
    state_T, hs = jaxrnn.slstm_scan(p, xs)
    np.testing.assert_allclose(hs, states_all[0, 1:].numpy().transpose(1, 0, 2), atol=TOL)
    for j, f in enumerate("hcnm"):
        np.testing.assert_allclose(getattr(state_T, f), states_all[j, -1].numpy(), atol=TOL)
