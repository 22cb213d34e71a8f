"""jaxrnn.layers: stacks, bidirectional merges, resets, carries, dropout and truncated BPTT."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import Bidirectional, detach, stack, truncated_bptt, without_readout

ATOL = 1e-5  # float32, a few tiny matmuls deep
B, T, D_IN, D_H, D_OUT = 3, 6, 2, 4, 3
LENGTHS = jnp.array([6, 4, 1])


def _lstm(seed, d_in=D_IN, d_h=D_H):
    p = jaxrnn.init_lstm_params(jax.random.key(seed), d_in, d_h)
    # Non-zero biases everywhere, so that a bias bug cannot hide.
    bias = functools.partial(jax.random.normal, jax.random.key(100 + seed), (d_h,))
    return p._replace(**{g: getattr(p, g)._replace(b=bias()) for g in ("i", "c", "o")})


def _rnn(seed, d_in=D_IN, d_h=D_H, d_out=D_OUT):
    return jaxrnn.init_rnn_params(
        jax.random.key(seed), d_in, d_h, d_out, b_init=jax.nn.initializers.normal(1.0)
    )


@pytest.fixture
def xs():
    return jax.random.normal(jax.random.key(7), (B, T, D_IN))


def test_one_layer_equals_lstm_scan(xs):
    p = _lstm(0)
    finals, hs = stack((p,), xs, lengths=LENGTHS)
    ref_T, ref_hs = jaxrnn.lstm_scan(p, xs, lengths=LENGTHS)
    chex.assert_trees_all_close((finals[0], hs), (ref_T, ref_hs), atol=ATOL)


def test_two_layers_compose(xs):
    p0, p1 = _lstm(0), _lstm(1, d_in=D_H)
    finals, hs = stack((p0, p1), xs, lengths=LENGTHS)
    s0, h0 = jaxrnn.lstm_scan(p0, xs, lengths=LENGTHS)
    s1, h1 = jaxrnn.lstm_scan(p1, h0, lengths=LENGTHS)
    chex.assert_trees_all_close((finals, hs), ((s0, s1), h1), atol=ATOL)


@pytest.mark.parametrize("merge", ["concat", "sum", "mean"])
def test_bidirectional_merges(xs, merge):
    p = Bidirectional(_lstm(0), _lstm(1))
    finals, hs = stack(p, xs, lengths=LENGTHS, merge=merge)
    f_T, f_hs = jaxrnn.lstm_scan(p.fwd, xs, lengths=LENGTHS)
    b_T, b_hs = jaxrnn.lstm_scan(p.bwd, xs, lengths=LENGTHS, reverse=True)
    expected = {
        "concat": jnp.concatenate([f_hs, b_hs], -1),
        "sum": f_hs + b_hs,
        "mean": (f_hs + b_hs) / 2,
    }[merge]
    chex.assert_trees_all_close(hs, expected, atol=ATOL)
    chex.assert_trees_all_close(finals[0], Bidirectional(f_T, b_T), atol=ATOL)
    # The backward direction's output at step 0 has read the whole valid sequence.
    assert not np.allclose(hs[1, 0], 0) and np.allclose(hs[1, LENGTHS[1] :], 0)


def test_carries_are_the_step_loop(xs):
    p = _lstm(0)
    finals, hs, carries = stack(p, xs, lengths=LENGTHS, return_carries=True)
    state = jaxrnn.LSTMState(h=jnp.zeros((B, D_H)), C=jnp.zeros((B, D_H)))
    for t in range(T):
        state_t, _ = jaxrnn.lstm_step(p, state, xs[:, t])
        valid = (t < LENGTHS)[:, None]
        state = jax.tree.map(lambda n, o, v=valid: jnp.where(v, n, o), state_t, state)
        expect_C = jnp.where(valid, state.C, 0.0)
        np.testing.assert_allclose(carries[0].C[:, t], expect_C, atol=ATOL)
    chex.assert_trees_all_close(finals[0], state, atol=ATOL)
    # The carries path (own scan) agrees with the plain path (lstm_scan).
    ref_T, ref_hs = jaxrnn.lstm_scan(p, xs, lengths=LENGTHS)
    chex.assert_trees_all_close((finals[0], hs, carries[0].h), (ref_T, ref_hs, ref_hs), atol=ATOL)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_resets_equal_separate_episodes(bidirectional):
    x = jax.random.normal(jax.random.key(3), (T, D_IN))
    cut = 2
    resets = jnp.zeros(T, bool).at[cut].set(True)
    p = Bidirectional(_lstm(0), _lstm(1)) if bidirectional else _lstm(0)
    state0 = Bidirectional(_rand_state(5), _rand_state(6)) if bidirectional else _rand_state(5)
    _, hs = stack(p, x, (state0,), resets=resets)
    _, hs_a = stack(p, x[:cut], (state0,))
    _, hs_b = stack(p, x[cut:], (state0,))
    np.testing.assert_allclose(hs, jnp.concatenate([hs_a, hs_b]), atol=ATOL)
    _, hs_no_reset = stack(p, x, (state0,))
    assert not np.allclose(hs[cut:], hs_no_reset[cut:], atol=1e-3)


def _rand_state(seed):
    h, C = jax.random.normal(jax.random.key(seed), (2, D_H))
    return jaxrnn.LSTMState(h=h, C=C)


def test_resets_respect_lengths(xs):
    p = _lstm(0)
    resets = jnp.zeros((B, T), bool).at[:, 3].set(True)
    finals, hs = stack(p, xs, lengths=LENGTHS, resets=resets)
    assert np.allclose(hs[1, 4:], 0) and np.allclose(hs[2, 1:], 0)
    _, h_tail = jaxrnn.lstm_scan(p, xs[:1, 3:])
    np.testing.assert_allclose(hs[:1, 3:], h_tail, atol=ATOL)
    np.testing.assert_allclose(finals[0].h[:1], h_tail[:, -1], atol=ATOL)


def test_rnn_stack_logits(xs):
    p0, p1 = without_readout(_rnn(0)), _rnn(1, d_in=D_H)
    finals, logits = stack((p0, p1), xs, lengths=LENGTHS)
    s0, ss0, _ = jaxrnn.rnn_scan(p0, xs, lengths=LENGTHS)
    s1, _, logits1 = jaxrnn.rnn_scan(p1, ss0, lengths=LENGTHS)
    chex.assert_trees_all_close((finals, logits), ((s0, s1), logits1), atol=ATOL)


def test_bidirectional_rnn_sum_is_one_readout(xs):
    p = Bidirectional(_rnn(0), _rnn(1))
    finals, logits, carries = stack(p, xs, lengths=LENGTHS, return_carries=True)
    _, ss_f, lg_f = jaxrnn.rnn_scan(p.fwd, xs, lengths=LENGTHS)
    _, ss_b, lg_b = jaxrnn.rnn_scan(p.bwd, xs, lengths=LENGTHS, reverse=True)
    chex.assert_trees_all_close(logits, lg_f + lg_b, atol=ATOL)
    chex.assert_trees_all_close(carries[0], Bidirectional(ss_f, ss_b), atol=ATOL)


def test_dropout_between_layers(xs):
    p = (_lstm(0), _lstm(1, d_in=D_H))
    _, plain = stack(p, xs)
    _, no_key = stack(p, xs, dropout=0.5)
    key = jax.random.key(11)
    _, dropped = stack(p, xs, dropout=0.5, key=key)
    _, again = stack(p, xs, dropout=0.5, key=key)
    np.testing.assert_array_equal(no_key, plain)
    np.testing.assert_array_equal(dropped, again)
    # Same as applying the documented mask by hand between the two layers.
    _, h0 = jaxrnn.lstm_scan(p[0], xs)
    keep = jax.random.bernoulli(jax.random.fold_in(key, 1), 0.5, h0.shape)
    _, manual = jaxrnn.lstm_scan(p[1], jnp.where(keep, h0 / 0.5, 0.0))
    np.testing.assert_allclose(dropped, manual, atol=ATOL)
    assert not np.allclose(dropped, plain, atol=1e-3)


def test_stack_jits(xs):
    p = (Bidirectional(_lstm(0), _lstm(1)), _lstm(2, d_in=D_H))
    run = jax.jit(functools.partial(stack, merge="mean"))
    chex.assert_trees_all_close(
        run(p, xs, lengths=LENGTHS), stack(p, xs, lengths=LENGTHS, merge="mean"), atol=ATOL
    )


def _chunk_loss(p, state, xs):
    state_T, hs = jaxrnn.lstm_scan(p, xs, state)
    return jnp.sum(hs**2), state_T


def test_truncated_bptt():
    p = _lstm(0)
    xs = jax.random.normal(jax.random.key(1), (B, 8, D_IN))
    state0 = jaxrnn.LSTMState(h=jnp.zeros((B, D_H)), C=jnp.zeros((B, D_H)))
    tbptt = jax.jit(truncated_bptt, static_argnums=0, static_argnames=("chunk", "time_axis"))
    loss, grads, state_T = tbptt(_chunk_loss, p, state0, xs, chunk=4, time_axis=1)
    ref = jax.jit(jax.value_and_grad(_chunk_loss, has_aux=True))
    (l_a, s_a), g_a = ref(p, state0, xs[:, :4])
    (l_b, s_b), g_b = ref(p, detach(s_a), xs[:, 4:])
    chex.assert_trees_all_close(
        (loss, grads, state_T), (l_a + l_b, jax.tree.map(jnp.add, g_a, g_b), s_b), atol=1e-4
    )
    # One chunk = full backprop; the truncated gradient differs from it.
    _, g_full, _ = tbptt(_chunk_loss, p, state0, xs, chunk=8, time_axis=1)
    (_, _), g_ref = ref(p, state0, xs)
    chex.assert_trees_all_close(g_full, g_ref, atol=1e-4)
    assert not np.allclose(grads.f.W, g_ref.f.W, atol=1e-4)
    with pytest.raises(ValueError, match="divisible by chunk=3"):
        truncated_bptt(_chunk_loss, p, state0, xs, chunk=3, time_axis=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"merge": "max"}, ValueError, "merge to be one of"),
        ({"dropout": 1.0}, ValueError, r"dropout to be a float in \[0, 1\)"),
        ({"resets": jnp.zeros((B, T + 1), bool)}, ValueError, "resets to have shape"),
        ({"resets": jnp.zeros((B, T))}, TypeError, "resets to have dtype bool"),
        ({"initial_carry": (None, None)}, ValueError, "one carry per layer"),
        ({"lengths": jnp.array([1, 2])}, ValueError, r"lengths to have shape xs.shape\[:-2\]"),
        (
            {"initial_carry": jnp.zeros((B, D_H)), "resets": jnp.zeros((B, T), bool)},
            TypeError,
            "expected initial_carry to be a jaxrnn.LSTMState",
        ),
        (
            {"return_carries": True, "initial_carry": (_rand_state(0),)},
            ValueError,
            r"(initial_carry|state0)\.h to have shape \(3, 4\)",
        ),
    ],
)
def test_bad_inputs(xs, kwargs, error, match):
    with pytest.raises(error, match=match):
        stack((_lstm(0),), xs, **kwargs)


def test_bad_params(xs):
    with pytest.raises(TypeError, match="non-empty tuple of layers"):
        stack((), xs)
    with pytest.raises(ValueError, match="d_in=2 to match"):
        stack((_lstm(0), _lstm(1)), xs)
