"""jaxrnn.nnx: the modules equal the pure functions on the NamedTuples they hold."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxrnn
from jaxrnn.layers import Bidirectional, stack
from jaxrnn.nnx import LSTM, LSTMCell, SimpleRNN, layer_params

ATOL = 1e-6
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))


def test_lstm_param_value_is_lstm_params_and_gives_the_output():
    model = LSTM(D_IN, D_H, rngs=nnx.Rngs(0))
    p = layer_params(model, 0)
    assert isinstance(p, jaxrnn.LSTMParams)
    finals, hs = model(XS, LENGTHS)
    state_T, ref = jaxrnn.lstm_scan(p, XS, lengths=LENGTHS)
    np.testing.assert_array_equal(hs, ref)
    chex.assert_trees_all_equal(finals[0], state_T)


def test_stacked_bidirectional_equals_stack():
    model = LSTM(D_IN, D_H, num_layers=2, bidirectional=True, merge="mean", rngs=nnx.Rngs(0))
    params = tuple(layer_params(model, l) for l in range(2))
    assert isinstance(params[1], Bidirectional) and params[1].bwd.i.U.shape == (D_H, D_H)
    chex.assert_trees_all_close(
        model(XS, LENGTHS), stack(params, XS, lengths=LENGTHS, merge="mean"), atol=ATOL
    )


def test_layer_params_needs_a_layer_index_exactly_for_a_stack():
    stack_model, cell = LSTM(D_IN, D_H, rngs=nnx.Rngs(0)), LSTMCell(D_IN, D_H, rngs=nnx.Rngs(0))
    assert isinstance(layer_params(cell), jaxrnn.LSTMParams)
    with pytest.raises(TypeError, match=r"got LSTM with layer=None"):
        layer_params(stack_model)
    with pytest.raises(TypeError, match=r"a stack with a layer index, got LSTMCell with layer=0"):
        layer_params(cell, 0)


def test_simple_rnn_logits():
    model = SimpleRNN(D_IN, D_H, d_out=2, rngs=nnx.Rngs(0))
    finals, logits = model(XS, LENGTHS)
    s_T, _, ref = jaxrnn.rnn_scan(layer_params(model, 0), XS, lengths=LENGTHS)
    chex.assert_trees_all_close((finals[0], logits), (s_T, ref), atol=ATOL)


def test_dropout_train_and_eval():
    model = LSTM(D_IN, D_H, num_layers=2, dropout=0.5, rngs=nnx.Rngs(0, dropout=1))
    _, plain = model(XS, deterministic=True)
    _, a = model(XS)
    _, b = model(XS)
    assert not np.allclose(a, plain, atol=1e-3)
    assert not np.allclose(a, b, atol=1e-3)  # the stream advances
    model.eval()
    np.testing.assert_array_equal(model(XS)[1], plain)


def test_optimizer_step_changes_every_parameter():
    model = SimpleRNN(D_IN, D_H, d_out=3, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
    before = jax.tree.map(jnp.copy, nnx.state(model, nnx.Param))
    optimizer = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
    labels = jnp.zeros((B, T), jnp.int32)

    @nnx.jit
    def train_step(model, optimizer):
        def loss_fn(model):
            _, logits = model(XS, LENGTHS)
            return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    train_step(model, optimizer)
    after = nnx.state(model, nnx.Param)
    for path, old, new in zip(
        jax.tree_util.tree_leaves_with_path(before),
        jax.tree.leaves(before),
        jax.tree.leaves(after),
        strict=True,
    ):
        if old.size:  # lower layers' empty readouts have nothing to change
            assert np.any(np.asarray(old) != np.asarray(new)), jax.tree_util.keystr(path[0])
