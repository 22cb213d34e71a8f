"""jaxrnn.linen: the modules equal the pure functions on the parameters they hold."""

from __future__ import annotations

import subprocess
import sys

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization

import jaxrnn
from jaxrnn.layers import Bidirectional, stack
from jaxrnn.linen import LSTM, SimpleRNN, layer_params

ATOL = 1e-6
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))


def test_lstm_params_are_lstm_params_and_give_the_output():
    model = LSTM(features=D_H)
    variables = model.init(jax.random.key(0), XS)
    p = layer_params(variables, 0)
    assert isinstance(p, jaxrnn.LSTMParams)
    np.testing.assert_allclose(p.f.b, 1.0)  # forget_bias
    finals, hs = model.apply(variables, XS, LENGTHS)
    state_T, ref = jaxrnn.lstm_scan(p, XS, lengths=LENGTHS)
    np.testing.assert_array_equal(hs, ref)
    chex.assert_trees_all_equal(finals[0], state_T)


def test_stacked_bidirectional_with_initial_state():
    model = LSTM(features=D_H, num_layers=2, bidirectional=True, merge="sum")
    variables = model.init(jax.random.key(0), XS)
    params = tuple(layer_params(variables, l) for l in range(2))
    assert isinstance(params[1], Bidirectional) and params[1].fwd.f.U.shape == (D_H, D_H)
    h0 = jax.random.normal(jax.random.key(2), (B, D_H))
    state0 = jaxrnn.LSTMState(h=h0, C=-h0)
    init = (Bidirectional(state0, state0), None)
    finals, hs = model.apply(variables, XS, LENGTHS, init)
    ref_finals, ref = stack(params, XS, init, lengths=LENGTHS, merge="sum")
    chex.assert_trees_all_close((finals, hs), (ref_finals, ref), atol=ATOL)
    _, hs_zero = model.apply(variables, XS, LENGTHS)
    assert not np.allclose(hs, hs_zero, atol=1e-3)


def test_simple_rnn_logits():
    model = SimpleRNN(features=D_H, d_out=2, num_layers=2)
    variables = model.init(jax.random.key(0), XS)
    p0, p1 = layer_params(variables, 0), layer_params(variables, 1)
    assert p0.V.shape == (0, D_H) and p1.V.shape == (2, D_H)
    finals, logits = model.apply(variables, XS, LENGTHS)
    _, ss0, _ = jaxrnn.rnn_scan(p0, XS, lengths=LENGTHS)
    s1, _, ref = jaxrnn.rnn_scan(p1, ss0, lengths=LENGTHS)
    chex.assert_trees_all_close((finals[1], logits), (s1, ref), atol=ATOL)


def test_dropout_uses_the_dropout_rng():
    model = LSTM(features=D_H, num_layers=2, dropout=0.5)
    variables = model.init(jax.random.key(0), XS)
    _, eval_hs = model.apply(variables, XS, deterministic=True)
    _, plain = LSTM(features=D_H, num_layers=2).apply(variables, XS)
    _, eval_attr = LSTM(features=D_H, num_layers=2, dropout=0.5, deterministic=True).apply(
        variables, XS
    )
    np.testing.assert_array_equal(eval_attr, plain)
    np.testing.assert_array_equal(eval_hs, plain)
    rngs = {"dropout": jax.random.key(3)}
    _, train_a = model.apply(variables, XS, rngs=rngs)  # training mode by default
    _, train_b = model.apply(variables, XS, deterministic=False, rngs=rngs)
    np.testing.assert_array_equal(train_a, train_b)
    assert not np.allclose(train_a, plain, atol=1e-3)
    with pytest.raises(Exception, match="dropout"):
        model.apply(variables, XS, deterministic=False)


def test_every_parameter_gets_a_gradient_and_serializes():
    model = LSTM(features=D_H, num_layers=2, bidirectional=True)
    variables = model.init(jax.random.key(0), XS)

    @jax.jit
    def loss(v):
        return jnp.sum(model.apply(v, XS, LENGTHS)[1] ** 2)

    grads = jax.grad(loss)(variables)
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        assert np.any(np.asarray(g) != 0), jax.tree_util.keystr(path)
    restored = serialization.from_bytes(variables, serialization.to_bytes(variables))
    chex.assert_trees_all_equal(restored, variables)
    assert isinstance(layer_params(restored, 0).fwd, jaxrnn.LSTMParams)


def test_composes_inside_a_linen_model():
    class Classifier(nn.Module):
        @nn.compact
        def __call__(self, xs, lengths):
            finals, _ = LSTM(features=D_H, bidirectional=True)(xs, lengths)
            return nn.Dense(3)(jnp.concatenate([finals[0].fwd.h, finals[0].bwd.h], -1))

    variables = Classifier().init(jax.random.key(0), XS, LENGTHS)
    assert Classifier().apply(variables, XS, LENGTHS).shape == (B, 3)


def test_import_jaxrnn_does_not_import_flax():
    code = (
        "import sys, jaxrnn, jaxrnn.layers, jaxrnn.tbptt, jaxrnn.interop\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('flax', 'optax', 'torch', 'equinox', 'haiku', 'keras'))\n"
        "assert not bad, bad\n"
        "import jaxrnn.linen\n"
        "assert 'flax' in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_init_builds_each_layer_once(monkeypatch):
    from jaxrnn._src import modules as _module_cells

    calls = []
    real = _module_cells.init_tree
    monkeypatch.setattr(_module_cells, "init_tree", lambda *a: calls.append(1) or real(*a))
    LSTM(features=D_H, num_layers=3, bidirectional=True).init(jax.random.key(0), XS)
    assert len(calls) == 3  # one per layer (was: the whole stack once per layer)


def test_every_weight_is_listed_by_flatten_dict():
    from flax import traverse_util

    variables = LSTM(features=D_H, bidirectional=True).init(jax.random.key(0), XS)
    paths = set(traverse_util.flatten_dict(variables["params"]))
    want = {("layer_0", d, g, w) for d in ("fwd", "bwd") for g in "fico" for w in "UWb"}
    assert paths == want
