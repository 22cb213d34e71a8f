"""jaxrnn.nnx cells: nnx.RNNCellBase cells, equal to Flax's own and to the scans."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import jaxrnn
from jaxrnn.interop import to_flax_lstm_cell
from jaxrnn.nnx import GRUCell, LSTMCell, RNNCell

ATOL = 2e-6  # float32, same equations in another order
B, T, D_IN, D_H = 2, 5, 3, 4
LENGTHS = jnp.array([5, 2])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))
VALID = (jnp.arange(T) < LENGTHS[:, None])[..., None]


def _flax_lstm_cell(params: jaxrnn.LSTMParams) -> nnx.LSTMCell:
    """Flax's own nnx.LSTMCell holding ``params`` (its gate ``f`` is the attribute ``if_``)."""
    cell = nnx.LSTMCell(D_IN, D_H, rngs=nnx.Rngs(0))
    for name, value in to_flax_lstm_cell(params)["params"].items():
        dense = getattr(cell, "if_" if name == "if" else name)
        dense.kernel[...] = value["kernel"]
        if "bias" in value:
            dense.bias[...] = value["bias"]
    return cell


def test_lstm_cell_in_nnx_rnn_equals_flax_lstm_cell_and_lstm_scan():
    cell = LSTMCell(D_IN, D_H, rngs=nnx.Rngs(0))
    params = cell.params()
    carry, hs = nnx.RNN(cell, return_carry=True)(XS, seq_lengths=LENGTHS)
    (c, h), ref = nnx.RNN(_flax_lstm_cell(params), return_carry=True)(XS, seq_lengths=LENGTHS)
    np.testing.assert_allclose(hs, ref, atol=ATOL)
    chex.assert_trees_all_close((carry.h, carry.C), (h, c), atol=ATOL)
    state_T, hs_scan = jaxrnn.lstm_scan(params, XS, lengths=LENGTHS)
    np.testing.assert_allclose(jnp.where(VALID, hs, 0), hs_scan, atol=ATOL)
    chex.assert_trees_all_close(carry, state_T, atol=ATOL)


def test_rnn_cell_equals_rnn_scan_and_every_weight_is_a_param():
    cell = RNNCell(D_IN, D_H, rngs=nnx.Rngs(0))
    paths = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(
        nnx.state(cell, nnx.Param))}  # fmt: skip
    assert len(paths) == 3 and all(any(w in p for p in paths) for w in ("'U'", "'W'", "'b_s'"))
    _, ss, _ = jaxrnn.rnn_scan(cell.params(), XS)
    np.testing.assert_allclose(nnx.RNN(cell)(XS), ss, atol=ATOL)


def test_gru_cell_equals_gru_scan():
    cell = GRUCell(D_IN, D_H, rngs=nnx.Rngs(0))
    h, hs = nnx.RNN(cell, return_carry=True)(XS, seq_lengths=LENGTHS)
    h_T, ref = jaxrnn.gru_scan(cell.params(), XS, lengths=LENGTHS)
    chex.assert_trees_all_close((h, jnp.where(VALID, hs, 0)), (h_T, ref), atol=ATOL)


def test_jit_grad_vmap():
    model = nnx.RNN(LSTMCell(D_IN, D_H, rngs=nnx.Rngs(0)))

    @nnx.jit
    def grads(model):
        return nnx.grad(lambda m: jnp.sum(jnp.where(VALID, m(XS, seq_lengths=LENGTHS), 0) ** 2))(
            model
        )

    def ref_loss(params):
        return jnp.sum(jaxrnn.lstm_scan(params, XS, lengths=LENGTHS)[1] ** 2)

    g = grads(model)
    ref = jax.grad(ref_loss)(model.cell.params())
    chex.assert_trees_all_close(g["cell"]["weights"]["f"]["W"][...], ref.f.W, atol=1e-5)
    one = nnx.vmap(lambda m, x: m(x[None])[0], in_axes=(None, 0))(model, XS)
    np.testing.assert_allclose(one, model(XS), atol=ATOL)


def test_nnx_optimizer_reduces_the_loss():
    class Model(nnx.Module):
        def __init__(self, rngs):
            self.rnn = nnx.RNN(LSTMCell(D_IN, D_H, rngs=rngs))
            self.out = nnx.Linear(D_H, 1, rngs=rngs)

        def __call__(self, xs):
            return self.out(self.rnn(xs))

    model = Model(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
    target = jnp.sin(jnp.cumsum(XS[..., :1], axis=1))

    @nnx.jit
    def train_step(model, optimizer):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(XS) - target) ** 2))(model)
        optimizer.update(model, grads)
        return loss

    losses = [float(train_step(model, optimizer)) for _ in range(5)]
    assert losses[-1] < losses[0]


def test_compute_dtype():
    cell = LSTMCell(D_IN, D_H, dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
    assert cell.weights["f"]["U"][...].dtype == jnp.float32
    assert nnx.RNN(cell)(XS).dtype == jnp.bfloat16
