"""jaxrnn.equinox: per-example eqx.Modules, equal to Equinox's cell and to the scans."""

from __future__ import annotations

import chex
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrnn
from jaxrnn.equinox import GRU, LSTM, SimpleRNN
from jaxrnn.interop import to_equinox_gru_cell, to_equinox_lstm_cell
from jaxrnn.layers import stack

ATOL = 2e-6  # float32, same equations in another order
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))
KEY = jax.random.key(0)


def test_lstm_equals_equinox_lstm_cell_and_lstm_scan():
    model = LSTM(D_IN, D_H, key=KEY)
    cell = to_equinox_lstm_cell(model.layers[0])

    def peer(xs):
        def body(carry, x_t):
            h, c = cell(x_t, carry)
            return (h, c), h

        return jax.lax.scan(body, (jnp.zeros(D_H), jnp.zeros(D_H)), xs)

    (h, c), ref = jax.vmap(peer)(XS)
    finals, hs = jax.vmap(model)(XS)
    np.testing.assert_allclose(hs, ref, atol=ATOL)
    chex.assert_trees_all_close((finals[0].h, finals[0].C), (h, c), atol=ATOL)
    state_T, hs_scan = jaxrnn.lstm_scan(model.layers[0], XS)
    chex.assert_trees_all_close((finals[0], hs), (state_T, hs_scan), atol=ATOL)


def test_gru_equals_equinox_gru_cell():
    model = GRU(D_IN, D_H, key=KEY)
    cell = to_equinox_gru_cell(model.layers[0])

    def peer(xs):
        return jax.lax.scan(lambda h, x_t: (cell(x_t, h),) * 2, jnp.zeros(D_H), xs)

    (h_T,), hs = jax.vmap(model)(XS)
    chex.assert_trees_all_close((h_T, hs), jax.vmap(peer)(XS), atol=ATOL)
    chex.assert_trees_all_close(
        jax.vmap(model)(XS)[1], jaxrnn.gru_scan(model.layers[0], XS)[1], atol=ATOL
    )


def test_vmap_with_per_example_lengths_equals_the_batched_stack():
    model = LSTM(D_IN, D_H, num_layers=2, bidirectional=True, key=KEY)
    out = jax.vmap(lambda x, n: model(x, seq_lengths=n))(XS, LENGTHS)
    chex.assert_trees_all_close(out, stack(model.layers, XS, lengths=LENGTHS), atol=ATOL)


def test_simple_rnn_readout():
    model = SimpleRNN(D_IN, D_H, d_out=2, num_layers=2, key=KEY)
    assert model.layers[0].V.shape == (0, D_H) and model.layers[1].V.shape == (2, D_H)
    _, logits = model(XS[0])
    chex.assert_trees_all_close(logits, stack(model.layers, XS[0])[1], atol=ATOL)


def test_dropout_needs_a_key_and_inference_mode_turns_it_off():
    model = LSTM(D_IN, D_H, num_layers=2, dropout=0.5, key=KEY)
    with pytest.raises(RuntimeError, match="key"):
        model(XS[0])
    a = model(XS[0], key=jax.random.key(3))[1]
    b = model(XS[0], key=jax.random.key(4))[1]
    assert not np.allclose(a, b, atol=1e-3)
    plain = model(XS[0], inference=True)[1]
    np.testing.assert_array_equal(eqx.nn.inference_mode(model)(XS[0])[1], plain)


def test_filter_jit_and_filter_grad_reduce_the_loss():
    model = LSTM(D_IN, D_H, num_layers=2, dropout=0.1, key=KEY)
    tx = optax.adam(1e-2)
    opt_state = tx.init(eqx.filter(model, eqx.is_array))
    target = jnp.sin(jnp.cumsum(XS[..., :1], axis=1))

    @eqx.filter_jit
    def train_step(model, opt_state, key):
        def loss(m):
            _, hs = jax.vmap(lambda x, k: m(x, key=k))(XS, jax.random.split(key, B))
            return jnp.mean((hs[..., :1] - target) ** 2)

        grads = eqx.filter_grad(loss)(model)
        updates, opt_state = tx.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss(model)

    losses = []
    for step in range(8):
        model, opt_state, loss = train_step(model, opt_state, jax.random.key(step))
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_compute_dtype():
    model = LSTM(D_IN, D_H, dtype=jnp.bfloat16, key=KEY)
    assert model.layers[0].f.U.dtype == jnp.float32
    assert model(XS[0])[1].dtype == jnp.bfloat16
