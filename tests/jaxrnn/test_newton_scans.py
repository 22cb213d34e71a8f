"""The scans' ``method="newton"`` / ``"newton-diagonal"`` against ``method="sequential"``.

Same return values, with ``lengths`` (padding holds the state, emits zeros), ``reverse``,
several batch axes, a given initial state, float64 and float32; and their gradients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

F64_ATOL = 1e-10  # measured <= 3e-12
F32_ATOL = 1e-4  # measured <= 2e-5 ("newton-diagonal" stops at tol = 6.4e-6)
F64_GRAD_RTOL = 1e-8

NEWTON = ("newton", "newton-diagonal")
T, D_IN, D_H = 9, 3, 4
LENGTHS = jnp.array([[9, 5, 0], [1, 7, 9]])  # batch axes (2, 3): full, partial, empty


def _data(dtype, kind):
    key = jax.random.key(0)
    if kind == "rnn":
        p = jaxrnn.init_rnn_params(key, D_IN, D_H, 2, dtype=dtype)
    elif kind.startswith("gru"):
        p = jaxrnn.init_gru_params(key, D_IN, D_H, dtype=dtype)
    else:
        p = jaxrnn.init_lstm_params(key, D_IN, D_H, dtype=dtype)
    xs = jax.random.normal(jax.random.key(1), (*LENGTHS.shape, T, D_IN), dtype)
    s0 = 0.3 * jax.random.normal(jax.random.key(2), (*LENGTHS.shape, D_H), dtype)
    return p, xs, s0


def _scan(kind, p, xs, s0, **kw):
    if kind == "rnn":
        return jaxrnn.rnn_scan(p, xs, s0, **kw)
    if kind.startswith("gru"):  # "gru_reset_before": reset_after=False
        return jaxrnn.gru_scan(p, xs, s0, reset_after=kind == "gru", **kw)
    return jaxrnn.lstm_scan(p, xs, jaxrnn.LSTMState(h=s0, C=-s0), **kw)


def _max_err(a, b):
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("method", NEWTON)
@pytest.mark.parametrize("reverse", [False, True])
def test_same_values_as_sequential_float64(x64, kind, method, reverse):
    p, xs, s0 = _data(jnp.float64, kind)
    for lengths in (None, LENGTHS):
        got = _scan(kind, p, xs, s0, lengths=lengths, reverse=reverse, method=method)
        want = _scan(kind, p, xs, s0, lengths=lengths, reverse=reverse)
        assert jax.tree.structure(got) == jax.tree.structure(want)
        assert _max_err(got, want) < F64_ATOL


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("method", NEWTON)
def test_same_values_as_sequential_float32(kind, method):
    p, xs, s0 = _data(jnp.float32, kind)
    got = _scan(kind, p, xs, s0, lengths=LENGTHS, reverse=True, method=method)
    want = _scan(kind, p, xs, s0, lengths=LENGTHS, reverse=True)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(got))
    assert _max_err(got, want) < F32_ATOL


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("method", NEWTON)
def test_gradients_match_sequential(x64, kind, method):
    p, xs, s0 = _data(jnp.float64, kind)
    w = jax.random.normal(jax.random.key(3), (*LENGTHS.shape, T, D_H))

    def loss(p, xs, s0, method):
        out = _scan(kind, p, xs, s0, lengths=LENGTHS, reverse=True, method=method)
        hs = out[1]
        return (w * hs).sum() + sum((leaf**2).sum() for leaf in jax.tree.leaves(out[0]))

    got = jax.grad(loss, argnums=(0, 1, 2))(p, xs, s0, method)
    want = jax.grad(loss, argnums=(0, 1, 2))(p, xs, s0, "sequential")
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(g, r, rtol=F64_GRAD_RTOL, atol=1e-12)


def test_no_steps_pass_the_state_through():
    p, xs, s0 = _data(jnp.float32, "rnn")
    s_T, ss, logits = jaxrnn.rnn_scan(p, xs[..., :0, :], s0, method="newton")
    assert ss.shape == (*LENGTHS.shape, 0, D_H) and bool((s_T == s0).all())


def test_bad_method():
    p, xs, s0 = _data(jnp.float32, "rnn")
    with pytest.raises(
        ValueError,
        match=r"rnn_scan: expected method to be one of \('sequential', 'newton', 'newton-diagonal'\), got 'deer'",
    ):
        jaxrnn.rnn_scan(p, xs, method="deer")
    with pytest.raises(ValueError, match="lstm_scan: remat applies to method='sequential' only"):
        jaxrnn.lstm_scan(*_data(jnp.float32, "lstm")[:2], method="newton", remat=2)


def test_cell_diagonals_equal_the_jacobian_diagonals(x64):
    """``method="newton-diagonal"`` uses the cells' O(d_h) diagonals: check them."""
    from jax.flatten_util import ravel_pytree

    for kind in ("rnn", "lstm", "gru"):
        cell = jaxrnn.get_cell(kind)
        step = lambda p, c, x, cell=cell: cell.step(p, c, x)[0]  # noqa: E731
        diag = cell.jacobian_diagonal
        p, xs, s0 = _data(jnp.float64, kind)
        carry = s0[0, 0] if kind != "lstm" else jaxrnn.LSTMState(h=s0[0, 0], C=-2 * s0[0, 0])
        h, unravel = ravel_pytree(carry)
        x_t = xs[0, 0, 0]

        def f(h, step=step, p=p, unravel=unravel, x_t=x_t):
            return ravel_pytree(step(p, unravel(h), x_t))[0]

        J = jax.jacfwd(f)(h)
        got = ravel_pytree(diag(p, carry, x_t))[0]
        np.testing.assert_allclose(got, jnp.diagonal(J), rtol=1e-12, atol=1e-15)
