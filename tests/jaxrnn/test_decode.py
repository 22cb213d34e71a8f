"""Decoders (greedy, sampling, beam search) against Python loops and brute force."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import make_lstm_step_fn, make_rnn_step_fn
from jaxrnn.decode import beam_search, greedy_decode, sample_decode

LOGP_TOL = 1e-4  # float32 log-probabilities summed over a few steps
# Chi-square critical values at p = 0.001 by degrees of freedom: a correct sampler fails
# with probability 1e-3 for a random key; the key is fixed, so the test is deterministic.
CHI2_CRIT_P001 = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467}
SMALL_TEMPERATURE = 1e-4  # logits gaps of the toy models are >> 1e-4 * 20

END, PAD = 0, 0


# Models are cached and the decoders jitted with step_fn static, so that tests sharing a
# model and shapes share one compilation (the machine running the tests is small).
@functools.cache
def lstm_model(seed=0, n_vocab=4, d_in=3, d_h=5, B=3, scale=2.0, dtype=jnp.float32):
    """A random LSTM decoder with a random (per-row different) initial state."""
    # NumPy draws: no program compiled per shape and dtype
    rng = np.random.default_rng(seed)
    p = jaxrnn.init_lstm_params(jax.random.key(seed), d_in, d_h, dtype=dtype)
    E = jnp.asarray(rng.standard_normal((n_vocab, d_in)).astype(dtype))
    V = jnp.asarray((scale * rng.standard_normal((n_vocab, d_h))).astype(dtype))
    b_o = jnp.asarray(rng.standard_normal(n_vocab).astype(dtype))
    h0, C0 = rng.standard_normal((2, B, d_h)).astype(dtype)
    return make_lstm_step_fn(E, p, V, b_o), jaxrnn.LSTMState(h=jnp.asarray(h0), C=jnp.asarray(C0))


@functools.cache
def rnn_model(seed=1, n_vocab=5, d_in=2, d_h=4, B=3):
    rng = np.random.default_rng(seed)
    p = jaxrnn.init_rnn_params(jax.random.key(seed), d_in, d_h, n_vocab)
    p = p._replace(V=3.0 * p.V)
    E = jnp.asarray(rng.standard_normal((n_vocab, d_in)).astype(np.float32))
    return make_rnn_step_fn(E, p), jnp.asarray(rng.standard_normal((B, d_h)).astype(np.float32))


def _host(decoder, static_argnames):
    """``decoder`` jitted (``step_fn`` static), its outputs fetched as NumPy arrays, so that
    indexing them in the tests compiles nothing."""
    jitted = jax.jit(decoder, static_argnums=0, static_argnames=static_argnames)
    return functools.wraps(decoder)(lambda *a, **kw: jax.device_get(jitted(*a, **kw)))


_STATIC = ("max_len", "end_token", "pad_id")
greedy_jit = _host(greedy_decode, _STATIC)
sample_jit = _host(sample_decode, (*_STATIC, "top_k"))
beam_jit = _host(beam_search, (*_STATIC, "beam_size", "length_norm", "alpha", "return_all"))


@functools.cache
def jitted(step):
    return jax.jit(step)


def row(carry, b):
    """Row ``b`` of the carry, sliced on the host (no program per slice)."""
    return jax.tree.map(lambda x: np.asarray(x)[b : b + 1], carry)


def log_softmax64(logits):
    z = np.asarray(logits, np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def hand_greedy(step, carry0, start, max_len, end):
    """Greedy decoding of each row separately, with a Python loop and np.argmax."""
    B, step = jax.tree.leaves(carry0)[0].shape[0], jitted(step)
    out = []
    for b in range(B):
        carry, y, seq = row(carry0, b), np.array([start], np.int32), []
        for _ in range(max_len):
            carry, logits = step(carry, y)
            y_t = int(np.argmax(np.asarray(logits[0])))
            seq.append(y_t)
            if y_t == end:
                break
            y = np.array([y_t], np.int32)
        out.append(seq)
    return out


def token_log_probs(step, carry_row, start, seqs):
    """``log p(y_t | y_<t)`` (float64) of each of ``seqs`` (N, L) from one example's carry."""
    seqs, step = np.asarray(seqs), jitted(step)
    N, L = seqs.shape
    carry = jax.tree.map(lambda x: np.repeat(np.asarray(x), N, axis=0), carry_row)
    y = np.full((N,), start, np.int32)
    out = np.zeros((N, L))
    for t in range(L):
        carry, logits = step(carry, y)
        out[:, t] = log_softmax64(logits)[np.arange(N), seqs[:, t]]
        y = seqs[:, t].astype(np.int32)
    return out


def lp64(L, length_norm, alpha):
    if length_norm is None:
        return 1.0
    return L**alpha if length_norm == "average" else ((5.0 + L) / 6.0) ** alpha


def brute_force(step, carry_row, start, n_vocab, max_len, end, length_norm, alpha):
    """Every sequence: ended ones of each length, and the unended ones of max_len."""
    words = [v for v in range(n_vocab) if v != end]
    seqs, lengths = [], []
    for L in range(1, max_len + 1):
        for prefix in itertools.product(words, repeat=L - 1):
            seqs.append(list(prefix) + [end] + [PAD] * (max_len - L))
            lengths.append(L)
    for full in itertools.product(words, repeat=max_len):
        seqs.append(list(full))
        lengths.append(max_len)
    tlp = token_log_probs(step, carry_row, start, seqs)
    lengths = np.array(lengths)
    log_p = np.array([tlp[i, :L].sum() for i, L in enumerate(lengths)])
    score = log_p / np.array([lp64(L, length_norm, alpha) for L in lengths])
    order = np.argsort(-score)
    return np.array(seqs)[order], lengths[order], score[order]


def assert_padded_after_end(out, end, max_len):
    """Everything after the first end token is pad with log-prob 0; lengths match."""
    tokens = np.asarray(out.tokens).reshape(-1, max_len)
    tlp = np.asarray(out.token_log_probs).reshape(-1, max_len)
    lengths = np.asarray(out.lengths).reshape(-1)
    for seq, lp_row, L in zip(tokens, tlp, lengths):
        ends = np.flatnonzero(seq == end)
        expected_L = ends[0] + 1 if ends.size else max_len
        assert L == expected_L, (seq, L)
        assert (seq[L:] == PAD).all() and (lp_row[L:] == 0).all()
    np.testing.assert_allclose(np.asarray(out.log_prob).reshape(-1), tlp.sum(-1), atol=LOGP_TOL)


# --- greedy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [lstm_model, rnn_model])
def test_greedy_equals_argmax_unrolled_by_hand(model):
    step, carry0 = model()
    out = greedy_jit(step, carry0, 1, max_len=6, end_token=END, pad_id=PAD)
    for b, seq in enumerate(hand_greedy(step, carry0, 1, 6, END)):
        assert np.asarray(out.tokens[b]).tolist() == seq + [PAD] * (6 - len(seq))
        assert int(out.lengths[b]) == len(seq)
        want = token_log_probs(step, row(carry0, b), 1, [seq])[0]
        np.testing.assert_allclose(out.token_log_probs[b, : len(seq)], want, atol=LOGP_TOL)
    np.testing.assert_array_equal(out.score, out.log_prob)


def test_greedy_without_end_token_runs_max_len():
    step, carry0 = lstm_model()
    out = greedy_jit(step, carry0, 1, max_len=7, end_token=None)
    assert out.tokens.shape == (3, 7) and (np.asarray(out.lengths) == 7).all()
    hand = hand_greedy(step, carry0, 1, 7, end=-1)
    assert np.asarray(out.tokens).tolist() == hand


def test_per_example_start_tokens():
    step, carry0 = lstm_model()
    starts = jnp.array([1, 2, 3])
    out = greedy_jit(step, carry0, starts, max_len=5, end_token=END)
    for b in range(3):
        one = greedy_jit(step, row(carry0, b), int(starts[b]), max_len=5, end_token=END)
        np.testing.assert_array_equal(out.tokens[b], one.tokens[0])


# --- end tokens -----------------------------------------------------------------------------


def test_end_tokens_stop_sequences():
    step, carry0 = lstm_model(seed=3, B=8)
    outs = [
        greedy_jit(step, carry0, 1, max_len=6, end_token=END),
        sample_jit(step, carry0, 1, jax.random.key(0), max_len=6, end_token=END),
        beam_jit(step, carry0, 1, beam_size=3, max_len=6, end_token=END, return_all=True),
    ]
    for out in outs:
        assert_padded_after_end(out, END, 6)
    # Some rows end early and some not, so both branches were exercised.
    lengths = np.concatenate([np.asarray(o.lengths).ravel() for o in outs])
    assert (lengths < 6).any() and (lengths == 6).any()


def test_pad_id_distinct_from_end():
    step = lambda c, y: (c, jnp.eye(4)[(y + 1) % 4] * 5.0)  # noqa: E731  y_t = y_{t-1} + 1
    out = greedy_jit(step, np.zeros((2, 1)), np.array([0, 2]), max_len=5, end_token=3, pad_id=9)
    assert np.asarray(out.tokens).tolist() == [[1, 2, 3, 9, 9], [3, 9, 9, 9, 9]]
    assert np.asarray(out.lengths).tolist() == [3, 1]


# --- beam search ----------------------------------------------------------------------------


@pytest.mark.parametrize("length_norm", [None, "average", "gnmt"])
def test_beam_width_one_equals_greedy(length_norm):
    step, carry0 = lstm_model(seed=4, B=4)
    greedy = greedy_jit(step, carry0, 1, max_len=6, end_token=END)
    beam = beam_jit(step, carry0, 1, beam_size=1, max_len=6, end_token=END,
                       length_norm=length_norm, alpha=1.0)
    np.testing.assert_array_equal(beam.tokens, greedy.tokens)
    np.testing.assert_array_equal(beam.lengths, greedy.lengths)
    np.testing.assert_allclose(beam.log_prob, greedy.log_prob, atol=LOGP_TOL)


@pytest.mark.parametrize(("length_norm", "alpha"),
                         [(None, 0.0), ("average", 1.0), ("gnmt", 0.6), ("gnmt", 2.0)])
def test_beam_search_is_exact_on_tiny_vocabulary(length_norm, alpha):
    # n_vocab=3 with one end token: at most 2**(max_len-1) = 8 alive prefixes, so
    # beam_size=8 never prunes one, and the K best must be the brute-force K best.
    n_vocab, max_len, K = 3, 4, 8
    step, carry0 = lstm_model(seed=5, n_vocab=n_vocab, B=3, scale=1.0)
    out = beam_jit(step, carry0, 1, beam_size=K, max_len=max_len, end_token=END,
                      length_norm=length_norm, alpha=alpha, return_all=True)
    for b in range(3):
        seqs, lengths, score = brute_force(step, row(carry0, b), 1, n_vocab, max_len, END,
                                           length_norm, alpha)
        np.testing.assert_array_equal(out.tokens[b], seqs[:K])
        np.testing.assert_array_equal(out.lengths[b], lengths[:K])
        np.testing.assert_allclose(out.score[b], score[:K], atol=LOGP_TOL)


def test_length_normalisation_changes_the_winner():
    # Guards the exactness test against a model where every norm picks the same sequence.
    step, carry0 = lstm_model(seed=5, n_vocab=3, B=3, scale=1.0)
    winners = {
        norm: np.asarray(beam_jit(step, carry0, 1, beam_size=8, max_len=4, end_token=END,
                                     length_norm=norm, alpha=2.0).tokens).tolist()
        for norm in (None, "gnmt")
    }
    assert winners[None] != winners["gnmt"]


def test_beams_are_consistent_and_not_extended_after_end():
    step, carry0 = lstm_model(seed=6, n_vocab=5, B=2)
    out = beam_jit(step, carry0, 1, beam_size=4, max_len=6, end_token=END,
                      length_norm="gnmt", alpha=0.6, return_all=True)
    assert out.tokens.shape == (2, 4, 6) and out.score.shape == (2, 4)
    assert_padded_after_end(out, END, 6)
    assert (np.diff(np.asarray(out.score), axis=-1) <= 0).all()  # best first
    for b in range(2):  # the stored per-token log-probs are the model's
        want = token_log_probs(step, row(carry0, b), 1, out.tokens[b])
        mask = np.arange(6) < np.asarray(out.lengths[b])[:, None]
        np.testing.assert_allclose(out.token_log_probs[b], want * mask, atol=LOGP_TOL)
        lp = np.array([lp64(L, "gnmt", 0.6) for L in np.asarray(out.lengths[b])])
        np.testing.assert_allclose(out.score[b], out.log_prob[b] / lp, atol=LOGP_TOL)


def test_beam_search_beats_greedy_when_greedy_is_myopic():
    def step(c, y):  # token 1 is best first, but only 2 -> end is likely afterwards
        first = jnp.log(jnp.array([0.1, 0.5, 0.4]))
        after_1 = jnp.log(jnp.array([0.3, 0.4, 0.3]))
        after_2 = jnp.log(jnp.array([0.9, 0.05, 0.05]))
        logits = jnp.where(c == 0, first, jnp.where(y[:, None] == 1, after_1, after_2))
        return c + 1, logits

    c0 = np.zeros((1, 1), np.int32)
    greedy = greedy_jit(step, c0, 0, max_len=2, end_token=0)
    beam = beam_jit(step, c0, 0, beam_size=2, max_len=2, end_token=0, length_norm=None)
    assert np.asarray(beam.tokens).tolist() == [[2, 0]]
    assert float(beam.log_prob[0]) > float(greedy.log_prob[0])
    np.testing.assert_allclose(beam.log_prob, np.log([0.36]), atol=LOGP_TOL)


def test_beam_size_larger_than_sequences_gives_placeholders():
    step, carry0 = lstm_model(n_vocab=2, B=1)  # max_len=2: only [0], [1, 0] and [1, 1]
    out = beam_jit(step, carry0, 1, beam_size=5, max_len=2, end_token=END, return_all=True)
    assert np.isfinite(out.score[0, :3]).all() and np.isneginf(out.score[0, 3:]).all()
    assert sorted(np.asarray(out.lengths[0, :3]).tolist()) == [1, 2, 2]
    assert (np.asarray(out.lengths[0, 3:]) == 0).all()


# --- sampling -------------------------------------------------------------------------------


def test_sampling_is_reproducible_and_keys_differ():
    step, carry0 = lstm_model(seed=7, n_vocab=6, B=4, scale=0.5)
    kw = dict(max_len=8, end_token=None)
    a = sample_jit(step, carry0, 1, jax.random.key(0), **kw)
    b = sample_jit(step, carry0, 1, jax.random.key(0), **kw)
    c = sample_jit(step, carry0, 1, jax.random.key(1), **kw)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert (np.asarray(a.tokens) != np.asarray(c.tokens)).any()
    # Raw uint32 keys work and give the same stream as the typed key of the same seed.
    raw = sample_jit(step, carry0, 1, jax.random.PRNGKey(0), **kw)
    np.testing.assert_array_equal(raw.tokens, a.tokens)


def test_sample_log_probs_are_the_models():
    step, carry0 = lstm_model(seed=8, n_vocab=5, B=3)
    out = sample_jit(step, carry0, 1, jax.random.key(3), max_len=6, end_token=END,
                        temperature=0.7, top_k=3)
    for b in range(3):
        want = token_log_probs(step, row(carry0, b), 1, out.tokens[b : b + 1])[0]
        mask = np.arange(6) < int(out.lengths[b])
        np.testing.assert_allclose(out.token_log_probs[b], want * mask, atol=LOGP_TOL)


@pytest.mark.parametrize("model", [lstm_model, rnn_model])
def test_top_k_one_and_tiny_temperature_equal_greedy(model):
    step, carry0 = model()
    greedy = greedy_jit(step, carry0, 1, max_len=6, end_token=END)
    for kw in (dict(top_k=1, temperature=3.0), dict(temperature=SMALL_TEMPERATURE)):
        out = sample_jit(step, carry0, 1, jax.random.key(5), max_len=6, end_token=END, **kw)
        np.testing.assert_array_equal(out.tokens, greedy.tokens)
        np.testing.assert_allclose(out.log_prob, greedy.log_prob, atol=LOGP_TOL)


@pytest.mark.parametrize(("temperature", "top_k"), [(1.0, None), (0.5, None), (2.0, 3)])
def test_sample_frequencies_match_softmax(temperature, top_k):
    logits = jnp.array([1.0, 0.2, -0.5, 0.7, -1.5])
    B, T = 2000, 3
    step = lambda c, y: (c, jnp.broadcast_to(logits, (c.shape[0], 5)))  # noqa: E731
    out = sample_jit(step, jnp.zeros((B, 1)), 0, jax.random.key(11), max_len=T,
                        end_token=None, temperature=temperature, top_k=top_k)
    z = np.asarray(logits, np.float64) / temperature
    if top_k is not None:
        z[np.argsort(-z)[top_k:]] = -np.inf
    p = np.exp(z - z.max())
    p /= p.sum()
    counts = np.bincount(np.asarray(out.tokens).ravel(), minlength=5)
    support = p > 0
    assert (counts[~support] == 0).all()
    expected = B * T * p[support]
    chi2 = (((counts[support] - expected) ** 2) / expected).sum()
    assert chi2 < CHI2_CRIT_P001[int(support.sum()) - 1], (counts, expected)


# --- batching and jit -----------------------------------------------------------------------


def attention_like_model(n_vocab=5, d=4, T_src=3):
    """A step_fn whose carry is a dict holding per-example memory (B, T_src, d)."""
    rng = np.random.default_rng(9)
    E = jnp.asarray(rng.standard_normal((n_vocab, d)).astype(np.float32))
    Wo = jnp.asarray(2.0 * rng.standard_normal((n_vocab, d)).astype(np.float32))

    def step(carry, y):
        h = jnp.tanh(carry["h"] + E[y])
        a = jax.nn.softmax(jnp.einsum("btd,bd->bt", carry["memory"], h), axis=-1)
        h = h + jnp.einsum("bt,btd->bd", a, carry["memory"])
        return {"h": h, "memory": carry["memory"]}, h @ Wo.T

    carry0 = {"h": jnp.asarray(rng.standard_normal((3, d)).astype(np.float32)),
              "memory": jnp.asarray(rng.standard_normal((3, T_src, d)).astype(np.float32))}
    return step, carry0


@pytest.mark.parametrize("model", [lstm_model, attention_like_model])
def test_batched_equals_per_example(model):
    step, carry0 = model()
    keys = jax.random.split(jax.random.key(2), 3)
    decoders = {
        "greedy": lambda c, b: greedy_jit(step, c, 1, max_len=5, end_token=END),
        "beam": lambda c, b: beam_jit(step, c, 1, beam_size=3, max_len=5, end_token=END,
                                         return_all=True),
        "sample": lambda c, b: sample_jit(step, c, 1, keys[b], max_len=5, end_token=END),
    }
    for name, dec in decoders.items():
        batched = dec(carry0, slice(None))
        for b in range(3):
            one = dec(row(carry0, b), slice(b, b + 1))
            np.testing.assert_array_equal(batched.tokens[b], one.tokens[0], err_msg=name)
            np.testing.assert_allclose(batched.score[b], one.score[0], atol=LOGP_TOL,
                                       err_msg=name)


def test_jit_works_and_does_not_recompile():
    traces = []
    k = jax.random.split(jax.random.key(0), 4)

    def decode(params, E, V, b_o, state0, key):
        traces.append(1)
        step = make_lstm_step_fn(E, params, V, b_o)
        return (greedy_decode(step, state0, 1, max_len=5, end_token=END),
                sample_decode(step, state0, 1, key, max_len=5, end_token=END, temperature=0.8),
                beam_search(step, state0, 1, beam_size=2, max_len=5, end_token=END))

    decode_jit = jax.jit(decode)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        args = (jaxrnn.init_lstm_params(jax.random.key(seed), 3, 5),
                jnp.asarray(rng.standard_normal((4, 3)).astype(np.float32)),
                jnp.asarray(rng.standard_normal((4, 5)).astype(np.float32)), jnp.zeros(4),
                jaxrnn.LSTMState(h=jnp.zeros((2, 5)), C=jnp.zeros((2, 5))), k[3])
        jitted = decode_jit(*args)
        if seed == 0:  # jit equals no jit (once: eager decoding compiles its loops anew)
            for j, e in zip(jitted, decode(*args)):
                np.testing.assert_array_equal(j.tokens, e.tokens)
                np.testing.assert_allclose(j.log_prob, e.log_prob, atol=LOGP_TOL)
    assert len(traces) == 1 + 1  # one eager call, one trace for both jitted calls


def test_traced_temperature_under_jit():
    step, carry0 = lstm_model()
    f = jax.jit(lambda tau: sample_decode(step, carry0, 1, jax.random.key(0), max_len=4,
                                          end_token=END, temperature=tau))
    np.testing.assert_array_equal(f(jnp.float32(0.5)).tokens,
                                  sample_jit(step, carry0, 1, jax.random.key(0), max_len=4,
                                             end_token=END, temperature=0.5).tokens)


def test_float64_and_strict_promotion(x64, strict_promotion):
    step64, carry0 = lstm_model(dtype=jnp.float64)
    for out in (sample_jit(step64, carry0, 1, jax.random.key(0), max_len=4, end_token=END,
                           temperature=0.5, top_k=2),
                beam_jit(step64, carry0, 1, beam_size=2, max_len=4, end_token=END)):
        assert out.tokens.dtype == jnp.int32 and out.log_prob.dtype == jnp.float64


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(max_len=0), "max_len to be an int >= 1"),
        (dict(max_len=2.0), "max_len to be an int >= 1"),
        (dict(end_token=4), r"end_token .* < n_vocab = 4"),
        (dict(end_token=-1), "end_token"),
        (dict(pad_id=-1), "pad_id to be an int >= 0"),
        (dict(temperature=0.0), "temperature to be a finite float > 0"),
        (dict(temperature=-1.0), "temperature to be a finite float > 0"),
        (dict(temperature=jnp.array(0.0)), "temperature to be a finite float > 0"),
        (dict(top_k=0), r"top_k to be None or an int in \[1, n_vocab=4\]"),
        (dict(top_k=5), r"top_k to be None or an int in \[1, n_vocab=4\]"),
        (dict(beam_size=0), "beam_size to be an int >= 1"),
        (dict(length_norm="mean"), "length_norm in"),
        (dict(alpha=-0.5), "alpha to be a Python float >= 0"),
    ],
)
def test_bad_static_arguments_raise(kwargs, match):
    step, carry0 = lstm_model()
    base = dict(max_len=3, end_token=END)
    sample_keys = {"temperature", "top_k"}
    beam_keys = {"beam_size", "length_norm", "alpha"}
    if set(kwargs) & sample_keys or not set(kwargs) & beam_keys:
        with pytest.raises(ValueError, match=match):
            sample_decode(step, carry0, 1, jax.random.key(0), **{**base, **kwargs})
    if set(kwargs) & beam_keys or not set(kwargs) & sample_keys:
        with pytest.raises(ValueError, match=match):
            beam_search(step, carry0, 1, **{"beam_size": 2, **base, **kwargs})


def test_bad_inputs_raise():
    step, carry0 = lstm_model()
    with pytest.raises(ValueError, match=r"start_tokens .* shape \(B,\)"):
        greedy_decode(step, carry0, jnp.ones((3, 1), jnp.int32), max_len=3, end_token=END)
    with pytest.raises(ValueError, match=r"batch axis B=2 first"):
        greedy_decode(step, carry0, jnp.array([1, 1]), max_len=3, end_token=END)
    with pytest.raises(ValueError, match="structure, shapes and dtypes of carry0"):
        greedy_decode(lambda c, y: (c.h, step(c, y)[1]), carry0, 1, max_len=3, end_token=END)
    with pytest.raises(TypeError, match="to return \\(carry, logits\\)"):
        greedy_decode(lambda c, y: step(c, y)[1], carry0, 1, max_len=3, end_token=END)
    with pytest.raises(TypeError, match="step_fn to be callable"):
        greedy_decode(None, carry0, 1, max_len=3, end_token=END)
    with pytest.raises(ValueError, match=r"one key per row, shape \(\) or \(3,\)"):
        sample_decode(step, carry0, 1, jax.random.split(jax.random.key(0), 2), max_len=3,
                      end_token=END)
    with pytest.raises(ValueError, match=r"E to have shape \(n_vocab, d_in=3\)"):
        make_lstm_step_fn(jnp.zeros((4, 2)), jaxrnn.init_lstm_params(jax.random.key(0), 3, 5),
                          jnp.zeros((4, 5)), jnp.zeros(4))
    with pytest.raises(TypeError, match="expected params to be a jaxrnn.RNNParams"):
        make_rnn_step_fn(jnp.zeros((4, 3)), jaxrnn.init_lstm_params(jax.random.key(0), 3, 5))
