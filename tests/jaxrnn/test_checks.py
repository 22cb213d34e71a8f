"""Bad input: every case from the contract raises at trace time with a message that says
what was expected and what came."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import jaxrnn

D_IN, D_H, D_OUT = 3, 4, 2


@pytest.fixture(scope="module")
def rnn():
    return jaxrnn.init_rnn_params(jax.random.key(0), D_IN, D_H, D_OUT)


@pytest.fixture(scope="module")
def lstm():
    return jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H)


XS = jnp.ones((2, 5, D_IN))


def both(rnn, lstm):
    return [(jaxrnn.rnn_scan, rnn), (jaxrnn.lstm_scan, lstm)]


def test_xs_of_rank_below_two(rnn, lstm):
    for fn, p in both(rnn, lstm):
        with pytest.raises(ValueError, match=r"expected xs to have rank >= 2.*got shape \(3,\)"):
            fn(p, jnp.ones(D_IN))


def test_d_in_mismatch(rnn, lstm):
    for fn, p in both(rnn, lstm):
        with pytest.raises(ValueError, match=r"with d_in=3 to match params, got \(2, 5, 7\)"):
            fn(p, jnp.ones((2, 5, 7)))
    with pytest.raises(ValueError, match=r"rnn_step: expected x_t .* d_in=3 .* got \(7,\)"):
        jaxrnn.rnn_step(rnn, jnp.zeros(D_H), jnp.ones(7))


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_integer_or_boolean_xs(rnn, lstm, dtype):
    for fn, p in both(rnn, lstm):
        with pytest.raises(
            TypeError, match=rf"expected xs to have a floating dtype, got {dtype.__name__}"
        ):
            fn(p, jnp.ones((2, 5, D_IN), dtype))


def test_too_precise_xs(rnn):
    with jax.enable_x64(True):
        with pytest.raises(TypeError, match=r"expected xs with dtype float32 .* got float64"):
            jaxrnn.rnn_scan(rnn, jnp.ones((2, 5, D_IN), jnp.float64))


def test_initial_state_of_wrong_shape(rnn, lstm):
    with pytest.raises(ValueError, match=r"expected s0 to have shape \(2, 4\) .* got \(4,\)"):
        jaxrnn.rnn_scan(rnn, XS, jnp.zeros(D_H))
    bad = jaxrnn.LSTMState(h=jnp.zeros((2, D_H)), C=jnp.zeros((2, 5)))
    with pytest.raises(
        ValueError, match=r"expected state0.C to have shape \(2, 4\) .* got \(2, 5\)"
    ):
        jaxrnn.lstm_scan(lstm, XS, bad)
    with pytest.raises(ValueError, match=r"rnn_step: expected s_prev to have shape \(4,\)"):
        jaxrnn.rnn_step(rnn, jnp.zeros((3, D_H)), jnp.ones(D_IN))


def test_initial_state_of_wrong_type(lstm):
    with pytest.raises(
        TypeError, match=r"expected state0 to be a jaxrnn.LSTMState\(h, C\), got tuple"
    ):
        jaxrnn.lstm_scan(lstm, XS, (jnp.zeros((2, D_H)), jnp.zeros((2, D_H))))
    with pytest.raises(TypeError, match=r"lstm_step: expected state to be a jaxrnn.LSTMState"):
        jaxrnn.lstm_step(lstm, {"h": 0, "C": 0}, jnp.ones(D_IN))


def test_lengths_of_wrong_shape(rnn, lstm):
    for fn, p in both(rnn, lstm):
        with pytest.raises(
            ValueError, match=r"expected lengths to have shape xs.shape\[:-2\] = \(2,\), got \(3,\)"
        ):
            fn(p, XS, lengths=jnp.array([1, 2, 3]))


def test_lengths_of_non_integer_dtype(rnn, lstm):
    for fn, p in both(rnn, lstm):
        with pytest.raises(
            TypeError, match=r"expected lengths to have an integer dtype, got float32"
        ):
            fn(p, XS, lengths=jnp.array([1.0, 2.0]))


def test_params_of_wrong_pytree_type(rnn, lstm):
    with pytest.raises(
        TypeError, match=r"rnn_scan: expected params to be a jaxrnn.RNNParams, got dict"
    ):
        jaxrnn.rnn_scan(rnn._asdict(), XS)
    with pytest.raises(TypeError, match=r"got LSTMParams; LSTMParams go to jaxrnn.lstm_step / lstm_scan"):
        jaxrnn.rnn_scan(lstm, XS)
    with pytest.raises(
        TypeError, match=r"lstm_scan: expected params to be a jaxrnn.LSTMParams, got RNNParams"
    ):
        jaxrnn.lstm_scan(rnn, XS)
    with pytest.raises(TypeError, match=r"expected params.o to be a jaxrnn.Gate, got tuple"):
        jaxrnn.lstm_scan(lstm._replace(o=tuple(lstm.o)), XS)


@pytest.mark.parametrize(
    ("field", "shape", "message"),
    [
        (
            "W",
            (D_H, D_H + 1),
            r"expected params.W to have shape \(4, 4\) \(d_in=3, d_h=4, d_out=2\), got \(4, 5\)",
        ),
        ("V", (D_OUT, D_H + 1), r"expected params.V to have shape \(2, 4\) .* got \(2, 5\)"),
        ("b_s", (D_H + 1,), r"expected params.b_s to have shape \(4,\) .* got \(5,\)"),
        (
            "b_o",
            (D_OUT + 1,),
            r"expected params.b_o to have shape \(2,\) \(d_in=3, d_h=4, d_out=2\), got \(3,\)",
        ),
        ("U", (D_H,), r"expected params.U to have shape \(d_h, d_in\), got \(4,\)"),
    ],
)
def test_inconsistent_rnn_field_shapes_name_the_field(rnn, field, shape, message):
    with pytest.raises(ValueError, match=message):
        jaxrnn.rnn_scan(rnn._replace(**{field: jnp.zeros(shape)}), XS)


@pytest.mark.parametrize(("gate", "field"), [("i", "U"), ("c", "W"), ("o", "b"), ("f", "W")])
def test_inconsistent_lstm_field_shapes_name_the_field(lstm, gate, field):
    g = getattr(lstm, gate)
    bad = getattr(g, field)
    bad = jnp.zeros(bad.shape[:-1] + (bad.shape[-1] + 1,))
    broken = lstm._replace(**{gate: g._replace(**{field: bad})})
    with pytest.raises(ValueError, match=rf"expected params.{gate}.{field} to have shape"):
        jaxrnn.lstm_scan(broken, XS)


def test_integer_parameters_are_rejected(rnn):
    with pytest.raises(TypeError, match=r"expected params.W to have a floating dtype, got int32"):
        jaxrnn.rnn_scan(rnn._replace(W=jnp.zeros((D_H, D_H), jnp.int32)), XS)


@pytest.mark.parametrize("unroll", [0, -2, 1.5, True])
def test_bad_unroll(rnn, unroll):
    with pytest.raises(ValueError, match=r"expected unroll to be an int >= 1, got"):
        jaxrnn.rnn_scan(rnn, XS, unroll=unroll)


def test_errors_are_raised_under_an_outer_jit(lstm):
    """Checks run at trace time, so they work unchanged inside the user's jit."""
    with pytest.raises(ValueError, match=r"expected xs to have shape"):
        jax.jit(lambda xs: jaxrnn.lstm_scan(lstm, xs))(jnp.ones((2, 5, 9)))
