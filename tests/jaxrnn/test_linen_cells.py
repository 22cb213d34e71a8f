"""jaxrnn.linen cells: genuine RNNCellBase cells, equal to Flax's own and to the scans."""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

import jaxrnn
from jaxrnn.interop import to_flax_gru_cell, to_flax_lstm_cell, to_flax_simple_cell
from jaxrnn.layers import Bidirectional, stack
from jaxrnn.linen import GRUCell, LSTMCell, RNNCell, layer_params

ATOL = 2e-6  # float32, same equations in another order
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))
VALID = (jnp.arange(T) < LENGTHS[:, None])[..., None]


def _init(layer, *args):
    return layer.init(jax.random.key(0), XS, *args)


def test_lstm_cell_in_flax_rnn_equals_flax_lstm_cell_and_lstm_scan():
    layer = nn.RNN(LSTMCell(D_H), return_carry=True)
    variables = _init(layer)
    params = layer_params(variables["params"]["cell"])
    assert isinstance(params, jaxrnn.LSTMParams)
    carry, hs = layer.apply(variables, XS, seq_lengths=LENGTHS)
    peer = nn.RNN(nn.LSTMCell(D_H), return_carry=True)
    (c, h), ref = peer.apply({"params": {"cell": to_flax_lstm_cell(params)["params"]}}, XS,
                             seq_lengths=LENGTHS)  # fmt: skip
    np.testing.assert_allclose(hs, ref, atol=ATOL)
    chex.assert_trees_all_close((carry.h, carry.C), (h, c), atol=ATOL)
    state_T, hs_scan = jaxrnn.lstm_scan(params, XS, lengths=LENGTHS)
    np.testing.assert_allclose(jnp.where(VALID, hs, 0), hs_scan, atol=ATOL)
    chex.assert_trees_all_close(carry, state_T, atol=ATOL)


def test_rnn_cell_equals_flax_simple_cell():
    layer = nn.RNN(RNNCell(D_H))
    variables = _init(layer)
    params = layer_params(variables["params"]["cell"])
    assert params.V.shape == (0, D_H)
    cell_vars, _ = to_flax_simple_cell(params)
    ref = nn.RNN(nn.SimpleCell(D_H)).apply({"params": {"cell": cell_vars["params"]}}, XS)
    np.testing.assert_allclose(layer.apply(variables, XS), ref, atol=ATOL)
    _, ss, _ = jaxrnn.rnn_scan(params, XS)
    np.testing.assert_allclose(layer.apply(variables, XS), ss, atol=ATOL)


def test_gru_cell_equals_flax_gru_cell_and_gru_scan():
    layer = nn.RNN(GRUCell(D_H), return_carry=True)
    variables = _init(layer)
    params = layer_params(variables["params"]["cell"])
    assert isinstance(params, jaxrnn.GRUParams)
    h, hs = layer.apply(variables, XS, seq_lengths=LENGTHS)
    peer = nn.RNN(nn.GRUCell(D_H), return_carry=True)
    ref_h, ref = peer.apply({"params": {"cell": to_flax_gru_cell(params)["params"]}}, XS,
                            seq_lengths=LENGTHS)  # fmt: skip
    chex.assert_trees_all_close((h, hs), (ref_h, ref), atol=ATOL)
    h_T, hs_scan = jaxrnn.gru_scan(params, XS, lengths=LENGTHS)
    chex.assert_trees_all_close((h, jnp.where(VALID, hs, 0)), (h_T, hs_scan), atol=ATOL)


def test_bidirectional_equals_a_bidirectional_stack():
    layer = nn.Bidirectional(nn.RNN(LSTMCell(D_H)), nn.RNN(LSTMCell(D_H)))
    variables = layer.init(jax.random.key(0), XS, seq_lengths=LENGTHS)
    p = variables["params"]
    pair = Bidirectional(layer_params(p["forward_rnn"]["cell"]),
                         layer_params(p["backward_rnn"]["cell"]))  # fmt: skip
    out = layer.apply(variables, XS, seq_lengths=LENGTHS)
    _, ref = stack((pair,), XS, lengths=LENGTHS)
    np.testing.assert_allclose(jnp.where(VALID, out, 0), ref, atol=ATOL)


def test_nn_scan_over_the_cell_equals_lstm_scan():
    scanned = nn.scan(LSTMCell, variable_broadcast="params", split_rngs={"params": False},
                      in_axes=1, out_axes=1)(D_H)  # fmt: skip
    carry0 = LSTMCell(D_H).initialize_carry(jax.random.key(0), XS[:, 0].shape)
    variables = scanned.init(jax.random.key(0), carry0, XS)
    carry, hs = scanned.apply(variables, carry0, XS)
    state_T, ref = jaxrnn.lstm_scan(layer_params(variables["params"]), XS)
    chex.assert_trees_all_close((carry, hs), (state_T, ref), atol=ATOL)


def test_every_weight_is_its_own_leaf():
    variables = _init(nn.RNN(LSTMCell(D_H)))
    paths = {"/".join(k) for k in traverse_util.flatten_dict(variables["params"])}
    assert paths == {f"cell/{g}/{w}" for g in "fico" for w in ("U", "W", "b")}
    np.testing.assert_allclose(variables["params"]["cell"]["f"]["b"], 1.0)  # forget_bias


def test_jit_grad_and_vmap_agree_with_the_scan():
    layer = nn.RNN(LSTMCell(D_H))
    variables = _init(layer)

    def loss(v):
        return jnp.sum(jnp.where(VALID, layer.apply(v, XS, seq_lengths=LENGTHS), 0) ** 2)

    def ref_loss(v):
        _, hs = jaxrnn.lstm_scan(layer_params(v["params"]["cell"]), XS, lengths=LENGTHS)
        return jnp.sum(hs**2)

    chex.assert_trees_all_close(jax.jit(jax.grad(loss))(variables), jax.grad(ref_loss)(variables),
                                atol=1e-5)  # fmt: skip
    one = jax.vmap(lambda x: layer.apply(variables, x[None])[0])(XS)
    np.testing.assert_allclose(one, layer.apply(variables, XS), atol=ATOL)


def test_compute_dtype_and_param_dtype():
    layer = nn.RNN(LSTMCell(D_H, dtype=jnp.bfloat16))
    variables = _init(layer)
    assert variables["params"]["cell"]["f"]["U"].dtype == jnp.float32
    assert layer.apply(variables, XS).dtype == jnp.bfloat16
    layer = nn.RNN(LSTMCell(D_H, param_dtype=jnp.bfloat16))
    variables = _init(layer)
    assert variables["params"]["cell"]["c"]["W"].dtype == jnp.bfloat16
    assert layer.apply(variables, XS).dtype == jnp.float32  # promoted, as Flax's cells


def test_optax_training_reduces_the_loss():
    model = nn.Sequential([nn.RNN(LSTMCell(D_H)), nn.Dense(1)])
    variables = _init(model)
    tx = optax.adam(1e-2)
    opt_state = tx.init(variables)
    target = jnp.sin(jnp.cumsum(XS[..., :1], axis=1))

    @jax.jit
    def train_step(v, s):
        loss, grads = jax.value_and_grad(lambda v: jnp.mean((model.apply(v, XS) - target) ** 2))(v)
        updates, s = tx.update(grads, s)
        return optax.apply_updates(v, updates), s, loss

    losses = []
    for _ in range(5):
        variables, opt_state, loss = train_step(variables, opt_state)
        losses.append(float(loss))
    assert losses[-1] < losses[0]
