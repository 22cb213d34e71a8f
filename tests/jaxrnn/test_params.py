"""Initialisers: shapes, dtypes, documented defaults, overrides and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

ORTHO_TOL = 1e-5


def test_rnn_params_shapes_and_defaults():
    p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=2)
    assert isinstance(p, jaxrnn.RNNParams)
    assert [tuple(a.shape) for a in p] == [(5, 3), (5, 5), (2, 5), (5,), (2,)]
    assert all(a.dtype == jnp.float32 for a in p)
    np.testing.assert_allclose(p.W @ p.W.T, np.eye(5), atol=ORTHO_TOL)  # orthogonal
    assert not np.any(p.b_s) and not np.any(p.b_o)
    # Glorot uniform bound sqrt(6 / (fan_in + fan_out)) on U (5, 3).
    assert np.abs(p.U).max() <= np.sqrt(6 / 8) and np.abs(p.U).std() > 0


def test_lstm_params_shapes_forget_bias_and_distinct_gates():
    p = jaxrnn.init_lstm_params(jax.random.key(1), d_in=3, d_h=4, forget_bias=2.5)
    assert isinstance(p, jaxrnn.LSTMParams) and p._fields == ("f", "i", "c", "o")
    for g in p:
        assert isinstance(g, jaxrnn.Gate)
        assert (g.U.shape, g.W.shape, g.b.shape) == ((4, 3), (4, 4), (4,))
        np.testing.assert_allclose(g.W @ g.W.T, np.eye(4), atol=ORTHO_TOL)
    np.testing.assert_array_equal(p.f.b, np.full(4, 2.5, np.float32))
    for g in (p.i, p.c, p.o):
        np.testing.assert_array_equal(g.b, np.zeros(4, np.float32))
    assert not np.allclose(p.f.U, p.i.U)  # each gate has its own key


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_dtype_is_respected(dtype):
    rnn = jaxrnn.init_rnn_params(jax.random.key(0), 2, 3, 4, dtype=dtype)
    lstm = jaxrnn.init_lstm_params(jax.random.key(0), 2, 3, dtype=dtype)
    assert {a.dtype for a in jax.tree.leaves((rnn, lstm))} == {jnp.dtype(dtype)}


def test_initialisers_can_be_overridden_per_matrix():
    ones = jax.nn.initializers.ones
    p = jaxrnn.init_rnn_params(jax.random.key(0), 2, 3, 4, W_init=ones, b_init=ones)
    np.testing.assert_array_equal(p.W, np.ones((3, 3)))
    np.testing.assert_array_equal(p.b_o, np.ones(4))
    assert not np.allclose(p.U, 1.0)
    q = jaxrnn.init_lstm_params(jax.random.key(0), 2, 3, U_init=jax.nn.initializers.zeros)
    assert all(not np.any(g.U) for g in q)
    np.testing.assert_array_equal(q.f.b, np.ones(3))  # forget_bias still added


def test_same_key_same_params_different_key_different_params():
    a = jaxrnn.init_lstm_params(jax.random.key(3), 2, 3)
    b = jaxrnn.init_lstm_params(jax.random.key(3), 2, 3)
    c = jaxrnn.init_lstm_params(jax.random.key(4), 2, 3)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    assert not np.allclose(a.o.U, c.o.U)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_bad_sizes_raise(bad):
    with pytest.raises(ValueError, match=r"expected d_h to be a positive int, got"):
        jaxrnn.init_rnn_params(jax.random.key(0), 2, bad, 3)
    with pytest.raises(ValueError, match=r"expected d_in to be a positive int, got"):
        jaxrnn.init_lstm_params(jax.random.key(0), bad, 3)
