"""``jaxrnn.linen.GRU``, ``jaxrnn.nnx.GRU`` and ``make_gru_step_fn`` equal the pure functions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn
from jaxrnn import linen
from jaxrnn import nnx as jaxrnn_nnx
from jaxrnn.decode import greedy_decode
from jaxrnn.layers import stack

TOL = 1e-6
XS = jax.random.normal(jax.random.key(0), (2, 5, 3))
LENGTHS = jnp.array([5, 3])


def test_linen_gru_equals_stack_on_its_own_params():
    model = linen.GRU(features=4, num_layers=2, bidirectional=True)
    variables = model.init(jax.random.key(1), XS)
    layers = tuple(linen.layer_params(variables, l) for l in range(2))
    assert isinstance(layers[0].fwd, jaxrnn.GRUParams)
    finals, hs = model.apply(variables, XS, LENGTHS)
    want_finals, want = stack(layers, XS, lengths=LENGTHS)
    np.testing.assert_allclose(hs, want, atol=TOL)
    np.testing.assert_allclose(finals[1].bwd, want_finals[1].bwd, atol=TOL)
    grads = jax.grad(lambda v: jnp.sum(model.apply(v, XS, LENGTHS)[1] ** 2))(variables)
    assert all(bool(jnp.any(g != 0)) for g in jax.tree.leaves(grads))


def test_nnx_gru_equals_stack_on_its_own_params():
    model = jaxrnn_nnx.GRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))
    layers = tuple(jaxrnn_nnx.layer_params(model, l) for l in range(2))
    finals, hs = model(XS, LENGTHS)
    np.testing.assert_allclose(hs, stack(layers, XS, lengths=LENGTHS)[1], atol=TOL)
    np.testing.assert_allclose(hs[:, :, :], jaxrnn.gru_scan(layers[1], jaxrnn.gru_scan(
        layers[0], XS, lengths=LENGTHS)[1], lengths=LENGTHS)[1], atol=TOL)  # fmt: skip
    assert finals[0].shape == (2, 4)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_fn_decodes_like_gru_step(reset_after):
    k = jax.random.split(jax.random.key(2), 3)
    p = jaxrnn.init_gru_params(k[0], d_in=4, d_h=6)
    E, V = jax.random.normal(k[1], (7, 4)), jax.random.normal(k[2], (7, 6))
    b_o = jnp.arange(7.0) / 10
    step = jaxrnn.make_gru_step_fn(E, p, V, b_o, reset_after=reset_after)
    out = greedy_decode(step, jnp.zeros((2, 6)), 1, max_len=4, end_token=0)
    h, y = jnp.zeros((2, 6)), jnp.ones(2, jnp.int32)
    for t in range(int(out.lengths.max())):  # the same greedy choice by hand
        h, _ = jaxrnn.gru_step(p, h, E[y], reset_after=reset_after)
        y = jnp.argmax(h @ V.T + b_o, axis=-1)
        live = t < out.lengths
        np.testing.assert_array_equal(np.asarray(out.tokens[:, t])[live], np.asarray(y)[live])
    with pytest.raises(
        ValueError, match=r"make_gru_step_fn: expected V to have shape \(d_out, d_h=6\)"
    ):
        jaxrnn.make_gru_step_fn(E, p, V[:, :5], b_o)
    with pytest.raises(
        TypeError, match=r"make_gru_step_fn: expected params to be a jaxrnn.GRUParams"
    ):
        jaxrnn.make_gru_step_fn(E, jaxrnn.init_lstm_params(k[0], 4, 6), V, b_o)
