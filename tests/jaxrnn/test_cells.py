"""One step of each cell against the float64 NumPy reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12
F32_TOL = 1e-5


def _data(key, shape, dtype=jnp.float64):
    return jax.random.normal(key, shape, dtype)


def _nonzero_biases(params, key):
    """Random biases: zero biases would hide bias bugs."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    leaves = [
        a + 0.5 * jax.random.normal(k, a.shape, a.dtype) if a.ndim == 1 else a
        for a, k in zip(leaves, keys)
    ]
    return jax.tree.unflatten(tree, leaves)


@pytest.mark.usefixtures("x64")
def test_rnn_step_matches_reference_one_example_and_batch():
    k = jax.random.split(jax.random.key(0), 4)
    p = _nonzero_biases(jaxrnn.init_rnn_params(k[0], 3, 4, 2, dtype=jnp.float64), k[1])
    xs, s_prev = _data(k[2], (5, 3)), _data(k[3], (5, 4))
    s_t, logits_t = jaxrnn.rnn_step(p, s_prev, xs)  # batch of 5
    for b in range(5):
        s_ref, _, logits_ref = ref.rnn_forward(p, xs[b][None], s0=s_prev[b])
        np.testing.assert_allclose(s_t[b], s_ref, atol=F64_TOL)
        np.testing.assert_allclose(logits_t[b], logits_ref[0], atol=F64_TOL)
        one_s, one_logits = jaxrnn.rnn_step(p, s_prev[b], xs[b])  # unbatched
        np.testing.assert_allclose(one_s, s_ref, atol=F64_TOL)
        np.testing.assert_allclose(one_logits, logits_ref[0], atol=F64_TOL)
    probs = jax.nn.softmax(logits_t)  # o_t = softmax(logits_t)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=F64_TOL)


@pytest.mark.usefixtures("x64")
def test_lstm_step_matches_reference():
    k = jax.random.split(jax.random.key(1), 5)
    p = _nonzero_biases(jaxrnn.init_lstm_params(k[0], 3, 4, dtype=jnp.float64), k[1])
    x, h, C = _data(k[2], (2, 6, 3)), _data(k[3], (2, 6, 4)), _data(k[4], (2, 6, 4))
    state_t, h_t = jaxrnn.lstm_step(p, jaxrnn.LSTMState(h=h, C=C), x)  # two batch axes
    assert isinstance(state_t, jaxrnn.LSTMState)
    np.testing.assert_array_equal(h_t, state_t.h)
    for a in range(2):
        for b in range(6):
            h_ref, C_ref, _, _ = ref.lstm_forward(p, x[a, b][None], h0=h[a, b], C0=C[a, b])
            np.testing.assert_allclose(state_t.h[a, b], h_ref, atol=F64_TOL)
            np.testing.assert_allclose(state_t.C[a, b], C_ref, atol=F64_TOL)


def test_float32_in_float32_out_and_close_to_reference():
    k = jax.random.split(jax.random.key(2), 3)
    p = jaxrnn.init_lstm_params(k[0], 3, 4)
    x = _data(k[1], (3,), jnp.float32)
    state = jaxrnn.LSTMState(h=jnp.zeros(4), C=jnp.ones(4))
    state_t, h_t = jaxrnn.lstm_step(p, state, x)
    assert h_t.dtype == state_t.C.dtype == jnp.float32
    h_ref, C_ref, _, _ = ref.lstm_forward(p, x[None], h0=np.zeros(4), C0=np.ones(4))
    np.testing.assert_allclose(h_t, h_ref, atol=F32_TOL)
    np.testing.assert_allclose(state_t.C, C_ref, atol=F32_TOL)


def test_forget_gate_keeps_memory_when_saturated():
    """With f_t -> 1 and i_t -> 0 the cell state is carried unchanged (the LSTM's point)."""
    p = jaxrnn.init_lstm_params(jax.random.key(0), 2, 3)
    big = jnp.full(3, 30.0)
    p = p._replace(f=p.f._replace(b=big), i=p.i._replace(b=-big))
    C = jnp.array([0.3, -1.2, 2.0])
    state_t, _ = jaxrnn.lstm_step(p, jaxrnn.LSTMState(h=jnp.zeros(3), C=C), jnp.ones(2))
    np.testing.assert_allclose(state_t.C, C, atol=F32_TOL)
