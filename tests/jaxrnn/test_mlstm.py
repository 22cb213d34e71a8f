"""The mLSTM's three forms against the float64 NumPy equations (``tests/reference.py``) and
each other: values with and without a state, lengths, chunk sizes that do not divide T,
derivatives (central differences), the padding law, float32 stability at T = 16,384 with
saturated gates, and the errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import jaxrnn
from jaxrnn.cells import mlstm as mlstm_cell
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


def _qkv(B=2, H=2, T=11, d_k=4, d_v=3, dtype=np.float64, key=0, scale=1.0):
    """Host (NumPy) arrays: no program compiled to draw them; ``jaxrnn.mlstm`` takes them."""
    rng = np.random.default_rng(key)
    q = rng.standard_normal((B, H, T, d_k))
    kk = rng.standard_normal((B, H, T, d_k))
    v = rng.standard_normal((B, H, T, d_v))
    i_pre = scale * rng.standard_normal((B, H, T))
    f_pre = scale * rng.standard_normal((B, H, T)) + 1.0
    return tuple(a.astype(dtype) for a in (q, kk, v, i_pre, f_pre))


def _qkv_drawn(T, d=4, scale=30.0):
    """Float32 ``(1, 1, T, ...)`` arrays drawn with ``jax.random`` (one program), scaled on the
    host: bit for bit the eager draw that the saturated-gates bounds were set on (the error
    at saturated gates depends on the draw)."""

    def normals():
        k = jax.random.split(jax.random.key(0), 5)
        return [jax.random.normal(key, (1, 1, T, d)[: 4 - (i > 2)]) for i, key in enumerate(k)]

    q, k, v, i_pre, f_pre = _host(jax.jit(normals)())
    return q, k, v, scale * i_pre, scale * f_pre + 1.0


def _mstate(B=2, H=2, d_k=4, d_v=3, dtype=np.float64):
    rng = np.random.default_rng(7)
    return jaxrnn.MLSTMState(
        C=rng.standard_normal((B, H, d_k, d_v)).astype(dtype),
        n=rng.standard_normal((B, H, d_k)).astype(dtype),
        m=rng.standard_normal((B, H)).astype(dtype),
    )


def _host(tree):
    """Every leaf as a NumPy array: indexing and comparing them compiles nothing."""
    return jax.tree.map(np.asarray, tree)


# --- the mLSTM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_mlstm_forms_match_the_reference(form, x64):
    q, k, v, i_pre, f_pre = _qkv()
    state0 = _mstate()
    lengths = np.array([11, 5])
    h, state_T = _host(jaxrnn.mlstm(q, k, v, i_pre, f_pre, state0, form=form, chunk_size=4,
                                    lengths=lengths))  # fmt: skip
    assert h.shape == (2, 2, 11, 3) and state_T.C.shape == (2, 2, 4, 3)
    for b in range(2):
        for hd in range(2):
            s0 = None if state0 is None else {f: getattr(state0, f)[b, hd] for f in "Cnm"}
            want_T, want = ref.mlstm_forward(q[b, hd], k[b, hd], v[b, hd], i_pre[b, hd],
                                             f_pre[b, hd], s0, length=int(lengths[b]))  # fmt: skip
            np.testing.assert_allclose(h[b, hd], want, atol=TOL64, rtol=TOL64)
            for f in "Cnm":
                np.testing.assert_allclose(getattr(state_T, f)[b, hd], want_T[f], atol=TOL64,
                                           rtol=TOL64)  # fmt: skip


def test_mlstm_default_state_matches_the_reference_and_the_forms_agree_in_float32():
    q, k, v, i_pre, f_pre = _qkv(dtype=np.float32, T=11)
    forms = (("recurrent", 64), ("parallel", 64), ("chunkwise", 3))  # 3 does not divide T
    run = jax.jit(lambda *a: [jaxrnn.mlstm(*a, form=form, chunk_size=chunk_size)
                              for form, chunk_size in forms])  # fmt: skip
    outs = _host(run(q, k, v, i_pre, f_pre))  # one program for the three forms
    want, want_T = outs[0]
    for b, hd in ((0, 0), (1, 1)):
        ref_T, ref_h = ref.mlstm_forward(q[b, hd], k[b, hd], v[b, hd], i_pre[b, hd], f_pre[b, hd])
        np.testing.assert_allclose(want[b, hd], ref_h, atol=TOL32, rtol=TOL32)
        np.testing.assert_allclose(want_T.m[b, hd], ref_T["m"], rtol=1e-6)
    for h, state_T in outs[1:]:
        np.testing.assert_allclose(h, want, atol=TOL32, rtol=TOL32)
        for a, b in zip(state_T, want_T):
            np.testing.assert_allclose(a, b, atol=TOL32, rtol=TOL32)


@pytest.mark.parametrize(("form", "modes"), [("chunkwise", ["fwd", "rev"]), ("parallel", ["rev"]),
                                             ("recurrent", ["fwd"])])  # fmt: skip
def test_mlstm_derivatives_central_differences(form, modes, x64):
    q, k, v, i_pre, f_pre = _qkv(B=1, H=1, T=5, d_k=2, d_v=2)
    state0 = _mstate(B=1, H=1, d_k=2, d_v=2)

    def loss(q, k, v, i_pre, f_pre, state0):
        h, s = jaxrnn.mlstm(q, k, v, i_pre, f_pre, state0, form=form, chunk_size=2,
                            lengths=jnp.array([4]))  # fmt: skip
        return (h**2).sum() + s.C.sum() + s.n.sum() + s.m.sum()

    jax.test_util.check_grads(jax.jit(loss), (q, k, v, i_pre, f_pre, state0), order=1,
                              modes=modes)  # fmt: skip


def test_mlstm_parallel_from_no_state_central_differences(x64):
    """Without state0 and lengths the parallel form takes its fused path (_parallel_fresh)."""
    q, k, v, i_pre, f_pre = _qkv(B=1, H=1, T=5, d_k=2, d_v=2)

    def loss(q, k, v, i_pre, f_pre):
        h, s = jaxrnn.mlstm(q, k, v, i_pre, f_pre, form="parallel")
        return (h**2).sum() + s.C.sum() + s.n.sum() + s.m.sum()

    jax.test_util.check_grads(jax.jit(loss), (q, k, v, i_pre, f_pre), order=2,
                              modes=["fwd", "rev"])  # fmt: skip


def test_mlstm_parallel_from_no_state_by_blocks_of_rows(x64):
    """The fused path computes the decay matrix by blocks of rows, each as wide as its
    diagonal, stabilised by a cumulative max: values and derivatives (both modes) against
    the float64 equations with blocks of 3 rows (4 blocks, the last one short; the path's
    second derivatives, one block, are checked above)."""
    q, k, v, i_pre, f_pre = _qkv(B=1, H=2, T=11, scale=3.0)

    @jax.jit
    def fused(q, k, v, i_pre, f_pre):
        h, s = mlstm_cell._parallel_fresh(q, k / 2.0, v, i_pre, jax.nn.log_sigmoid(f_pre), 3)
        return h, s

    flat = tuple(a[0] for a in (q, k, v, i_pre, f_pre))  # (heads, T, ...)
    h, state_T = _host(fused(*flat))
    for hd in range(2):
        want_T, want = ref.mlstm_forward(*(a[hd] for a in flat))
        np.testing.assert_allclose(h[hd], want, atol=TOL64, rtol=TOL64)
        for f in "Cnm":
            np.testing.assert_allclose(getattr(state_T, f)[hd], want_T[f], atol=TOL64,
                                       rtol=TOL64)  # fmt: skip

    def loss(*a):
        h, s = fused(*a)
        return (h**2).sum() + s.C.sum() + s.n.sum() + s.m.sum()

    jax.test_util.check_grads(jax.jit(loss), tuple(a[:, :7] for a in flat), order=1,
                              modes=["fwd", "rev"])


@pytest.mark.parametrize("lengths", [None, [5]])  # without: the parallel form's fused path
def test_mlstm_gradients_from_the_default_state_agree_and_are_finite(lengths, x64):
    q, k, v, i_pre, f_pre = _qkv(B=1, H=2, T=7, d_k=2, d_v=2)
    lengths = None if lengths is None else jnp.array(lengths)
    grads = _host(jax.jit(lambda *args: {
        form: jax.grad(lambda *a, form=form: jaxrnn.mlstm(*a, form=form, chunk_size=3,
                                                         lengths=lengths)[0]
                       .sum(), argnums=(0, 1, 2, 3, 4))(*args)
        for form in FORMS
    })(q, k, v, i_pre, f_pre))  # fmt: skip
    for form in ("parallel", "chunkwise"):
        for a, b in zip(grads[form], grads["recurrent"]):
            assert bool(np.isfinite(a).all())
            np.testing.assert_allclose(a, b, atol=1e-9)


def test_mlstm_padding_never_changes_valid_outputs():
    q, k, v, i_pre, f_pre = _qkv(dtype=np.float32, T=9)
    lengths = np.array([9, 4])
    noise = np.random.default_rng(5).standard_normal(q.shape).astype(np.float32)
    valid = (np.arange(9) < lengths[:, None])[:, None, :]  # (B, 1, T)
    q2 = np.where(valid[..., None], q, noise)
    i2 = np.where(valid, i_pre, np.float32(50.0))

    @jax.jit
    def run(q, k, v, i_pre, f_pre, q2, i2, lengths):  # both forms: one program
        out = {}
        for form in ("chunkwise", "parallel"):
            h, s = jaxrnn.mlstm(q, k, v, i_pre, f_pre, form=form, chunk_size=4, lengths=lengths)
            h2, s2 = jaxrnn.mlstm(q2, k, v, i2, f_pre, form=form, chunk_size=4, lengths=lengths)
            _, s4 = jaxrnn.mlstm(q[1:, :, :4], k[1:, :, :4], v[1:, :, :4], i_pre[1:, :, :4],
                                 f_pre[1:, :, :4], form=form)  # fmt: skip
            out[form] = h, s, h2, s2, s4
        return out

    for h, s, h2, s2, s4 in _host(run(q, k, v, i_pre, f_pre, q2, i2, lengths)).values():
        np.testing.assert_allclose(h, h2, atol=0)
        assert bool((h[1, :, 4:] == 0).all())
        for a, b in zip(s, s2):
            np.testing.assert_allclose(a, b, atol=0)
        np.testing.assert_allclose(s.C[1:], s4.C, atol=TOL32)


def test_mlstm_is_stable_in_float32_at_T_16384_with_saturated_gates():
    T = 16384
    q, k, v, i_pre, f_pre = _qkv_drawn(T)
    # the parallel form at a quarter of the length (its T x T matrix); one program for all
    a = tuple(x[..., : T // 4, :] if x.ndim == 4 else x[..., : T // 4] for x in (q, k, v, i_pre,
                                                                             f_pre))  # fmt: skip
    outs, (h_p, _) = _host(jax.jit(lambda full, a: (
        {form: jaxrnn.mlstm(*full, form=form) for form in ("recurrent", "chunkwise")},
        jaxrnn.mlstm(*a, form="parallel"),
    ))((q, k, v, i_pre, f_pre), a))  # fmt: skip
    for h, s in outs.values():
        assert bool(np.isfinite(h).all()) and all(bool(np.isfinite(a).all()) for a in s)
    # against float64: the error of each step relative to its size (h is ill-conditioned where
    # |n . q| is tiny, as it is at saturated gates)
    _, want = ref.mlstm_forward(q[0, 0], k[0, 0], v[0, 0], i_pre[0, 0], f_pre[0, 0])
    scale = 1 + np.abs(want).max(-1, keepdims=True)
    for h, _ in outs.values():
        assert float(np.max(np.abs(h[0, 0] - want) / scale)) < 1e-2
    (_, s_r), (_, s_c) = outs["recurrent"], outs["chunkwise"]
    np.testing.assert_allclose(s_c.m, s_r.m, rtol=1e-6)
    assert bool(np.isfinite(h_p).all())
    assert float(np.max(np.abs(h_p[0, 0] - want[: T // 4]) / scale[: T // 4])) < 1e-2


def test_mlstm_batch_axes_empty_and_dtypes():
    q, k, v, i_pre, f_pre = _qkv(dtype=np.float32, T=6)

    @jax.jit
    def run(q, k, v, i_pre, f_pre, low):  # the four calls: one program
        return (
            jaxrnn.mlstm(q[0, 0], k[0, 0], v[0, 0], i_pre[0, 0], f_pre[0, 0])[0],  # no batch axes
            jaxrnn.mlstm(q, k, v, i_pre, f_pre)[0][0, 0],
            jaxrnn.mlstm(q[..., :0, :], k[..., :0, :], v[..., :0, :], i_pre[..., :0],
                         f_pre[..., :0]),
            jaxrnn.mlstm(*low),
        )  # fmt: skip

    low = tuple(a.astype(jnp.bfloat16) for a in (q, k, v, i_pre, f_pre))
    h, want, (h0, s0), (h_low, s_low) = run(q, k, v, i_pre, f_pre, low)
    np.testing.assert_allclose(h, want, atol=1e-6)
    assert h0.shape == (2, 2, 0, 3) and bool((np.asarray(s0.m) == -np.inf).all())
    assert h_low.dtype == jnp.bfloat16 and s_low.C.dtype == jnp.bfloat16


def test_mlstm_errors():
    q, k, v, i_pre, f_pre = _qkv(dtype=np.float32, T=6)
    with pytest.raises(ValueError, match=r"mlstm: expected k to have shape \(2, 2, 6, 4\)"):
        jaxrnn.mlstm(q, k[..., :3], v, i_pre, f_pre)
    with pytest.raises(ValueError, match=r"expected v to have shape \(..., T, d_v\)"):
        jaxrnn.mlstm(q, k, v[:, :, :5], i_pre, f_pre)
    with pytest.raises(ValueError, match=r"expected i_pre to have shape \(2, 2, 6\)"):
        jaxrnn.mlstm(q, k, v, i_pre[..., None], f_pre)
    with pytest.raises(ValueError, match="expected q to have rank >= 2"):
        jaxrnn.mlstm(q[0, 0, 0], k, v, i_pre, f_pre)
    with pytest.raises(TypeError, match="expected f_pre to have a floating dtype"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre.astype(jnp.int32))
    with pytest.raises(ValueError, match="expected form to be one of"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre, form="blocked")
    with pytest.raises(ValueError, match="expected chunk_size to be an int >= 1"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre, chunk_size=0)
    with pytest.raises(ValueError, match=r"expected lengths to have shape q.shape\[:-2\] = \(2, 2\)"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre, lengths=jnp.array([3]))
    with pytest.raises(TypeError, match="expected state0 to be a jaxrnn.MLSTMState"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre, (1, 2, 3))
    bad = _mstate(dtype=np.float32)._replace(n=np.ones((2, 2, 5), np.float32))
    with pytest.raises(ValueError, match=r"expected state0.n to have shape \(2, 2, 4\)"):
        jaxrnn.mlstm(q, k, v, i_pre, f_pre, bad)
