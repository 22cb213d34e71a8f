"""One set of argument names, and the loop options reachable from stack and every module.

(That ``unroll`` reaches every loop is read from the jaxpr: test_implementation_details.py.)
"""

from __future__ import annotations

import chex
import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jaxrnn
import jaxrnn.equinox
import jaxrnn.linen
import jaxrnn.nnx
from jaxrnn.layers import init_stack, stack

ATOL = 2e-6  # float32, same equations in another order
BF16_ATOL = 0.05  # bfloat16 has 8 bits of mantissa
B, T, D_IN, D_H = 2, 7, 3, 4
LENGTHS = jnp.array([7, 3])
XS = jax.random.normal(jax.random.key(1), (B, T, D_IN))
VALID = (jnp.arange(T) < LENGTHS[:, None])[..., None]
UNROLL = 3


def _scan_unrolls(jaxpr) -> list[int]:
    """The ``unroll`` of every ``scan`` in ``jaxpr``, nested jaxprs included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "scan":
            found.append(eqn.params["unroll"])
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    found += _scan_unrolls(inner)
    return found


def _linen_run():
    model = jaxrnn.linen.LSTM(D_H, num_layers=2, unroll=UNROLL)
    variables = model.init(jax.random.key(0), XS)
    return lambda x: model.apply(variables, x)[1]


def _nnx_run():
    model = jaxrnn.nnx.LSTM(D_IN, D_H, num_layers=2, unroll=UNROLL, rngs=nnx.Rngs(0))
    return lambda x: model(x)[1]


def _equinox_run():
    model = jaxrnn.equinox.LSTM(D_IN, D_H, num_layers=2, unroll=UNROLL, key=jax.random.key(0))
    return lambda x: jax.vmap(model)(x)[1]


def _stack_run(cell="lstm"):
    params = init_stack(jax.random.key(0), cell, D_IN, D_H, num_layers=2, d_out=2)
    return lambda x: stack(params, x, unroll=UNROLL)[1]


def _gru_run():
    model = jaxrnn.linen.GRU(D_H, unroll=UNROLL)
    variables = model.init(jax.random.key(0), XS)
    return lambda x: model.apply(variables, x)[1]


def test_remat_and_dtype_reach_stack_from_the_modules():
    model = jaxrnn.linen.LSTM(D_H, remat=2, dtype=jnp.bfloat16)
    variables = model.init(jax.random.key(0), XS)
    _, hs = model.apply(variables, XS, LENGTHS)
    assert variables["params"]["layer_0"]["f"]["U"].dtype == jnp.float32
    assert hs.dtype == jnp.bfloat16
    p = jaxrnn.linen.layer_params(variables, 0)
    _, ref = jaxrnn.lstm_scan(p, XS, lengths=LENGTHS)
    np.testing.assert_allclose(hs.astype(jnp.float32), ref, atol=BF16_ATOL)


def test_bfloat16_parameters_with_float32_inputs_promote():
    params = init_stack(jax.random.key(0), "lstm", D_IN, D_H, param_dtype=jnp.bfloat16)
    _, hs = stack(params, XS)
    assert hs.dtype == jnp.float32
    _, hs16 = stack(params, XS, dtype=jnp.bfloat16)
    assert hs16.dtype == jnp.bfloat16


def test_time_major_reverse_keep_order_follow_flax_rnn():
    cell = jaxrnn.linen.LSTMCell(D_H)
    variables = nn.RNN(cell).init(jax.random.key(0), XS)
    params = (jaxrnn.linen.layer_params(variables["params"]["cell"]),)
    for keep_order in (False, True):
        ref = nn.RNN(cell, reverse=True, keep_order=keep_order).apply(
            variables, XS, seq_lengths=LENGTHS
        )
        _, out = stack(params, XS, seq_lengths=LENGTHS, reverse=True, keep_order=keep_order)
        np.testing.assert_allclose(out, jnp.where(VALID, ref, 0), atol=ATOL)
    xs_tm = jnp.swapaxes(XS, 0, 1)
    finals, out_tm = stack(params, xs_tm, time_major=True)
    chex.assert_trees_all_close((finals, jnp.swapaxes(out_tm, 0, 1)), stack(params, XS), atol=ATOL)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_carries_on_the_fast_loops_equal_the_plain_scan(cell):
    params = init_stack(jax.random.key(0), cell, D_IN, D_H, d_out=2, num_layers=2,
                        bidirectional=True)  # fmt: skip
    carry0 = jaxrnn.LSTMState(h=XS[:, 0, :1] * jnp.ones(D_H), C=-jnp.ones((B, D_H)))
    carry0 = carry0 if cell == "lstm" else carry0.h
    init = (jaxrnn.Bidirectional(carry0, carry0), None)
    fast = stack(params, XS, init, seq_lengths=LENGTHS, return_carries=True)
    # resets that never fire send every layer through the plain lax.scan path
    plain = stack(params, XS, init, seq_lengths=LENGTHS, return_carries=True,
                  resets=jnp.zeros((B, T), bool))  # fmt: skip
    chex.assert_trees_all_close(fast, plain, atol=ATOL)
    g_fast, g_plain = (
        jax.grad(lambda p, r=r: jax.tree.reduce(
            lambda a, b: a + jnp.sum(b**2), stack(p, XS, init, seq_lengths=LENGTHS,
                                                  return_carries=True, resets=r)[2], 0.0))(params)
        for r in (None, jnp.zeros((B, T), bool))
    )  # fmt: skip
    chex.assert_trees_all_close(g_fast, g_plain, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "old"),
    [
        (lambda p: stack(p, XS, initial_state=None), "initial_state"),
        (lambda p: init_stack(jax.random.key(0), "lstm", d_in=D_IN, d_h=D_H), "d_in"),
        (lambda p: init_stack(jax.random.key(0), "lstm", D_IN, D_H, dtype=jnp.float32), "dtype"),
        (lambda p: jaxrnn.nnx.LSTM(d_in=D_IN, d_h=D_H, rngs=nnx.Rngs(0)), "d_in"),
        (lambda p: jaxrnn.nnx.LSTM(D_IN, D_H, dtype=jnp.float32, rngs=nnx.Rngs(0)), "dtype"),
    ],
)
def test_old_names_warn_and_still_work(call, old):
    params = init_stack(jax.random.key(0), "lstm", D_IN, D_H)
    with pytest.warns(DeprecationWarning, match=old):
        call(params)


def test_old_names_in_the_modules_call_warn_and_give_the_same_result():
    model = jaxrnn.nnx.LSTM(D_IN, D_H, rngs=nnx.Rngs(0))
    state0 = jaxrnn.LSTMState(h=jnp.ones((B, D_H)), C=jnp.ones((B, D_H)))
    new = model(XS, seq_lengths=LENGTHS, initial_carry=(state0,))
    with pytest.warns(DeprecationWarning, match="initial_state"):
        old = model(XS, lengths=LENGTHS, initial_state=(state0,))
    chex.assert_trees_all_equal(new, old)
    with pytest.raises(TypeError, match="both seq_lengths and lengths"):
        model(XS, seq_lengths=LENGTHS, lengths=LENGTHS)
    linen = jaxrnn.linen.LSTM(D_H)
    variables = linen.init(jax.random.key(0), XS)
    with pytest.warns(DeprecationWarning, match="initial_state"):
        linen.apply(variables, XS, initial_state=None)


def test_dropout_defaults_agree_training_mode_everywhere():
    rate = 0.5
    linen = jaxrnn.linen.LSTM(D_H, num_layers=2, dropout=rate)
    variables = linen.init(jax.random.key(0), XS)
    with pytest.raises(Exception, match="dropout"):  # training mode needs the dropout rng
        linen.apply(variables, XS)
    model = jaxrnn.nnx.LSTM(D_IN, D_H, num_layers=2, dropout=rate, rngs=nnx.Rngs(0, dropout=1))
    assert not np.allclose(model(XS)[1], model(XS, deterministic=True)[1], atol=1e-3)
    eq = jaxrnn.equinox.LSTM(D_IN, D_H, num_layers=2, dropout=rate, key=jax.random.key(0))
    with pytest.raises(RuntimeError, match="key"):
        eq(XS[0])
    assert eqx.nn.inference_mode(eq).inference
    for default in (
        jaxrnn.linen.LSTM.dropout,
        jaxrnn.equinox.LSTM(1, 1, key=jax.random.key(0)).dropout,
    ):
        assert default == 0.0


@pytest.mark.parametrize(("cell", "scan"), [("mingru", "mingru_scan"), ("minlstm", "minlstm_scan")])
def test_min_cells_in_every_framework_equal_their_scan(cell, scan):
    name = {"mingru": "MinGRU", "minlstm": "MinLSTM"}[cell]
    run = getattr(jaxrnn, scan)
    linen = getattr(jaxrnn.linen, name)(D_H)
    variables = linen.init(jax.random.key(0), XS)
    p = jaxrnn.linen.layer_params(variables, 0)
    ref = run(p, XS, lengths=LENGTHS)
    chex.assert_trees_all_close(linen.apply(variables, XS, LENGTHS), ((ref[0],), ref[1]), atol=ATOL)
    model = getattr(jaxrnn.nnx, name)(D_IN, D_H, rngs=nnx.Rngs(0))
    ref = run(jaxrnn.nnx.layer_params(model, 0), XS, lengths=LENGTHS)
    chex.assert_trees_all_close(model(XS, LENGTHS), ((ref[0],), ref[1]), atol=ATOL)
    eq = getattr(jaxrnn.equinox, name)(D_IN, D_H, key=jax.random.key(0))
    chex.assert_trees_all_close(eq(XS[0])[1], run(eq.layers[0], XS[0])[1], atol=ATOL)
    cell_layer = nn.RNN(getattr(jaxrnn.linen, name + "Cell")(D_H))
    v = cell_layer.init(jax.random.key(0), XS)
    out = cell_layer.apply(v, XS)
    np.testing.assert_allclose(out, run(jaxrnn.linen.layer_params(v["params"]["cell"]), XS)[1],
                               atol=ATOL)  # fmt: skip
