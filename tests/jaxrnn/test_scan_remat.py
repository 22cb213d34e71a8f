"""rnn_scan / lstm_scan extras: initial-state gradients, remat, no recompilation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests import reference as ref
from tests.jaxrnn.test_scan import D_H, LENGTHS, B, T, _setup

pytestmark = pytest.mark.usefixtures("strict_promotion")

GRAD_TOL = 1e-7   # float64 autodiff vs central differences
EXACT_TOL = 1e-12  # float64, two ways of computing the same thing


def _outputs(kind, p, xs, h0, **kw):
    if kind == "rnn":
        s_T, ss, logits = jaxrnn.rnn_scan(p, xs, h0[0], **kw)
        return s_T, ss, logits
    state_T, hs = jaxrnn.lstm_scan(p, xs, jaxrnn.LSTMState(h=h0[0], C=h0[1]), **kw)
    return state_T.h, state_T.C, hs


def _loss(kind, p, xs, h0, **kw):
    return sum(((k + 1.0) * o).sum() ** 2 / o.size
               for k, o in enumerate(_outputs(kind, p, xs, h0, **kw)))


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("reverse", [False, True])
def test_initial_state_gradients_match_float64_reference(kind, reverse):
    p, xs, h0 = _setup(kind)
    lengths = jnp.asarray(LENGTHS)

    def ref_outputs(h0_):
        outs = []
        for b in range(B):
            L = int(LENGTHS[b])
            if kind == "rnn":
                outs.append(ref.rnn_forward(p, xs[b], s0=h0_[0, b], length=L, reverse=reverse))
            else:
                h, C, hs, _ = ref.lstm_forward(p, xs[b], h0=h0_[0, b], C0=h0_[1, b], length=L,
                                               reverse=reverse)
                outs.append((h, C, hs))
        return [np.stack(o) for o in zip(*outs)]

    def ref_loss(h0_):
        return sum(((k + 1.0) * o).sum() ** 2 / o.size for k, o in enumerate(ref_outputs(h0_)))

    got = jax.jit(jax.grad(lambda h: _loss(kind, p, xs, h, lengths=lengths, reverse=reverse)))(h0)
    if kind == "rnn":  # only h0[0] is used by the RNN
        got, want = got[0], ref.numerical_grad(lambda v: ref_loss(np.stack([v, v])), h0[0])
    else:
        want = ref.numerical_grad(ref_loss, np.asarray(h0))
    np.testing.assert_allclose(got, want, atol=GRAD_TOL, rtol=GRAD_TOL)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _outputs_and_gradients(kind, remat, reverse, p, xs, h0, lengths):
    """The outputs and the loss's gradients in (p, xs, h0), as one program; the one without
    remat (remat=None) compiles once for every remat of a test."""
    kw = {"lengths": lengths, "reverse": reverse, "remat": remat}
    grads = jax.grad(lambda *a: _loss(kind, *a, **kw), argnums=(0, 1, 2))(p, xs, h0)
    return _outputs(kind, p, xs, h0, **kw), grads


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("remat", [1, 4, 6, 10])  # 4 does not divide T: padded segments
@pytest.mark.parametrize("reverse", [False, True])
def test_remat_changes_neither_values_nor_gradients(kind, remat, reverse):
    p, xs, h0 = _setup(kind)
    out, g = _outputs_and_gradients(kind, None, reverse, p, xs, h0, jnp.asarray(LENGTHS))
    out_remat, g_remat = _outputs_and_gradients(kind, remat, reverse, p, xs, h0,
                                                jnp.asarray(LENGTHS))
    for a, b in zip(out, out_remat, strict=True):
        np.testing.assert_allclose(a, b, atol=EXACT_TOL, rtol=0)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_remat), strict=True):
        np.testing.assert_allclose(a, b, atol=EXACT_TOL, rtol=EXACT_TOL)


@pytest.mark.usefixtures("x64")
@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_remat_forward_mode_matches(kind):
    """``jax.checkpoint`` around the segments keeps forward mode (jvp) working."""
    p, xs, h0 = _setup(kind)
    kw = {"lengths": jnp.asarray(LENGTHS)}
    tangent = jnp.cos(xs)

    def jvp(remat):
        return jax.jvp(lambda x: _loss(kind, p, x, h0, remat=remat, **kw), (xs,), (tangent,))

    for a, b in zip(*jax.jit(lambda: (jvp(None), jvp(4)))(), strict=True):  # one program
        np.testing.assert_allclose(a, b, atol=EXACT_TOL, rtol=EXACT_TOL)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_bad_remat_raises(bad):
    p = jaxrnn.init_lstm_params(jax.random.key(0), 3, D_H)
    with pytest.raises(ValueError, match=r"lstm_scan: expected remat .* int >= 1"):
        jaxrnn.lstm_scan(p, jnp.ones((T, 3)), remat=bad)


def test_second_training_step_does_not_recompile():
    p, xs, h0 = _setup("lstm", dtype=jnp.float32)
    step = jax.jit(jax.grad(lambda p, xs: _loss("lstm", p, xs, h0, remat=3)))
    g1 = step(p, xs)
    g2 = step(jax.tree.map(lambda a: a + 0.01, p), xs + 1.0)
    assert step._cache_size() == 1
    assert not all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(g1), jax.tree.leaves(g2)))
