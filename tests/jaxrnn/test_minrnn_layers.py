"""minGRU and minLSTM in stacks, bidirectional layers and decoder steps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.layers import Bidirectional, init_stack, stack

pytestmark = pytest.mark.usefixtures("strict_promotion")

TOL = 1e-5  # float32, the same computation composed two ways
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])


def _layers():
    k = jax.random.split(jax.random.key(0), 3)
    bi = Bidirectional(
        jaxrnn.init_mingru_params(k[0], D_IN, D_H), jaxrnn.init_minlstm_params(k[1], D_IN, D_H)
    )
    return (bi, jaxrnn.init_minlstm_params(k[2], 2 * D_H, D_H))


def test_stack_of_bidirectional_and_plain_layers_equals_the_scans_composed():
    layers = _layers()
    xs = jax.random.normal(jax.random.key(1), (B, T, D_IN))
    finals, hs = stack(layers, xs, lengths=LENGTHS)
    f_T, f_hs = jaxrnn.mingru_scan(layers[0].fwd, xs, lengths=LENGTHS)
    b_T, b_hs = jaxrnn.minlstm_scan(layers[0].bwd, xs, lengths=LENGTHS, reverse=True)
    top_T, top_hs = jaxrnn.minlstm_scan(
        layers[1], jnp.concatenate([f_hs, b_hs], -1), lengths=LENGTHS
    )
    np.testing.assert_allclose(hs, top_hs, atol=TOL)
    for got, want in zip(jax.tree.leaves(finals), (f_T, b_T, top_T)):
        np.testing.assert_allclose(got, want, atol=TOL)


def test_stack_with_resets_and_carries_runs_the_steps_and_agrees():
    layers = _layers()
    xs = jax.random.normal(jax.random.key(2), (B, T, D_IN))
    finals, hs = stack(layers, xs, lengths=LENGTHS)
    no_resets = jnp.zeros((B, T), bool)
    finals_r, hs_r, carries = stack(layers, xs, lengths=LENGTHS, resets=no_resets,
                                    return_carries=True)  # fmt: skip
    np.testing.assert_allclose(hs_r, hs, atol=TOL)
    for a, b in zip(jax.tree.leaves(finals_r), jax.tree.leaves(finals)):
        np.testing.assert_allclose(a, b, atol=TOL)
    assert carries[1].shape == (B, T, D_H)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_init_stack_builds_min_layers(cell):
    p = init_stack(jax.random.key(0), cell, D_IN, D_H, num_layers=2, bidirectional=True)
    kind = jaxrnn.MinGRUParams if cell == "mingru" else jaxrnn.MinLSTMParams
    assert isinstance(p[1].bwd, kind) and p[1].fwd[0].shape == (D_H, 2 * D_H)
    _, hs = stack(p, jnp.ones((B, T, D_IN)))
    assert hs.shape == (B, T, 2 * D_H)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_decoder_step_equals_the_parallel_scan_under_teacher_forcing(cell):
    init = jaxrnn.init_mingru_params if cell == "mingru" else jaxrnn.init_minlstm_params
    make = jaxrnn.make_mingru_step_fn if cell == "mingru" else jaxrnn.make_minlstm_step_fn
    scan = jaxrnn.mingru_scan if cell == "mingru" else jaxrnn.minlstm_scan
    k = jax.random.split(jax.random.key(3), 4)
    p = init(k[0], D_IN, D_H)
    E, V = jax.random.normal(k[1], (7, D_IN)), jax.random.normal(k[2], (7, D_H))
    b_o = jax.random.normal(k[3], (7,))
    tokens = jnp.array([[1, 4, 2, 6], [3, 3, 0, 5]])
    step = make(E, p, V, b_o)
    h, logits = jnp.zeros((B, D_H)), []
    for t in range(tokens.shape[1]):
        h, l_t = step(h, tokens[:, t])
        logits.append(l_t)
    _, hs = scan(p, E[tokens])
    np.testing.assert_allclose(jnp.stack(logits, 1), hs @ V.T + b_o, atol=TOL)
    out = jaxrnn.greedy_decode(step, jnp.zeros((B, D_H)), 1, max_len=6, end_token=0)
    assert out.tokens.shape == (B, 6)


def test_decoder_step_refuses_other_parameters():
    p = jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H)
    with pytest.raises(TypeError, match="expected params to be a jaxrnn.MinGRUParams"):
        jaxrnn.make_mingru_step_fn(jnp.ones((5, D_IN)), p, jnp.ones((5, D_H)), jnp.zeros(5))
    q = jaxrnn.init_minlstm_params(jax.random.key(0), D_IN, D_H)
    with pytest.raises(ValueError, match="E to have shape"):
        jaxrnn.make_minlstm_step_fn(jnp.ones((5, 2)), q, jnp.ones((5, D_H)), jnp.zeros(5))
