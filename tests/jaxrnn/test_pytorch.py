"""PyTorch cross-check: torch.nn.RNN / nn.LSTM given the same weights give the same sequences.

Skips where torch is absent; CI installs torch==2.13.0 and sets JAXRNN_REQUIRE_TORCH=1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from tests.jaxrnn.test_cells import _nonzero_biases

torch = pytest.importorskip("torch")

TORCH_F64_TOL = 1e-12
B, T, D_IN, D_H, D_OUT = 3, 7, 4, 5, 3
LENGTHS = np.array([7, 4, 1])


def _t(a):
    return torch.from_numpy(np.array(a, np.float64))  # a writable copy


def _lstm_torch(p):
    net = torch.nn.LSTM(D_IN, D_H, batch_first=True, dtype=torch.float64)
    gates = (p.i, p.f, p.c, p.o)  # PyTorch's order: i, f, g (candidate), o
    with torch.no_grad():
        net.weight_ih_l0.copy_(_t(np.concatenate([g.U for g in gates])))
        net.weight_hh_l0.copy_(_t(np.concatenate([g.W for g in gates])))
        net.bias_ih_l0.copy_(_t(np.concatenate([g.b for g in gates])))
        net.bias_hh_l0.zero_()
    return net


def _rnn_torch(p):
    net = torch.nn.RNN(D_IN, D_H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        net.weight_ih_l0.copy_(_t(p.U))
        net.weight_hh_l0.copy_(_t(p.W))
        net.bias_ih_l0.copy_(_t(p.b_s))
        net.bias_hh_l0.zero_()
    return net


def _packed(net, xs, h0, lengths):
    pack = torch.nn.utils.rnn.pack_padded_sequence(
        _t(xs), torch.as_tensor(lengths), batch_first=True, enforce_sorted=False
    )
    out, final = net(pack, h0)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    return out, final


@pytest.fixture
def data():
    with jax.enable_x64(True):
        k = jax.random.split(jax.random.key(7), 4)
        xs = jax.random.normal(k[0], (B, T, D_IN), jnp.float64)
        h0 = 0.3 * jax.random.normal(k[1], (2, B, D_H), jnp.float64)
        rnn = _nonzero_biases(
            jaxrnn.init_rnn_params(k[2], D_IN, D_H, D_OUT, dtype=jnp.float64), k[3]
        )
        lstm = _nonzero_biases(jaxrnn.init_lstm_params(k[2], D_IN, D_H, dtype=jnp.float64), k[3])
        yield xs, h0, rnn, lstm


@pytest.mark.parametrize("use_lengths", [False, True])
def test_lstm_equals_torch(data, use_lengths):
    xs, h0, _, p = data
    lengths = LENGTHS if use_lengths else None
    state0 = jaxrnn.LSTMState(h=h0[0], C=h0[1])
    state_T, hs = jaxrnn.lstm_scan(
        p, xs, state0, lengths=None if lengths is None else jnp.asarray(lengths)
    )
    net = _lstm_torch(p)
    torch_h0 = (_t(h0[0])[None], _t(h0[1])[None])
    with torch.no_grad():
        if lengths is None:
            out, (h_n, c_n) = net(_t(xs), torch_h0)
        else:
            out, (h_n, c_n) = _packed(net, xs, torch_h0, lengths)
    np.testing.assert_allclose(hs, out.numpy(), atol=TORCH_F64_TOL)
    np.testing.assert_allclose(state_T.h, h_n[0].numpy(), atol=TORCH_F64_TOL)
    np.testing.assert_allclose(state_T.C, c_n[0].numpy(), atol=TORCH_F64_TOL)


@pytest.mark.parametrize("use_lengths", [False, True])
def test_rnn_and_readout_equal_torch(data, use_lengths):
    xs, h0, p, _ = data
    lengths = LENGTHS if use_lengths else None
    s_T, ss, logits = jaxrnn.rnn_scan(
        p, xs, h0[0], lengths=None if lengths is None else jnp.asarray(lengths)
    )
    net = _rnn_torch(p)
    readout = torch.nn.Linear(D_H, D_OUT, dtype=torch.float64)
    with torch.no_grad():
        readout.weight.copy_(_t(p.V))
        readout.bias.copy_(_t(p.b_o))
        if lengths is None:
            out, h_n = net(_t(xs), _t(h0[0])[None])
        else:
            out, h_n = _packed(net, xs, _t(h0[0])[None], lengths)
        torch_logits = readout(out)
    np.testing.assert_allclose(ss, out.numpy(), atol=TORCH_F64_TOL)
    np.testing.assert_allclose(s_T, h_n[0].numpy(), atol=TORCH_F64_TOL)
    valid = np.arange(T)[None, :] < (LENGTHS if use_lengths else np.full(B, T))[:, None]
    np.testing.assert_allclose(
        np.asarray(logits)[valid], torch_logits.numpy()[valid], atol=TORCH_F64_TOL
    )
    probs = jax.nn.softmax(logits)
    torch_probs = torch.softmax(torch_logits, -1).numpy()
    np.testing.assert_allclose(np.asarray(probs)[valid], torch_probs[valid], atol=TORCH_F64_TOL)


def test_lstm_gradients_equal_torch(data):
    """Gradients of the same loss w.r.t. the input agree with torch.autograd."""
    xs, h0, _, p = data
    w = np.random.default_rng(0).normal(size=(B, T, D_H))

    def loss(xs_):
        return (jaxrnn.lstm_scan(p, xs_, jaxrnn.LSTMState(h=h0[0], C=h0[1]))[1] * w).sum()

    g = jax.grad(loss)(xs)
    net = _lstm_torch(p)
    x_t = _t(xs).requires_grad_(True)
    out, _ = net(x_t, (_t(h0[0])[None], _t(h0[1])[None]))
    (out * _t(w)).sum().backward()
    np.testing.assert_allclose(g, x_t.grad.numpy(), atol=TORCH_F64_TOL)
    grads_U = jax.grad(
        lambda q: (jaxrnn.lstm_scan(q, xs, jaxrnn.LSTMState(h=h0[0], C=h0[1]))[1] * w).sum()
    )(p)
    torch_U = net.weight_ih_l0.grad.numpy().reshape(4, D_H, D_IN)  # i, f, g, o
    for k, gate in enumerate(("i", "f", "c", "o")):
        np.testing.assert_allclose(getattr(grads_U, gate).U, torch_U[k], atol=TORCH_F64_TOL)
