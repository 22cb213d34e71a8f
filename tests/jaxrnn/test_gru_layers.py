"""GRU layers in ``jaxrnn.layers``: stacks, bidirectional, resets, carries, dropout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.layers import Bidirectional, init_stack, stack

TOL = 1e-6
B, T, D_IN, D_H = 2, 6, 3, 4
XS = jax.random.normal(jax.random.key(0), (B, T, D_IN))
LENGTHS = jnp.array([6, 4])


def _by_hand(layers, xs, lengths):
    """Each layer with gru_scan, the backward direction reversed, outputs concatenated."""
    finals = []
    for layer in layers:
        f_T, f = jaxrnn.gru_scan(layer.fwd, xs, lengths=lengths)
        b_T, b = jaxrnn.gru_scan(layer.bwd, xs, lengths=lengths, reverse=True)
        finals.append(Bidirectional(f_T, b_T))
        xs = jnp.concatenate([f, b], axis=-1)
    return tuple(finals), xs


def test_init_stack_gru_shapes_and_bad_cell():
    p = init_stack(jax.random.key(0), "gru", D_IN, D_H, num_layers=2, bidirectional=True)
    assert isinstance(p[1].bwd, jaxrnn.GRUParams) and p[1].bwd.z.U.shape == (D_H, 2 * D_H)
    with pytest.raises(ValueError, match="expected cell to be one of .*, got 'x'"):
        init_stack(jax.random.key(0), "x", D_IN, D_H)


def test_bidirectional_stack_equals_layers_by_hand_and_carries_path():
    p = init_stack(jax.random.key(1), "gru", D_IN, D_H, num_layers=2, bidirectional=True)
    finals, hs = stack(p, XS, lengths=LENGTHS)
    want_finals, want = _by_hand(p, XS, LENGTHS)
    np.testing.assert_allclose(hs, want, atol=TOL)
    for a, b in zip(jax.tree.leaves(finals), jax.tree.leaves(want_finals), strict=True):
        np.testing.assert_allclose(a, b, atol=TOL)
    # the carries path (scan_with_resets over gru_step's equations) gives the same values
    finals2, hs2, carries = stack(p, XS, lengths=LENGTHS, return_carries=True)
    np.testing.assert_allclose(hs2, hs, atol=TOL)
    assert carries[1].fwd.shape == (B, T, D_H)
    np.testing.assert_allclose(carries[1].bwd, hs[..., D_H:], atol=TOL)

    def loss(p, carries):
        out = stack(p, XS, lengths=LENGTHS, return_carries=carries)[1]
        return jnp.sum(jnp.sin(out))

    for a, b in zip(
        jax.tree.leaves(jax.grad(loss)(p, False)), jax.tree.leaves(jax.grad(loss)(p, True))
    ):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_resets_restart_from_the_initial_state():
    p = jaxrnn.init_gru_params(jax.random.key(2), D_IN, D_H)
    h0 = jax.random.normal(jax.random.key(3), (B, D_H))
    resets = jnp.zeros((B, T), bool).at[0, 3].set(True)
    (h_T,), hs = stack(p, XS, h0, resets=resets)
    _, first = jaxrnn.gru_scan(p, XS[:, :3], h0)
    second_T, second = jaxrnn.gru_scan(p, XS[0, 3:], h0[0])
    np.testing.assert_allclose(hs[:, :3], first, atol=TOL)
    np.testing.assert_allclose(hs[0, 3:], second, atol=TOL)
    np.testing.assert_allclose(h_T[0], second_T, atol=TOL)
    np.testing.assert_allclose(hs[1], jaxrnn.gru_scan(p, XS[1], h0[1])[1], atol=TOL)


def test_dropout_between_gru_layers():
    p = init_stack(jax.random.key(4), "gru", D_IN, D_H, num_layers=2)
    plain = stack(p, XS)[1]
    a = stack(p, XS, dropout=0.5, key=jax.random.key(5))[1]
    b = stack(p, XS, dropout=0.5, key=jax.random.key(5))[1]
    np.testing.assert_array_equal(a, b)
    assert float(jnp.abs(a - plain).max()) > 1e-3
    np.testing.assert_array_equal(stack(p, XS, dropout=0.5)[1], plain)  # no key: identity


def test_mixed_cells_in_one_stack():
    k = jax.random.split(jax.random.key(6), 2)
    p = (jaxrnn.init_gru_params(k[0], D_IN, D_H), jaxrnn.init_lstm_params(k[1], D_H, D_H))
    (h_T, state_T), hs = stack(p, XS)
    _, h1 = jaxrnn.gru_scan(p[0], XS)
    np.testing.assert_allclose(hs, jaxrnn.lstm_scan(p[1], h1)[1], atol=TOL)
    assert h_T.shape == (B, D_H) and state_T.C.shape == (B, D_H)
