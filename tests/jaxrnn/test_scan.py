"""Whole sequences: reference equality (forward and gradients), laws, compile-once."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import jaxrnn
from tests import reference as ref
from tests.jaxrnn.test_cells import _nonzero_biases

pytestmark = pytest.mark.usefixtures("strict_promotion")

F64_TOL = 1e-12  # forward, float64 vs float64 reference
GRAD_TOL = 1e-7  # float64 autodiff vs central differences (eps=1e-6)
F32_TOL = 2e-5  # float32 vs float64 reference
B, T, D_IN, D_H, D_OUT = 3, 6, 3, 4, 2
LENGTHS = np.array([6, 3, 0])  # full, partial and empty sequences


def _setup(kind, dtype=jnp.float64, seed=0):
    k = jax.random.split(jax.random.key(seed), 4)
    if kind == "rnn":
        p = jaxrnn.init_rnn_params(k[0], D_IN, D_H, D_OUT, dtype=dtype)
    else:
        p = jaxrnn.init_lstm_params(k[0], D_IN, D_H, dtype=dtype)
    p = _nonzero_biases(p, k[1])
    xs = jax.random.normal(k[2], (B, T, D_IN), dtype)
    h0 = 0.5 * jax.random.normal(k[3], (2, B, D_H), dtype)
    return p, xs, h0


def _run(kind, p, xs, h0, lengths, reverse):
    """Library outputs as a flat tuple: (final states..., sequences...)."""
    lengths = None if lengths is None else jnp.asarray(lengths)
    if kind == "rnn":
        s_T, ss, logits = jaxrnn.rnn_scan(p, xs, h0[0], lengths=lengths, reverse=reverse)
        return s_T, ss, logits
    state0 = jaxrnn.LSTMState(h=h0[0], C=h0[1])
    state_T, hs = jaxrnn.lstm_scan(p, xs, state0, lengths=lengths, reverse=reverse)
    return state_T.h, state_T.C, hs


def _run_ref(kind, p, xs, h0, lengths, reverse, b):
    L = None if lengths is None else int(lengths[b])
    if kind == "rnn":
        return ref.rnn_forward(p, xs[b], s0=h0[0, b], length=L, reverse=reverse)
    h, C, hs, _ = ref.lstm_forward(p, xs[b], h0=h0[0, b], C0=h0[1, b], length=L, reverse=reverse)
    return h, C, hs


CASES = [
    (kind, lengths, reverse)
    for kind in ("rnn", "lstm")
    for lengths in (None, LENGTHS)
    for reverse in (False, True)
]
IDS = [f"{k}-{'lengths' if L is not None else 'full'}-{'rev' if r else 'fwd'}" for k, L, r in CASES]


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("kind", "lengths", "reverse"), CASES, ids=IDS)
def test_forward_matches_float64_reference(kind, lengths, reverse):
    p, xs, h0 = _setup(kind)
    out = [np.asarray(o) for o in _run(kind, p, xs, h0, lengths, reverse)]
    for b in range(B):
        for got, want in zip(out, _run_ref(kind, p, xs, h0, lengths, reverse, b)):
            np.testing.assert_allclose(got[b], want, atol=F64_TOL, rtol=0)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize(("kind", "lengths", "reverse"), CASES, ids=IDS)
def test_gradients_match_float64_reference(kind, lengths, reverse):
    """d(loss)/d(every parameter) and d(loss)/d(xs) against central differences."""
    p, xs, h0 = _setup(kind)
    rng = np.random.default_rng(0)  # loss = fixed random projection of every output
    shapes = [np.shape(o) for o in _run_ref(kind, p, xs, h0, lengths, reverse, 0)]
    proj = [[rng.normal(size=shape) for shape in shapes] for _ in range(B)]

    def ref_loss(p_, xs_):
        return sum(
            (o * w).sum()
            for b in range(B)
            for o, w in zip(_run_ref(kind, p_, xs_, h0, lengths, reverse, b), proj[b])
        )

    def lib_loss(p_, xs_):
        outs = _run(kind, p_, xs_, h0, lengths, reverse)
        return sum((o[b] * w).sum() for b in range(B) for o, w in zip(outs, proj[b]))

    g_params, g_xs = jax.jit(jax.grad(lib_loss, argnums=(0, 1)))(p, xs)

    leaves, tree = jax.tree.flatten(p)
    for k, (leaf, g) in enumerate(zip(leaves, jax.tree.leaves(g_params))):

        def f(v, k=k):
            new = [np.asarray(x) for x in leaves]
            new[k] = v
            return ref_loss(jax.tree.unflatten(tree, new), np.asarray(xs))

        np.testing.assert_allclose(g, ref.numerical_grad(f, leaf), atol=GRAD_TOL, rtol=GRAD_TOL)
    num_xs = ref.numerical_grad(lambda v: ref_loss(p, v), np.asarray(xs))
    np.testing.assert_allclose(g_xs, num_xs, atol=GRAD_TOL, rtol=GRAD_TOL)
    if lengths is not None:  # padding inputs get exactly zero gradient
        pad = np.arange(T)[None, :] >= LENGTHS[:, None]
        assert not np.any(np.asarray(g_xs)[pad])


@pytest.mark.parametrize(("kind", "lengths", "reverse"), CASES, ids=IDS)
def test_float32_close_to_reference_and_dtype_preserved(kind, lengths, reverse):
    p, xs, h0 = _setup(kind, dtype=jnp.float32)
    out = _run(kind, p, xs, h0, lengths, reverse)
    assert all(o.dtype == jnp.float32 for o in out)
    out = [np.asarray(o) for o in out]
    for b in range(B):
        for got, want in zip(out, _run_ref(kind, p, xs, h0, lengths, reverse, b)):
            np.testing.assert_allclose(got[b], want, atol=F32_TOL)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_scan_equals_python_loop_of_steps(kind):
    p, xs, h0 = _setup(kind, dtype=jnp.float32)
    out = _run(kind, p, xs, h0, None, False)
    x_t = np.asarray(xs).swapaxes(0, 1)  # (T, B, D_IN): the steps' inputs, sliced on the host
    if kind == "rnn":
        step = jax.jit(jaxrnn.rnn_step)  # one program for every step
        s, ss, logits = h0[0], [], []
        for t in range(T):
            s, l_t = step(p, s, x_t[t])
            ss.append(s)
            logits.append(l_t)
        want = (s, np.stack(ss, 1), np.stack(logits, 1))
    else:
        step = jax.jit(jaxrnn.lstm_step)
        state, hs = jaxrnn.LSTMState(h=h0[0], C=h0[1]), []
        for t in range(T):
            state, h_t = step(p, state, x_t[t])
            hs.append(h_t)
        want = (state.h, state.C, np.stack(hs, 1))
    for got, w in zip(out, want):
        np.testing.assert_allclose(got, w, atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_jit_equals_no_jit_and_unroll_changes_nothing(kind):
    p, xs, h0 = _setup(kind, dtype=jnp.float32)
    fn = jaxrnn.rnn_scan if kind == "rnn" else jaxrnn.lstm_scan

    @jax.jit
    def jitted(p, xs):  # the jitted run, and unroll 1 and 4, in one program
        return _run(kind, p, xs, h0, LENGTHS, True), fn(p, xs, unroll=1), fn(p, xs, unroll=4)

    jitted, unroll_1, unroll_4 = jitted(p, xs)
    with jax.disable_jit():
        eager = _run(kind, p, xs, h0, LENGTHS, True)
    for a, b in zip(jitted, eager):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b in zip(jax.tree.leaves(unroll_1), jax.tree.leaves(unroll_4)):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_batched_equals_loop_over_examples_and_vmap(kind):
    p, xs, h0 = _setup(kind, dtype=jnp.float32)
    batched = [np.asarray(o) for o in _run(kind, p, xs, h0, LENGTHS, False)]
    xs_np, h0_np = np.asarray(xs), np.asarray(h0)
    for b in range(B):
        one = _run(kind, p, xs_np[b], h0_np[:, b], LENGTHS[b], False)
        for got, want in zip(batched, one):
            np.testing.assert_allclose(got[b], want, atol=1e-6)
    vmapped = jax.vmap(lambda x, h, L: _run(kind, p, x, h, L, False), in_axes=(0, 1, 0))(
        xs, h0, jnp.asarray(LENGTHS)
    )
    for a, b in zip(batched, vmapped):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_several_batch_axes_and_default_zero_state():
    p = jaxrnn.init_lstm_params(jax.random.key(0), D_IN, D_H)
    xs = jnp.asarray(np.random.default_rng(1).normal(size=(2, 3, T, D_IN)), jnp.float32)
    state_T, hs = jaxrnn.lstm_scan(p, xs)
    assert hs.shape == (2, 3, T, D_H) and state_T.C.shape == (2, 3, D_H)
    zero = np.zeros((2, 3, D_H), np.float32)
    zero = jaxrnn.LSTMState(h=zero, C=zero)
    np.testing.assert_array_equal(hs, jaxrnn.lstm_scan(p, xs, zero)[1])


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_gradients_with_several_batch_axes(kind):
    """Regression: with batch axes (2, 4), d_h=5 and T=7, XLA's CPU backend gave wrong float64
    input gradients through the LSTM's outputs (off by up to 0.3; the scan now flattens the
    batch axes). Checked against central differences of the NumPy reference."""
    d_in, d_h, steps = 3, 5, 7
    if kind == "rnn":
        p = jaxrnn.init_rnn_params(jax.random.key(0), d_in, d_h, D_OUT, dtype=jnp.float64)
    else:
        p = jaxrnn.init_lstm_params(jax.random.key(0), d_in, d_h, dtype=jnp.float64)
    xs = jnp.asarray(np.random.default_rng(1).normal(size=(2, 4, steps, d_in)))

    def lib_loss(xs_):
        hs = jaxrnn.rnn_scan(p, xs_)[1] if kind == "rnn" else jaxrnn.lstm_scan(p, xs_)[1]
        return jnp.sum(jnp.sin(hs))

    def ref_loss(xs_):
        forward = ref.rnn_forward if kind == "rnn" else ref.lstm_forward
        seqs = xs_.reshape(-1, steps, d_in)
        return sum(np.sin(forward(p, x)[1 if kind == "rnn" else 2]).sum() for x in seqs)

    g = jax.grad(lib_loss)(xs)
    num = ref.numerical_grad(ref_loss, np.asarray(xs))
    np.testing.assert_allclose(g, num, atol=GRAD_TOL, rtol=GRAD_TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_check_grads_float64(kind):
    p, xs, h0 = _setup(kind)

    def f(p, xs):
        return _run(kind, p, xs, h0, LENGTHS, True)

    check_grads(f, (p, xs), order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["rnn", "lstm"]),
    reverse=st.booleans(),
    data=st.data(),
)
def test_padding_after_lengths_never_changes_valid_outputs(kind, reverse, data):
    batch = data.draw(st.integers(1, 3), label="B")
    steps = data.draw(st.integers(1, 5), label="T")
    lengths = np.array(data.draw(st.lists(st.integers(0, steps), min_size=batch, max_size=batch)))
    seed = data.draw(st.integers(0, 2**16), label="seed")
    scale = data.draw(st.sampled_from([1.0, 1e3]), label="pad scale")
    p, _, _ = _setup(kind, dtype=jnp.float32)
    rng = np.random.default_rng(seed)  # NumPy data and indexing: only the scans compile
    xs = rng.normal(size=(batch, steps, D_IN)).astype(np.float32)
    pad = np.arange(steps)[None, :, None] >= lengths[:, None, None]
    xs_other = np.where(pad, scale * rng.normal(size=xs.shape), xs).astype(np.float32)
    h0 = np.zeros((2, batch, D_H), np.float32)
    a = [np.asarray(o) for o in _run(kind, p, xs, h0, lengths, reverse)]
    b = [np.asarray(o) for o in _run(kind, p, xs_other, h0, lengths, reverse)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # ...and equals running each example on its valid prefix alone.
    for i in range(batch):
        L = int(lengths[i])
        if L == 0:
            continue
        alone = _run(kind, p, xs[i, :L], h0[:, i], None, reverse)
        np.testing.assert_allclose(a[0][i], alone[0], atol=1e-6)
        np.testing.assert_allclose(a[-1][i, :L], alone[-1], atol=1e-6)
