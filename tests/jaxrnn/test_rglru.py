"""The RG-LRU and the Hawk block: the float64 reference, parallel == sequential, the reset
and padding rules, streaming, initialisation, errors (derivatives: ``test_rglru_grads.py``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # float64 against the float64 reference
F32_TOL = 2e-5  # float32 against the reference; parallel against sequential in float32
B, T, D, H = 3, 7, 4, 2  # RG-LRU: d = 4 channels in 2 heads
D_IN, D_R, D_OUT = 3, 4, 5  # Hawk: 3 in, 4 RG-LRU channels, 5 out
LENGTHS = np.array([7, 4, 0])  # full, partial, empty
RESETS = np.zeros((B, T), bool)
RESETS[0, 0] = RESETS[0, 3] = RESETS[1, 2] = RESETS[1, 4] = True  # [1, 4] lies in padding
CASES = [(None, False), (LENGTHS, True)]  # float32 below: lengths, forward
IDS = ["full-fwd", "len-rev"]


def _spread(params, key):
    """Non-zero biases (zero ones would hide bias bugs)."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    leaves = [a + 0.5 * jax.random.normal(k, a.shape, a.dtype) if a.ndim == 1 else a
              for a, k in zip(leaves, keys)]  # fmt: skip
    return jax.tree.unflatten(tree, leaves)


def _rglru(dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    p = _spread(jaxrnn.init_rglru_params(k[0], D, num_heads=H, dtype=dtype), k[1])
    xs = jax.random.normal(k[2], (B, T, D), dtype)
    h0 = 0.5 * jax.random.normal(k[3], (B, D), dtype)
    return p, xs, h0


def _hawk(dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 5)
    p = jaxrnn.init_hawk_params(k[0], D_IN, D_OUT, lru_width=D_R, num_heads=H, dtype=dtype)
    p = _spread(p._replace(W_conv=p.W_conv * 10), k[1])  # taps of order 1
    xs = jax.random.normal(k[2], (B, T, D_IN), dtype)
    c0 = jaxrnn.HawkState(window=0.5 * jax.random.normal(k[3], (B, 3, D_R), dtype),
                          h=0.5 * jax.random.normal(k[4], (B, D_R), dtype))  # fmt: skip
    return p, xs, c0


def _lengths(lengths):
    return None if lengths is None else jnp.asarray(lengths)


def _length(lengths, b):
    return None if lengths is None else int(lengths[b])


# --- values -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("lengths", "reverse"), CASES, ids=IDS)
def test_rglru_scan_matches_float64_reference(lengths, reverse):
    p, xs, h0 = _rglru()
    for parallel in (True, False):
        h_T, hs = jaxrnn.rglru_scan(p, xs, h0, lengths=_lengths(lengths), resets=RESETS,
                                    reverse=reverse, parallel=parallel)  # fmt: skip
        assert h_T.dtype == hs.dtype == jnp.float64
        for b in range(B):
            want_T, want = ref.rglru_forward(p, xs[b], h0[b], _length(lengths, b), RESETS[b],
                                             reverse)  # fmt: skip
            np.testing.assert_allclose(hs[b], want, atol=F64_TOL, err_msg=f"{parallel}")
            np.testing.assert_allclose(h_T[b], want_T, atol=F64_TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("lengths", "reverse"), CASES, ids=IDS)
def test_hawk_scan_matches_float64_reference(lengths, reverse):
    p, xs, c0 = _hawk()
    for parallel in (True, False):
        c_T, ys = jaxrnn.hawk_scan(p, xs, c0, lengths=_lengths(lengths), resets=RESETS,
                                   reverse=reverse, parallel=parallel)  # fmt: skip
        for b in range(B):
            window, h, out = ref.hawk_forward(p, xs[b], c0.window[b], c0.h[b],
                                              _length(lengths, b), RESETS[b], reverse)  # fmt: skip
            np.testing.assert_allclose(ys[b], out, atol=F64_TOL, err_msg=f"{parallel}")
            np.testing.assert_allclose(c_T.h[b], h, atol=F64_TOL)
            np.testing.assert_allclose(c_T.window[b], window, atol=F64_TOL)


def test_float32_close_to_reference_and_parallel_equals_sequential(reverse=False):
    p, xs, h0 = _rglru(jnp.float32, seed=1)
    q, xq, c0 = _hawk(jnp.float32, seed=1)
    L = jnp.asarray(LENGTHS)
    par = jaxrnn.rglru_scan(p, xs, h0, lengths=L, resets=RESETS, reverse=reverse)
    seq = jaxrnn.rglru_scan(p, xs, h0, lengths=L, resets=RESETS, reverse=reverse, parallel=False)
    hpar = jaxrnn.hawk_scan(q, xq, c0, lengths=L, resets=RESETS, reverse=reverse)
    hseq = jaxrnn.hawk_scan(q, xq, c0, lengths=L, resets=RESETS, reverse=reverse, parallel=False)
    assert par[1].dtype == hpar[1].dtype == hpar[0].window.dtype == jnp.float32
    for a, b in zip(jax.tree.leaves((par, hpar)), jax.tree.leaves((seq, hseq))):
        np.testing.assert_allclose(a, b, atol=F32_TOL)
    for b in range(B):
        want = ref.rglru_forward(p, xs[b], h0[b], int(L[b]), RESETS[b], reverse)[1]
        np.testing.assert_allclose(par[1][b], want, atol=F32_TOL)
        want = ref.hawk_forward(q, xq[b], c0.window[b], c0.h[b], int(L[b]), RESETS[b], reverse)
        np.testing.assert_allclose(hpar[1][b], want[2], atol=F32_TOL)


@pytest.mark.usefixtures("x64")
def test_steps_one_example_and_batch_with_reset_flags():
    p, xs, h0 = _rglru()
    reset = jnp.array([True, False, True])
    h_t, out = jax.jit(jaxrnn.rglru_step)(p, h0, xs[:, 0], reset=reset)
    assert (h_t == out).all()
    for b in range(B):
        want = ref._rglru_step(ref._f64(p), np.asarray(h0[b]), np.asarray(xs[b, 0]), reset[b])
        np.testing.assert_allclose(h_t[b], want, atol=F64_TOL)
    one = jaxrnn.rglru_step(p, h0[0], xs[0, 0], reset=True)[0]  # a Python bool, one example
    np.testing.assert_allclose(one, ref._rglru_step(ref._f64(p), np.asarray(h0[0]), np.asarray(xs[0, 0]), True),
                               atol=F64_TOL)  # fmt: skip
    q, xq, c0 = _hawk()
    c1, o = jax.jit(jaxrnn.hawk_step)(q, c0, xq[:, 0], reset=reset)
    for b in range(B):
        window, h, out = ref.hawk_forward(q, xq[b, :1], c0.window[b], c0.h[b],
                                          resets=np.array([reset[b]]))  # fmt: skip
        np.testing.assert_allclose(o[b], out[0], atol=F64_TOL)
        np.testing.assert_allclose(c1.window[b], window, atol=F64_TOL)


def test_streaming_in_chunks_equals_one_call_and_resets_equal_separate_calls():
    """The Hawk block's carry (the convolution's window and h) continues a stream exactly,
    and a segment start reads nothing before it (the RG-LRU's rule is checked against the
    reference above)."""
    q, xq, _ = _hawk(jnp.float32, seed=2)
    resets = jnp.zeros((B, T), bool).at[:, 0].set(True).at[0, 4].set(True)
    c_T, ys = jaxrnn.hawk_scan(q, xq, resets=resets)
    c_3, first = jaxrnn.hawk_scan(q, xq[:, :3], resets=resets[:, :3])
    c_T2, second = jaxrnn.hawk_scan(q, xq[:, 3:], c_3, resets=resets[:, 3:])
    for a, b in zip(jax.tree.leaves((c_T, ys)),
                    jax.tree.leaves((c_T2, jnp.concatenate([first, second], 1)))):  # fmt: skip
        np.testing.assert_allclose(a, b, atol=F32_TOL)
    alone = jaxrnn.hawk_scan(q, xq[:, 4:], resets=resets[:, 4:])[1]  # shapes of `second`
    np.testing.assert_allclose(ys[:1, 4:], alone[:1], atol=F32_TOL)


def test_padding_never_changes_valid_outputs():
    """Whatever the padding holds (inputs, reset flags), the valid outputs and the final
    carry are the same, both directions (the reference tests compare them with the
    sequences cut at their lengths)."""
    p, xs, h0 = _rglru(jnp.float32, seed=3)
    q, xq, c0 = _hawk(jnp.float32, seed=3)
    L = jnp.asarray(LENGTHS)
    pad = jnp.arange(T)[None, :] >= L[:, None]
    for scan, params, x, c in ((jaxrnn.rglru_scan, p, xs, h0), (jaxrnn.hawk_scan, q, xq, c0)):
        noisy = jnp.where(pad[..., None], 100.0, x)
        for reverse in (False, True):
            a = scan(params, x, c, lengths=L, resets=jnp.asarray(RESETS) & ~pad, reverse=reverse)
            b = scan(params, noisy, c, lengths=L, resets=jnp.asarray(RESETS) | pad,
                     reverse=reverse)  # fmt: skip
            for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
                np.testing.assert_allclose(u, v, atol=F32_TOL)
            assert (a[1][1, 4:] == 0).all()


def test_no_steps_batch_axes_and_vmap():
    q, xq, c0 = _hawk(jnp.float32)
    c_T, ys = jaxrnn.hawk_scan(q, xq[:, :0], c0)
    assert ys.shape == (B, 0, D_OUT) and (c_T.window == c0.window).all()
    p, xs, h0 = _rglru(jnp.float32)
    h_T, hs = jaxrnn.rglru_scan(p, xs.reshape(1, B, T, D), h0.reshape(1, B, D))
    v_T, v_hs = jax.vmap(lambda x, h: jaxrnn.rglru_scan(p, x, h))(xs, h0)
    np.testing.assert_allclose(hs[0], v_hs, atol=F32_TOL)
    np.testing.assert_allclose(h_T[0], v_T, atol=F32_TOL)


# --- initialisation, layout, errors ---------------------------------------------------------------


def test_initialisation_follows_recurrentgemma():
    p = jax.jit(lambda k: jaxrnn.init_rglru_params(k, 2048, num_heads=32, min_rad=0.5,
                                                   max_rad=0.9))(jax.random.key(0))  # fmt: skip
    a = np.asarray(jnp.exp(-jax.nn.softplus(p.a_param)), np.float64)
    assert 0.5 - 1e-6 <= a.min() and a.max() <= 0.9 + 1e-6
    assert abs(np.mean(a**2) - (0.25 + 0.81) / 2) < 0.02  # a^2 uniform: uniform in area
    assert abs(float(p.W_a.std()) * np.sqrt(2048) - 1) < 0.05  # variance 1/d over all heads
    assert (p.b_a == 0).all() and (p.b_x == 0).all()
    q = jax.jit(lambda k: jaxrnn.init_hawk_params(k, 64, 8, lru_width=256,
                                                  dtype=jnp.bfloat16))(jax.random.key(0))  # fmt: skip
    assert q.W_o.dtype == jnp.bfloat16
    assert abs(float(q.W_conv.astype(jnp.float32).std()) - 0.05) < 0.005  # 0.01 / w, w = 4
    assert abs(float(q.W_u.astype(jnp.float32).std()) * 8 - 1) < 0.05  # 1 / d_in


def test_bfloat16_parameters_and_lower_precision_inputs():
    p = jaxrnn.init_rglru_params(jax.random.key(0), D, dtype=jnp.bfloat16)
    h_T, hs = jaxrnn.rglru_scan(p, jnp.ones((2, 5, D), jnp.bfloat16))
    assert h_T.dtype == hs.dtype == jnp.bfloat16
    with jax.numpy_dtype_promotion("standard"):  # the dtype check promotes bfloat16
        p32 = jax.tree.map(lambda a: a.astype(jnp.float32), p)
        h_T, hs = jaxrnn.rglru_scan(p32, jnp.ones((2, 5, D), jnp.bfloat16))
    assert hs.dtype == jnp.float32


def test_bad_inputs_raise_clear_errors():
    p, xs, h0 = _rglru(jnp.float32)
    q, xq, c0 = _hawk(jnp.float32)
    with pytest.raises(ValueError, match=r"rglru_scan: expected xs to have shape .* d_in=4"):
        jaxrnn.rglru_scan(p, jnp.ones((2, 5, 3)))
    with pytest.raises(TypeError, match=r"rglru_scan: expected params to be a jaxrnn.RGLRUParams, got HawkParams"):
        jaxrnn.rglru_scan(q, xs)
    with pytest.raises(ValueError, match=r"expected params.W_a to have shape \(num_heads, d/num_heads"):
        jaxrnn.rglru_scan(p._replace(W_a=p.W_a[0]), xs)
    with pytest.raises(ValueError, match=r"expected params.b_x to have shape \(4,\)"):
        jaxrnn.rglru_scan(p._replace(b_x=jnp.ones(3)), xs)
    with pytest.raises(ValueError, match=r"expected resets to have shape xs.shape\[:-1\]"):
        jaxrnn.rglru_scan(p, xs, resets=jnp.zeros((B, T + 1), bool))
    with pytest.raises(TypeError, match="expected resets to have dtype bool"):
        jaxrnn.rglru_scan(p, xs, resets=jnp.zeros((B, T)))
    with pytest.raises(ValueError, match=r"rglru_step: expected reset to be a bool or a bool array of shape x_t.shape\[:-1\] = \(3,\)"):
        jaxrnn.rglru_step(p, h0, xs[:, 0], reset=jnp.zeros(2, bool))
    with pytest.raises(ValueError, match=r"expected the RG-LRU width 4 to be a multiple of num_heads, got num_heads=3"):
        jaxrnn.init_rglru_params(jax.random.key(0), 4, num_heads=3)
    with pytest.raises(ValueError, match=r"expected 0 < min_rad <= max_rad < 1, got min_rad=0.9, max_rad=1.0"):
        jaxrnn.init_rglru_params(jax.random.key(0), 4, max_rad=1.0)
    with pytest.raises(ValueError, match="rglru: expected d_in == d_h"):
        jaxrnn.init_stack(jax.random.key(0), "rglru", 3, 4)
    with pytest.raises(TypeError, match=r"hawk_scan: expected carry0 to be a jaxrnn.HawkState\(window, h\), got tuple"):
        jaxrnn.hawk_scan(q, xq, tuple(c0))
    with pytest.raises(ValueError, match=r"hawk_scan: expected carry0.window to have shape \(3, 3, 4\)"):
        jaxrnn.hawk_scan(q, xq, c0._replace(window=c0.window[:, :2]))
    with pytest.raises(ValueError, match="does not take resets for the cell 'hawk'"):
        jaxrnn.cell_scan(q, xq, resets=jnp.asarray(RESETS), method="newton")
    with pytest.raises(ValueError, match="method='parallel' needs a cell that is linear"):
        jaxrnn.cell_scan(q, xq, method="parallel")
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        with pytest.raises(TypeError, match="expected xs with dtype float32"):
            jaxrnn.rglru_scan(p, xs.astype(jnp.float64))
