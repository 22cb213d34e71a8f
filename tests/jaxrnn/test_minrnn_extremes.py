"""minGRU and minLSTM at the edges: saturated gates, very long sequences, bad inputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-10  # float64 vs the float64 reference over 10,000 steps (relative to scale)
F32_TOL = 1e-5  # float32 vs the float64 reference, relative to the largest |h|
LONG_F32_TOL = 1e-4  # the same over 100,000 steps of a near-1 forget gate
GRAD_TOL = 1e-7

CELLS = {
    "mingru": (jaxrnn.init_mingru_params, jaxrnn.mingru_scan, ref.mingru_forward),
    "minlstm": (jaxrnn.init_minlstm_params, jaxrnn.minlstm_scan, ref.minlstm_forward),
}
# Constant gates (the U of every gate set to 0): forget ~ 1 - 5e-5, ~ 1e-13, and (minLSTM)
# both gates underflowing in float32 (f_t / (f_t + i_t) = 0/0 if computed as written).
EXTREMES = [
    ("mingru", {"b_z": -10.0}),  # 1 - z_t = 1 - 4.5e-5: memory over 10,000 steps
    ("mingru", {"b_z": 30.0}),  # 1 - z_t = 9e-14: the state is overwritten every step
    ("minlstm", {"b_f": 10.0, "b_i": -10.0}),  # f'_t = 1 - 2e-9
    ("minlstm", {"b_f": -30.0, "b_i": 30.0}),  # f'_t = 9e-14
    ("minlstm", {"b_f": -200.0, "b_i": -200.0}),  # f_t = i_t = 0 in float32
]


def _constant_gates(cell, biases, dtype, d_in=1, d_h=2):
    p = CELLS[cell][0](jax.random.key(0), d_in, d_h, dtype=dtype)
    gates = [n for n in p._fields if n.startswith("U") and n != "U_h"]
    p = p._replace(**{n: jnp.zeros((d_h, d_in), dtype) for n in gates})
    return p._replace(**{n: jnp.full((d_h,), v, dtype) for n, v in biases.items()})


@pytest.mark.parametrize(("cell", "biases"), EXTREMES)
@pytest.mark.parametrize("parallel", [True, False])
def test_saturated_gates_for_10000_steps_finite_and_exact(cell, biases, parallel):
    p32 = _constant_gates(cell, biases, jnp.float32)
    xs32 = jax.random.normal(jax.random.key(1), (10_000, 1))
    _, hs_ref = CELLS[cell][2](p32, np.asarray(xs32, np.float64))
    scale = np.abs(hs_ref).max()
    with jax.enable_x64(True):
        p64, xs64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), (p32, xs32))
        _, hs64 = CELLS[cell][1](p64, xs64, parallel=parallel)
        assert np.abs(np.asarray(hs64) - hs_ref).max() <= F64_TOL * scale

    def loss(p):
        return CELLS[cell][1](p, xs32, parallel=parallel)[1].sum()

    _, hs32 = CELLS[cell][1](p32, xs32, parallel=parallel)
    assert jnp.isfinite(hs32).all()
    assert np.abs(np.asarray(hs32, np.float64) - hs_ref).max() <= F32_TOL * max(scale, 1.0)
    assert all(jnp.isfinite(g).all() for g in jax.tree.leaves(jax.grad(loss)(p32)))


@pytest.mark.parametrize("cell", CELLS)
def test_100000_steps_float32_close_to_float64_reference(cell):
    """A forget gate near 1 (memory of ~1000 steps) over T = 100,000, d_h = 2."""
    biases = {"b_z": -7.0} if cell == "mingru" else {"b_f": 3.0, "b_i": -4.0}
    p = _constant_gates(cell, biases, jnp.float32)
    xs = jax.random.normal(jax.random.key(2), (100_000, 1))
    _, hs_ref = CELLS[cell][2](p, np.asarray(xs, np.float64))
    h_T, hs = CELLS[cell][1](p, xs)
    assert jnp.isfinite(hs).all()
    err = np.abs(np.asarray(hs, np.float64) - hs_ref).max()
    assert err <= LONG_F32_TOL * np.abs(hs_ref).max()
    np.testing.assert_array_equal(h_T, hs[-1])


@pytest.mark.usefixtures("x64")
def test_minlstm_gradient_where_the_gates_are_equal():
    """``f_t = i_t`` exactly (``log f_t - log i_t = 0``): the two branches of the stable
    normalisation meet there, and the derivative must still be the quotient's."""
    p = jaxrnn.init_minlstm_params(jax.random.key(3), 2, 3, dtype=jnp.float64)
    xs, h0 = jnp.zeros((4, 2)), jnp.ones(3)  # zero inputs: z_f = b_f = 0 = b_i = z_i

    def ref_loss(b_f):
        return (ref.minlstm_forward(p._replace(b_f=b_f), np.zeros((4, 2)), h0=np.ones(3))[1]).sum()

    g = jax.grad(lambda b_f: jaxrnn.minlstm_scan(p._replace(b_f=b_f), xs, h0)[1].sum())(p.b_f)
    np.testing.assert_allclose(g, ref.numerical_grad(ref_loss, p.b_f), atol=GRAD_TOL)


def _p(cell="mingru"):
    return CELLS[cell][0](jax.random.key(0), 3, 4)


BAD = [
    (lambda: jaxrnn.mingru_scan(jaxrnn.init_lstm_params(jax.random.key(0), 3, 4), jnp.ones((5, 3))),
     TypeError, r"expected params to be a jaxrnn.MinGRUParams, got LSTMParams"),
    (lambda: jaxrnn.mingru_scan(_p("minlstm"), jnp.ones((5, 3))),
     TypeError, r"MinLSTMParams go to jaxrnn.minlstm_step / minlstm_scan"),
    (lambda: jaxrnn.minlstm_step(dict(_p("minlstm")._asdict()), jnp.zeros(4), jnp.ones(3)),
     TypeError, r"build one with jaxrnn.MinLSTMParams"),
    (lambda: jaxrnn.mingru_scan(_p()._replace(U_h=jnp.ones((4, 2))), jnp.ones((5, 3))),
     ValueError, r"params.U_h to have shape \(4, 3\) \(d_in=3, d_h=4\)"),
    (lambda: jaxrnn.mingru_scan(_p(), jnp.ones(3)), ValueError, r"rank >= 2"),
    (lambda: jaxrnn.minlstm_scan(_p("minlstm"), jnp.ones((5, 2))), ValueError, r"d_in=3"),
    (lambda: jaxrnn.mingru_scan(_p(), jnp.ones((5, 3), jnp.int32)), TypeError, "floating"),
    (lambda: jaxrnn.mingru_scan(_p(), jnp.ones((2, 5, 3)), jnp.zeros(4)),
     ValueError, r"h0 to have shape \(2, 4\)"),
    (lambda: jaxrnn.mingru_scan(_p(), jnp.ones((2, 5, 3)), lengths=jnp.array([1, 2, 3])),
     ValueError, r"lengths to have shape"),
    (lambda: jaxrnn.mingru_scan(_p(), jnp.ones((2, 5, 3)), lengths=jnp.array([1.0, 2.0])),
     TypeError, r"integer dtype"),
    (lambda: jaxrnn.mingru_step(_p(), jnp.zeros(5), jnp.ones(3)),
     ValueError, r"h_prev to have shape \(4,\)"),
    (lambda: jaxrnn.init_minlstm_params(jax.random.key(0), 3, 0), ValueError, "d_h"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "match"), BAD)
def test_bad_inputs_raise_with_a_message(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.usefixtures("x64")
def test_more_precise_inputs_than_parameters_are_refused():
    """(The dtype check is lstm_scan's, which needs standard promotion to compare.)"""
    with jax.numpy_dtype_promotion("standard"), pytest.raises(TypeError, match="float32"):
        jaxrnn.minlstm_scan(_p("minlstm"), jnp.ones((5, 3), jnp.float64))
