"""jaxrnn.interop against the real Flax, Equinox, Haiku and Keras cells.

Each ``compare_*`` returns the max absolute error between the other library's own forward
pass and jaxrnn on the converted weights (non-zero biases everywhere);
``python -m tests.jaxrnn.test_interop`` prints them. PyTorch lives in test_interop_torch.py.
"""

from __future__ import annotations

import os

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.interop import (
    HAIKU_FORGET_BIAS,
    from_equinox_lstm_cell,
    from_flax_carry,
    from_flax_lstm_cell,
    from_flax_simple_cell,
    from_haiku_lstm,
    from_keras_lstm,
    to_equinox_lstm_cell,
    to_flax_carry,
    to_flax_lstm_cell,
    to_flax_simple_cell,
    to_haiku_lstm,
    to_keras_lstm,
)

TOL = 1e-5  # float32, a few steps
B, T, D_IN, D_H, D_OUT = 2, 4, 3, 5, 2
XS = jax.random.normal(jax.random.key(0), (B, T, D_IN))
STATE0 = jaxrnn.LSTMState(*jax.random.normal(jax.random.key(1), (2, B, D_H)))
BIAS = jax.nn.initializers.normal(1.0)  # non-zero biases hide no bias bug


def _err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _jaxrnn_lstm(seed=2):
    return jaxrnn.init_lstm_params(jax.random.key(seed), D_IN, D_H, b_init=BIAS)


# --- Flax ------------------------------------------------------------------------------------


def _flax_unroll(cell, variables, carry):
    """Flax's own cell, stepped over time."""

    def step(carry, x_t):
        return cell.apply(variables, carry, x_t)

    carry, ys = jax.lax.scan(step, carry, jnp.moveaxis(XS, 1, 0))
    return carry, jnp.moveaxis(ys, 0, 1)


def _flax_lstm_compare(cell_cls):
    cell = cell_cls(features=D_H, bias_init=BIAS)
    variables = cell.init(jax.random.key(3), to_flax_carry(STATE0), XS[:, 0])
    carry, ys = _flax_unroll(cell, variables, to_flax_carry(STATE0))
    state_T, hs = jaxrnn.lstm_scan(from_flax_lstm_cell(variables), XS, STATE0)
    err_import = max(_err(hs, ys), _err(state_T.C, from_flax_carry(carry).C))
    p = _jaxrnn_lstm()
    _, ys = _flax_unroll(cell, to_flax_lstm_cell(p), to_flax_carry(STATE0))
    return max(err_import, _err(jaxrnn.lstm_scan(p, XS, STATE0)[1], ys))


def compare_flax_lstm_cell():
    return _flax_lstm_compare(nn.LSTMCell)


def compare_flax_optimized_lstm_cell():
    return _flax_lstm_compare(nn.OptimizedLSTMCell)


def compare_flax_simple_cell():
    cell, dense = nn.SimpleCell(features=D_H, bias_init=BIAS), nn.Dense(D_OUT, bias_init=BIAS)
    s0 = STATE0.h
    cell_vars = cell.init(jax.random.key(4), s0, XS[:, 0])
    dense_vars = dense.init(jax.random.key(5), s0)
    carry, ss = _flax_unroll(cell, cell_vars, s0)
    s_T, ours_ss, logits = jaxrnn.rnn_scan(from_flax_simple_cell(cell_vars, dense_vars), XS, s0)
    err = max(_err(ours_ss, ss), _err(s_T, carry), _err(logits, dense.apply(dense_vars, ss)))
    p = jaxrnn.init_rnn_params(jax.random.key(6), D_IN, D_H, D_OUT, b_init=BIAS)
    cell_vars, dense_vars = to_flax_simple_cell(p)
    _, ss = _flax_unroll(cell, cell_vars, s0)
    return max(err, _err(jaxrnn.rnn_scan(p, XS, s0)[2], dense.apply(dense_vars, ss)))


# --- Equinox ---------------------------------------------------------------------------------


def compare_equinox_lstm_cell():
    eqx = pytest.importorskip("equinox")
    cell = eqx.nn.LSTMCell(D_IN, D_H, key=jax.random.key(7))
    cell = eqx.tree_at(lambda c: c.bias, cell, BIAS(jax.random.key(8), (4 * D_H,)))

    def unroll(cell):
        def step(carry, x_t):
            carry = jax.vmap(cell)(x_t, carry)  # Equinox's carry is (h, c)
            return carry, carry[0]

        (h, c), ys = jax.lax.scan(step, (STATE0.h, STATE0.C), jnp.moveaxis(XS, 1, 0))
        return jaxrnn.LSTMState(h=h, C=c), jnp.moveaxis(ys, 0, 1)

    state_T, hs = jaxrnn.lstm_scan(from_equinox_lstm_cell(cell), XS, STATE0)
    ref_T, ref = unroll(cell)
    p = _jaxrnn_lstm()
    return max(
        _err(hs, ref),
        _err(state_T.C, ref_T.C),
        _err(jaxrnn.lstm_scan(p, XS, STATE0)[1], unroll(to_equinox_lstm_cell(p))[1]),
    )


# --- Haiku -----------------------------------------------------------------------------------


def _haiku_run(params):
    hk = pytest.importorskip("haiku")

    def forward(xs_time):
        core = hk.LSTM(D_H)
        return hk.dynamic_unroll(core, xs_time, hk.LSTMState(hidden=STATE0.h, cell=STATE0.C))

    f = hk.without_apply_rng(hk.transform(forward))
    xs_time = jnp.moveaxis(XS, 1, 0)
    if params is None:
        params = jax.tree.map(lambda a: a, f.init(jax.random.key(9), xs_time))
        b = params["lstm/linear"]["b"]
        params["lstm/linear"]["b"] = BIAS(jax.random.key(10), b.shape)
    ys, state = f.apply(params, xs_time)
    return params, jnp.moveaxis(ys, 0, 1), state


def compare_haiku_lstm():
    params, ys, state = _haiku_run(None)
    state_T, hs = jaxrnn.lstm_scan(from_haiku_lstm(params), XS, STATE0)
    p = _jaxrnn_lstm()
    _, ys_exported, _ = _haiku_run(to_haiku_lstm(p))
    return max(
        _err(hs, ys),
        _err(state_T.C, state.cell),
        _err(jaxrnn.lstm_scan(p, XS, STATE0)[1], ys_exported),
    )


# --- Keras -----------------------------------------------------------------------------------


def _keras():
    os.environ["KERAS_BACKEND"] = "jax"  # before the first import of keras
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.fail(f"keras was imported earlier with backend {keras.backend.backend()}")
    return keras


def compare_keras_lstm():
    keras = _keras()
    layer = keras.layers.LSTM(D_H, return_sequences=True, return_state=True)
    layer.build((B, T, D_IN))
    kernel, recurrent, bias = layer.get_weights()
    layer.set_weights([kernel, recurrent, np.asarray(BIAS(jax.random.key(11), bias.shape))])
    ys, h_T, c_T = layer(np.asarray(XS), initial_state=[np.asarray(STATE0.h), np.asarray(STATE0.C)])
    state_T, hs = jaxrnn.lstm_scan(from_keras_lstm(layer), XS, STATE0)
    err = max(_err(hs, ys), _err(state_T.h, h_T), _err(state_T.C, c_T))
    p = _jaxrnn_lstm()
    layer.set_weights(to_keras_lstm(p))
    ys = layer(np.asarray(XS), initial_state=[np.asarray(STATE0.h), np.asarray(STATE0.C)])[0]
    return max(err, _err(jaxrnn.lstm_scan(p, XS, STATE0)[1], ys))


COMPARISONS = {
    "flax.linen.LSTMCell <-> jaxrnn": compare_flax_lstm_cell,
    "flax.linen.OptimizedLSTMCell <-> jaxrnn": compare_flax_optimized_lstm_cell,
    "flax.linen.SimpleCell + Dense <-> jaxrnn RNN": compare_flax_simple_cell,
    "equinox.nn.LSTMCell <-> jaxrnn": compare_equinox_lstm_cell,
    "haiku.LSTM <-> jaxrnn": compare_haiku_lstm,
    "keras.layers.LSTM (JAX backend) <-> jaxrnn": compare_keras_lstm,
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_matches_the_other_library(name):
    assert COMPARISONS[name]() < TOL


def test_round_trips():
    p = _jaxrnn_lstm()
    chex.assert_trees_all_equal(from_flax_lstm_cell(to_flax_lstm_cell(p)), p)
    chex.assert_trees_all_equal(from_keras_lstm(to_keras_lstm(p)), p)
    chex.assert_trees_all_equal(from_equinox_lstm_cell(to_equinox_lstm_cell(p)), p)
    r = jaxrnn.init_rnn_params(jax.random.key(6), D_IN, D_H, D_OUT, b_init=BIAS)
    chex.assert_trees_all_equal(from_flax_simple_cell(*to_flax_simple_cell(r)), r)
    # Haiku: b_f - 1 + 1 rounds in float32, within one ulp of 1.
    chex.assert_trees_all_close(from_haiku_lstm(to_haiku_lstm(p)), p, atol=2**-23, rtol=0)
    hk_b = to_haiku_lstm(p)["lstm/linear"]["b"]
    np.testing.assert_allclose(hk_b[2 * D_H : 3 * D_H], p.f.b - HAIKU_FORGET_BIAS, atol=0)
    np.testing.assert_array_equal(hk_b[D_H : 2 * D_H], p.c.b)  # gate order i, g, f, o


def test_refusals():
    hk = pytest.importorskip("haiku")
    gru = hk.transform(lambda x: hk.GRU(D_H)(x, jnp.zeros((B, D_H))))
    with pytest.raises(ValueError, match="got a GRU .*; convert it with from_haiku_gru"):
        from_haiku_lstm(gru.init(jax.random.key(0), XS[:, 0]))
    keras = _keras()
    with pytest.raises(TypeError, match="expected a keras.layers.LSTM, got GRU"):
        layer = keras.layers.GRU(D_H)
        layer.build((B, T, D_IN))
        from_keras_lstm(layer)
    relu = keras.layers.LSTM(D_H, activation="relu")
    relu.build((B, T, D_IN))
    with pytest.raises(ValueError, match="cell activation tanh .*, got sigmoid and relu"):
        from_keras_lstm(relu)
    with pytest.raises(ValueError, match="expected Flax variables with the modules"):
        from_flax_lstm_cell({"params": {"i": {}, "h": {}}})


if __name__ == "__main__":
    for label, fn in COMPARISONS.items():
        print(f"{fn():.2e}  {label}")
