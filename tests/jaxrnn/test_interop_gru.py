"""GRU converters against the real Flax, Equinox, Haiku and Keras GRUs, both ways.

Each ``compare_*`` returns the max absolute error between the other library's own forward
pass and ``jaxrnn.gru_scan`` on the converted weights (non-zero biases everywhere), for
import and for export; ``python -m tests.jaxrnn.test_interop_gru`` prints them.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.interop import (
    from_equinox_gru_cell,
    from_flax_gru_cell,
    from_haiku_gru,
    from_keras_gru,
    to_equinox_gru_cell,
    to_flax_gru_cell,
    to_haiku_gru,
    to_keras_gru,
)
from tests.jaxrnn.test_interop import BIAS, XS, _err, _keras

TOL = 1e-5  # float32, a few steps
B, T, D_IN, D_H = XS.shape[0], XS.shape[1], XS.shape[2], 5
H0 = jax.random.normal(jax.random.key(1), (B, D_H))


def _jaxrnn_gru(seed=2):
    return jaxrnn.init_gru_params(jax.random.key(seed), D_IN, D_H, b_init=BIAS)


def _ours(p, reset_after=True):
    return jaxrnn.gru_scan(p, XS, H0, reset_after=reset_after)


def _unroll(step, carry):
    """Another library's step ``(carry, x_t) -> (carry, y_t)`` over time."""
    carry, ys = jax.lax.scan(step, carry, jnp.moveaxis(XS, 1, 0))
    return carry, jnp.moveaxis(ys, 0, 1)


def compare_flax_gru_cell():
    cell = nn.GRUCell(features=D_H, bias_init=BIAS)
    variables = cell.init(jax.random.key(3), H0, XS[:, 0])

    def run(v):
        return _unroll(lambda c, x: cell.apply(v, c, x), H0)

    (h_T, hs), (ref_T, ref) = _ours(from_flax_gru_cell(variables)), run(variables)
    p = _jaxrnn_gru()
    return max(_err(hs, ref), _err(h_T, ref_T), _err(_ours(p)[1], run(to_flax_gru_cell(p))[1]))


def compare_equinox_gru_cell():
    eqx = pytest.importorskip("equinox")
    cell = eqx.nn.GRUCell(D_IN, D_H, key=jax.random.key(7))
    cell = eqx.tree_at(
        lambda c: (c.bias, c.bias_n),
        cell,
        (BIAS(jax.random.key(8), (3 * D_H,)), BIAS(jax.random.key(9), (D_H,))),
    )

    def run(cell):
        def step(h, x_t):
            h = jax.vmap(cell)(x_t, h)
            return h, h

        return _unroll(step, H0)

    (h_T, hs), (ref_T, ref) = _ours(from_equinox_gru_cell(cell)), run(cell)
    p = _jaxrnn_gru()
    exported = run(to_equinox_gru_cell(p))[1]
    return max(_err(hs, ref), _err(h_T, ref_T), _err(_ours(p)[1], exported))


def _haiku_run(params):
    hk = pytest.importorskip("haiku")
    f = hk.without_apply_rng(hk.transform(lambda xs: hk.dynamic_unroll(hk.GRU(D_H), xs, H0)))
    xs_time = jnp.moveaxis(XS, 1, 0)
    if params is None:
        params = jax.tree.map(lambda a: a, f.init(jax.random.key(9), xs_time))
        params["gru"]["b"] = BIAS(jax.random.key(10), params["gru"]["b"].shape)
    ys, h_T = f.apply(params, xs_time)
    return params, jnp.moveaxis(ys, 0, 1), h_T


def compare_haiku_gru():
    """Haiku is the reset_after=False GRU with its update gate negated."""
    params, ys, ref_T = _haiku_run(None)
    h_T, hs = _ours(from_haiku_gru(params), reset_after=False)
    p = _jaxrnn_gru()
    exported = _haiku_run(to_haiku_gru(p))[1]
    return max(_err(hs, ys), _err(h_T, ref_T), _err(_ours(p, reset_after=False)[1], exported))


def _compare_keras_gru(reset_after):
    keras = _keras()
    layer = keras.layers.GRU(D_H, return_sequences=True, return_state=True, reset_after=reset_after)
    layer.build((B, T, D_IN))
    kernel, recurrent, bias = layer.get_weights()
    layer.set_weights([kernel, recurrent, np.asarray(BIAS(jax.random.key(11), bias.shape))])
    ys, ref_T = layer(np.asarray(XS), initial_state=[np.asarray(H0)])
    h_T, hs = _ours(from_keras_gru(layer), reset_after=reset_after)
    err = max(_err(hs, ys), _err(h_T, ref_T))
    p = _jaxrnn_gru()
    layer.set_weights(to_keras_gru(p, reset_after=reset_after))
    ys = layer(np.asarray(XS), initial_state=[np.asarray(H0)])[0]
    return max(err, _err(_ours(p, reset_after=reset_after)[1], ys))


def compare_keras_gru():
    return _compare_keras_gru(True)


def compare_keras_gru_reset_before():
    return _compare_keras_gru(False)


COMPARISONS = {
    "flax.linen.GRUCell <-> jaxrnn GRU": compare_flax_gru_cell,
    "equinox.nn.GRUCell <-> jaxrnn GRU": compare_equinox_gru_cell,
    "haiku.GRU <-> jaxrnn GRU (reset_after=False)": compare_haiku_gru,
    "keras.layers.GRU (JAX backend) <-> jaxrnn GRU": compare_keras_gru,
    "keras.layers.GRU(reset_after=False) <-> jaxrnn GRU": compare_keras_gru_reset_before,
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_matches_the_other_library(name):
    assert COMPARISONS[name]() < TOL


def test_round_trips():
    p = _jaxrnn_gru()
    chex.assert_trees_all_equal(from_flax_gru_cell(to_flax_gru_cell(p)), p)
    chex.assert_trees_all_equal(from_keras_gru(to_keras_gru(p)), p)
    chex.assert_trees_all_equal(from_equinox_gru_cell(to_equinox_gru_cell(p)), p)
    # Haiku and Keras reset_after=False have no b_hn: it is folded into b_n (same equations
    # for reset_after=False), so a round trip returns it there.
    before = p._replace(n=p.n._replace(b=p.n.b + p.b_hn), b_hn=jnp.zeros_like(p.b_hn))
    chex.assert_trees_all_equal(from_haiku_gru(to_haiku_gru(before)), before)
    chex.assert_trees_all_equal(from_keras_gru(to_keras_gru(before, reset_after=False)), before)


def test_refusals():
    keras = _keras()
    relu = keras.layers.GRU(D_H, activation="relu")
    relu.build((B, T, D_IN))
    with pytest.raises(ValueError, match="the only GRU jaxrnn represents.*sigmoid and relu"):
        from_keras_gru(relu)
    lstm = keras.layers.LSTM(D_H)
    lstm.build((B, T, D_IN))
    with pytest.raises(TypeError, match="expected a keras.layers.GRU, got LSTM"):
        from_keras_gru(lstm)
    with pytest.raises(ValueError, match=r"expected the parameters of one hk.GRU"):
        from_haiku_gru({"lstm/linear": {"w": jnp.zeros((8, 20)), "b": jnp.zeros(20)}})
    with pytest.raises(ValueError, match="expected Flax variables with the modules"):
        from_flax_gru_cell({"params": {"ir": {}}})
    with pytest.raises(TypeError, match="expected an equinox.nn.GRUCell, got dict"):
        from_equinox_gru_cell({})


if __name__ == "__main__":
    for label, fn in COMPARISONS.items():
        print(f"{fn():.2e}  {label}")
