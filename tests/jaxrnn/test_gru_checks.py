"""Bad input to the GRU: every case raises at trace time, with the LSTM's messages."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import jaxrnn

D_IN, D_H = 3, 4
XS = jnp.ones((2, 5, D_IN))


@pytest.fixture(scope="module")
def gru():
    return jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H)


def test_xs_of_rank_below_two_and_d_in_mismatch(gru):
    with pytest.raises(ValueError, match=r"gru_scan: expected xs to have rank >= 2.*got shape"):
        jaxrnn.gru_scan(gru, jnp.ones(D_IN))
    with pytest.raises(ValueError, match=r"with d_in=3 to match params, got \(2, 5, 7\)"):
        jaxrnn.gru_scan(gru, jnp.ones((2, 5, 7)))
    with pytest.raises(ValueError, match=r"gru_step: expected x_t .* d_in=3 .* got \(7,\)"):
        jaxrnn.gru_step(gru, jnp.zeros(D_H), jnp.ones(7))


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_integer_or_boolean_xs(gru, dtype):
    with pytest.raises(
        TypeError, match=rf"expected xs to have a floating dtype, got {dtype.__name__}"
    ):
        jaxrnn.gru_scan(gru, jnp.ones((2, 5, D_IN), dtype))


def test_too_precise_xs_or_h0(gru):
    with jax.enable_x64(True):
        with pytest.raises(TypeError, match=r"expected xs with dtype float32 .* got float64"):
            jaxrnn.gru_scan(gru, jnp.ones((2, 5, D_IN), jnp.float64))
        with pytest.raises(TypeError, match=r"expected xs with dtype float32 .* got float64"):
            jaxrnn.gru_scan(gru, XS, jnp.zeros((2, D_H), jnp.float64))


def test_initial_state_of_wrong_shape_or_dtype(gru):
    with pytest.raises(
        ValueError, match=r"gru_scan: expected h0 to have shape \(2, 4\) .* got \(4,\)"
    ):
        jaxrnn.gru_scan(gru, XS, jnp.zeros(D_H))
    with pytest.raises(ValueError, match=r"gru_step: expected h_prev to have shape \(4,\)"):
        jaxrnn.gru_step(gru, jnp.zeros((3, D_H)), jnp.ones(D_IN))
    with pytest.raises(TypeError, match=r"expected h0 to have a floating dtype, got int32"):
        jaxrnn.gru_scan(gru, XS, jnp.zeros((2, D_H), jnp.int32))


def test_bad_lengths(gru):
    with pytest.raises(
        ValueError, match=r"expected lengths to have shape xs.shape\[:-2\] = \(2,\)"
    ):
        jaxrnn.gru_scan(gru, XS, lengths=jnp.array([1, 2, 3]))
    with pytest.raises(TypeError, match=r"expected lengths to have an integer dtype, got float32"):
        jaxrnn.gru_scan(gru, XS, lengths=jnp.array([1.0, 2.0]))


def test_params_of_wrong_pytree_type(gru):
    lstm = jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H)
    with pytest.raises(
        TypeError, match=r"gru_scan: expected params to be a jaxrnn.GRUParams, got dict"
    ):
        jaxrnn.gru_scan(gru._asdict(), XS)
    with pytest.raises(TypeError, match=r"got LSTMParams; LSTMParams go to jaxrnn.lstm_step / lstm_scan"):
        jaxrnn.gru_scan(lstm, XS)
    with pytest.raises(TypeError, match=r"got GRUParams; GRUParams go to jaxrnn.gru_step / gru_scan"):
        jaxrnn.lstm_scan(gru, XS)
    with pytest.raises(
        TypeError, match=r"gru_step: expected params.r to be a jaxrnn.Gate, got tuple"
    ):
        jaxrnn.gru_step(gru._replace(r=tuple(gru.r)), jnp.zeros(D_H), jnp.ones(D_IN))


@pytest.mark.parametrize(("gate", "field"), [("r", "U"), ("r", "W"), ("n", "b"), ("n", "U")])
def test_inconsistent_field_shapes_name_the_field(gru, gate, field):
    g = getattr(gru, gate)
    bad = getattr(g, field)
    bad = jnp.zeros(bad.shape[:-1] + (bad.shape[-1] + 1,))
    broken = gru._replace(**{gate: g._replace(**{field: bad})})
    with pytest.raises(ValueError, match=rf"expected params.{gate}.{field} to have shape"):
        jaxrnn.gru_scan(broken, XS)


def test_b_hn_and_parameter_dtype(gru):
    with pytest.raises(
        ValueError,
        match=r"expected params.b_hn to have shape \(4,\) \(d_in=3, d_h=4\), got \(5,\)",
    ):
        jaxrnn.gru_scan(gru._replace(b_hn=jnp.zeros(D_H + 1)), XS)
    bad = gru._replace(z=gru.z._replace(W=jnp.zeros((D_H, D_H), jnp.int32)))
    with pytest.raises(TypeError, match=r"expected params.z.W to have a floating dtype, got int32"):
        jaxrnn.gru_scan(bad, XS)


@pytest.mark.parametrize("unroll", [0, -2, 1.5, True])
def test_bad_unroll_and_remat(gru, unroll):
    with pytest.raises(ValueError, match=r"gru_scan: expected unroll to be an int >= 1, got"):
        jaxrnn.gru_scan(gru, XS, unroll=unroll)
    with pytest.raises(
        ValueError, match=r"expected remat \(None or a segment length\) to be an int"
    ):
        jaxrnn.gru_scan(gru, XS, remat=unroll)


def test_errors_are_raised_under_an_outer_jit(gru):
    with pytest.raises(ValueError, match=r"expected xs to have shape"):
        jax.jit(lambda xs: jaxrnn.gru_scan(gru, xs))(jnp.ones((2, 5, 9)))
