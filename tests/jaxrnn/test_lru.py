"""The LRU: the complex128 reference, parallel == sequential, a complex carry with real
outputs, gradients (central differences, both modes to second order), initialisation,
stacks whose layers read ``d_in`` outputs, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxrnn
from tests import reference as ref

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # float64 against the reference
F32_TOL = 2e-5  # float32 against the reference; parallel against sequential
GRAD_TOL = 1e-7  # float64 autodiff against central differences (eps=1e-6)
B, T, D_IN, D_H = 3, 6, 3, 5
LENGTHS = np.array([6, 3, 0])
RESETS = np.zeros((B, T), bool)
RESETS[0, 2] = RESETS[1, 1] = RESETS[2, 4] = True


def _setup(dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    p = jaxrnn.init_lru_params(k[0], D_IN, D_H, r_min=0.5, r_max=0.95, dtype=dtype)
    xs = jax.random.normal(k[1], (B, T, D_IN), dtype)
    h0 = jax.lax.complex(jax.random.normal(k[2], (B, D_H), dtype),
                         jax.random.normal(k[3], (B, D_H), dtype))  # fmt: skip
    return p, xs, h0


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("reverse", [False, True])
def test_lru_scan_matches_complex128_reference(reverse):
    p, xs, h0 = _setup()
    for parallel in (True, False):
        h_T, ys = jaxrnn.lru_scan(p, xs, h0, lengths=jnp.asarray(LENGTHS), resets=RESETS,
                                  reverse=reverse, parallel=parallel)  # fmt: skip
        assert h_T.dtype == jnp.complex128 and ys.dtype == jnp.float64
        for b in range(B):
            want_T, want = ref.lru_forward(p, xs[b], h0[b], LENGTHS[b], RESETS[b], reverse)
            np.testing.assert_allclose(ys[b], want, atol=F64_TOL, err_msg=f"{parallel}")
            np.testing.assert_allclose(h_T[b], want_T, atol=F64_TOL)


def test_float32_close_to_reference_parallel_equals_sequential_and_real_h0():
    p, xs, h0 = _setup(jnp.float32, seed=1)
    par = jaxrnn.lru_scan(p, xs, h0, lengths=jnp.asarray(LENGTHS))
    seq = jaxrnn.lru_scan(p, xs, h0, lengths=jnp.asarray(LENGTHS), parallel=False)
    assert par[0].dtype == jnp.complex64 and par[1].dtype == jnp.float32
    for a, b in zip(par, seq):
        np.testing.assert_allclose(a, b, atol=F32_TOL)
    for b in range(B):
        np.testing.assert_allclose(par[1][b], ref.lru_forward(p, xs[b], h0[b], LENGTHS[b])[1],
                                   atol=F32_TOL)  # fmt: skip
    with jax.numpy_dtype_promotion("standard"):  # the dtype check promotes float32
        real = jaxrnn.lru_scan(p, xs, h0.real)  # a real h0 is the real part of the state
    as_complex = jax.lax.complex(h0.real, jnp.zeros_like(h0.real))
    np.testing.assert_allclose(real[1], jaxrnn.lru_scan(p, xs, as_complex)[1], atol=F32_TOL)
    h_T, ys = jaxrnn.lru_scan(p, xs[:, :0])  # no steps
    assert h_T.dtype == jnp.complex64 and ys.shape == (B, 0, D_IN) and (h_T == 0).all()


@pytest.mark.usefixtures("x64")
def test_gradients_match_central_differences_of_reference():
    p, xs, h0 = _setup()
    xs, h0 = xs[:2], h0[:2]
    w = np.random.default_rng(0).normal(size=(2, T, D_IN))
    L = LENGTHS[:2]

    def ref_loss(p_, xs_):
        return sum((ref.lru_forward(p_, xs_[b], h0[b], L[b], RESETS[b], True)[1] * w[b]).sum()
                   for b in range(2))  # fmt: skip

    def lib_loss(p_, xs_):
        ys = jaxrnn.lru_scan(p_, xs_, h0, lengths=jnp.asarray(L), resets=RESETS[:2],
                             reverse=True)[1]  # fmt: skip
        return (ys * w).sum()

    g_p, g_xs = jax.grad(lib_loss, argnums=(0, 1))(p, xs)
    for name in p._fields:

        def f(v, name=name):
            return ref_loss(p._replace(**{name: v}), np.asarray(xs))

        num = ref.numerical_grad(f, getattr(p, name))
        np.testing.assert_allclose(getattr(g_p, name), num, atol=GRAD_TOL, rtol=GRAD_TOL,
                                   err_msg=name)  # fmt: skip
    num = ref.numerical_grad(lambda v: ref_loss(p, v), xs)
    np.testing.assert_allclose(g_xs, num, atol=GRAD_TOL, rtol=GRAD_TOL)


@pytest.mark.usefixtures("x64")
def test_check_grads_forward_and_reverse_mode_second_order():
    p, xs, h0 = _setup()

    def f(p, xs):
        return jaxrnn.lru_scan(p, xs[:1, :4], h0[:1])[1]

    check_grads(f, (p, xs), order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)


def test_initialisation_follows_orvieto_et_al():
    p = jaxrnn.init_lru_params(jax.random.key(0), 64, 4096, r_min=0.4, r_max=0.9,
                               max_phase=3.14)  # fmt: skip
    r = np.asarray(jnp.exp(-jnp.exp(p.nu_log)), np.float64)
    assert 0.4 - 1e-6 <= r.min() and r.max() <= 0.9 + 1e-6
    assert abs(np.mean(r**2) - (0.16 + 0.81) / 2) < 0.01  # |λ|^2 uniform: uniform in area
    theta = np.exp(np.asarray(p.theta_log, np.float64))
    assert theta.max() <= 3.14 + 1e-5 and abs(theta.mean() - 1.57) < 0.05
    np.testing.assert_allclose(jnp.exp(p.gamma_log), np.sqrt(1 - r**2), rtol=1e-4)
    assert abs(float(p.B_re.std()) * np.sqrt(128) - 1) < 0.05  # variance 1/(2 d_in)
    assert abs(float(p.C_im.std()) * 64 - 1) < 0.05  # variance 1/d_h
    edge = jaxrnn.init_lru_params(jax.random.key(1), 2, 4096)  # r_min = 0, r_max = 1
    assert all(bool(jnp.isfinite(a).all()) for a in edge)  # every parameter finite


def test_stack_layers_read_the_outputs_of_size_d_in():
    params = jaxrnn.init_stack(jax.random.key(0), "lru", D_IN, D_H, num_layers=2,
                               bidirectional=True)  # fmt: skip
    assert params[1].fwd.B_re.shape == (D_H, 2 * D_IN)  # concat of two d_in outputs
    xs = jax.random.normal(jax.random.key(1), (2, T, D_IN))
    finals, ys = jaxrnn.stack(params, xs, seq_lengths=jnp.array([6, 2]))
    assert ys.shape == (2, T, 2 * 2 * D_IN) and finals[1].bwd.dtype == jnp.complex64
    assert (ys[1, 2:] == 0).all()


def test_decoding_with_a_complex_carry():
    p = jaxrnn.init_lru_params(jax.random.key(0), D_IN, D_H)
    k = jax.random.split(jax.random.key(3), 2)
    E, V = jax.random.normal(k[0], (6, D_IN)), jax.random.normal(k[1], (6, D_IN))
    step = jaxrnn.decode.make_step_fn(E, p, V, jnp.zeros(6))
    out = jaxrnn.greedy_decode(step, jnp.zeros((2, D_H), jnp.complex64), 1, max_len=4,
                               end_token=0)  # fmt: skip
    h1, y1 = jaxrnn.get_cell("lru").step(p, jnp.zeros((2, D_H), jnp.complex64), E[jnp.array([1, 1])])
    assert (out.tokens[:, 0] == jnp.argmax(y1 @ V.T, -1)).all()


def test_bad_inputs_raise_clear_errors():
    p, xs, h0 = _setup(jnp.float32)
    with pytest.raises(ValueError, match=r"lru_scan: expected xs to have shape .* d_in=3"):
        jaxrnn.lru_scan(p, jnp.ones((2, 4, 5)))
    with pytest.raises(ValueError, match=r"lru_scan: expected params.C_re to have shape \(3, 5\)"):
        jaxrnn.lru_scan(p._replace(C_re=p.C_re.T), xs)
    with pytest.raises(ValueError, match=r"lru_scan: expected h0 to have shape \(3, 5\)"):
        jaxrnn.lru_scan(p, xs, h0[:, :2])
    with pytest.raises(TypeError, match=r"lru_scan: expected params to be a jaxrnn.LRUParams"):
        jaxrnn.lru_scan(tuple(p), xs)
    with pytest.raises(ValueError, match=r"lru: expected 0 <= r_min <= r_max <= 1, got r_min=0.5, r_max=0.2"):
        jaxrnn.init_lru_params(jax.random.key(0), 2, 3, r_min=0.5, r_max=0.2)
    with pytest.raises(ValueError, match="lru: expected max_phase > 0"):
        jaxrnn.init_lru_params(jax.random.key(0), 2, 3, max_phase=0.0)
    with jax.enable_x64(True), jax.numpy_dtype_promotion("standard"):
        with pytest.raises(TypeError, match="expected xs with dtype complex64"):
            jaxrnn.lru_scan(p, xs, h0.astype(jnp.complex128))
