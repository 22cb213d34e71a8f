"""The scans' ``method="newton"`` / ``"newton-diagonal"`` against ``method="sequential"``.

Same return values, with ``lengths`` (padding holds the state, emits zeros), ``reverse``,
several batch axes, a given initial state, float64 and float32; and their gradients.
Inputs and initial states from NumPy; gradients and Jacobians under one ``jax.jit`` each.
"""

from __future__ import annotations

import functools

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


@functools.cache
def _params(kind):
    """float32 parameters, as NumPy arrays (``_data`` casts them: no float64 initialiser)."""
    key = jax.random.key(0)
    if kind == "rnn":
        p = jaxrnn.init_rnn_params(key, D_IN, D_H, 2)
    elif kind.startswith("gru"):
        p = jaxrnn.init_gru_params(key, D_IN, D_H)
    else:
        p = jaxrnn.init_lstm_params(key, D_IN, D_H)
    return jax.tree.map(np.asarray, p)


def _data(dtype, kind):
    p = jax.tree.map(lambda a: jnp.asarray(a.astype(np.dtype(dtype))), _params(kind))
    rng = np.random.default_rng(1)
    xs = jnp.asarray(rng.normal(size=(*LENGTHS.shape, T, D_IN)), dtype)
    s0 = jnp.asarray(0.3 * rng.normal(size=(*LENGTHS.shape, D_H)), dtype)
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


@functools.partial(jax.jit, static_argnames=("kind", "reverse", "unpadded"))
def _by_method(p, xs, s0, kind, reverse, unpadded=True):
    """``[[sequential, newton, newton-diagonal] for lengths in (None, LENGTHS)]`` (without
    None when not ``unpadded``): every scan a test compares, in one program."""
    lengths = (None, LENGTHS) if unpadded else (LENGTHS,)
    methods = ("sequential", *NEWTON)
    return [
        [_scan(kind, p, xs, s0, lengths=ln, reverse=reverse, method=m) for m in methods]
        for ln in lengths
    ]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "gru_reset_before"])
@pytest.mark.parametrize("reverse", [False, True])
def test_same_values_as_sequential_float64(x64, kind, reverse):
    """Both Newton methods, without and with ``lengths``."""
    p, xs, s0 = _data(jnp.float64, kind)
    results = _by_method(p, xs, s0, kind=kind, reverse=reverse)
    for lengths, (want, *by_method) in zip(("None", "LENGTHS"), results):
        for method, got in zip(NEWTON, by_method):
            assert jax.tree.structure(got) == jax.tree.structure(want)
            assert _max_err(got, want) < F64_ATOL, (method, lengths)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_same_values_as_sequential_float32(kind):
    """Both Newton methods, with ``lengths``, reversed."""
    p, xs, s0 = _data(jnp.float32, kind)
    ((want, *by_method),) = _by_method(p, xs, s0, kind=kind, reverse=True, unpadded=False)
    for method, got in zip(NEWTON, by_method):
        assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(got)), method
        assert _max_err(got, want) < F32_ATOL, method


@functools.partial(jax.jit, static_argnames=("kind",))
def _grads_by_method(p, xs, s0, w, kind):
    """``[grads for method in ("sequential", *NEWTON)]``, in one program."""

    def loss(p, xs, s0, method):
        out = _scan(kind, p, xs, s0, lengths=LENGTHS, reverse=True, method=method)
        hs = out[1]
        return (w * hs).sum() + sum((leaf**2).sum() for leaf in jax.tree.leaves(out[0]))

    grad = jax.grad(loss, argnums=(0, 1, 2))
    return [grad(p, xs, s0, method) for method in ("sequential", *NEWTON)]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_gradients_match_sequential(x64, kind):
    """Both Newton methods, with ``lengths``, reversed."""
    p, xs, s0 = _data(jnp.float64, kind)
    w = jnp.asarray(np.random.default_rng(3).normal(size=(*LENGTHS.shape, T, D_H)))
    want, *by_method = _grads_by_method(p, xs, s0, w, kind=kind)
    for method, got in zip(NEWTON, by_method):
        for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(g, r, rtol=F64_GRAD_RTOL, atol=1e-12, err_msg=method)


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
        x_t = xs[0, 0, 0]

        @jax.jit
        def both(p, carry, x_t, step=step, diag=diag):
            h, unravel = ravel_pytree(carry)
            J = jax.jacfwd(lambda h: ravel_pytree(step(p, unravel(h), x_t))[0])(h)
            return ravel_pytree(diag(p, carry, x_t))[0], jnp.diagonal(J)

        got, want = both(p, carry, x_t)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
