"""Every implementation under test, built from the same jaxrnn weights.

Each builder takes ``(params, xs)`` (jaxrnn parameters, batch-first float32 inputs) and
returns a :class:`Peer`: a forward function ``xs -> hs`` of shape ``(B, T, d_h)`` and a
forward+backward function computing the gradient of ``hs.sum()`` with respect to every
parameter. Weights are converted once, outside the timed functions, by the converters of
:mod:`jaxrnn.interop` (tested against each library there), so every peer computes the same
function (``python -m benchmarks`` also checks the outputs before timing).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import interop
from jaxrnn.interop._fused import to_fused


@dataclass(frozen=True)
class Peer:
    """A forward ``() -> hs`` and a forward+backward ``() -> grads``, inputs bound."""

    name: str
    forward: Callable[[], Any]
    grad: Callable[[], Any]
    sync: Callable[[Any], Any] = jax.block_until_ready


def _jax_peer(name: str, apply: Callable[[Any, Any], Any], weights: Any, xs: Any) -> Peer:
    fwd = jax.jit(apply)
    grad = jax.jit(jax.grad(lambda w, x: apply(w, x).sum()))
    return Peer(name, functools.partial(fwd, weights, xs), functools.partial(grad, weights, xs))


# --- LSTM -------------------------------------------------------------------------------


def jaxrnn_lstm(p: jaxrnn.LSTMParams, xs, unroll: int = 1) -> Peer:
    return _jax_peer("jaxrnn", lambda w, x: jaxrnn.lstm_scan(w, x, unroll=unroll)[1], p, xs)


def fused(p: jaxrnn.LSTMParams, order: str = "ifgo") -> tuple[np.ndarray, ...]:
    """``(Wx, Wh, b)``: the gates stacked in ``order`` (``g`` is the candidate ``c``), with
    ``jaxrnn.interop``'s converter (the layout of PyTorch, Equinox and cuDNN for ``ifgo``)."""
    return to_fused(p, order, "benchmarks")


def flax_linen_lstm_parts(p: jaxrnn.LSTMParams) -> tuple[Callable[[Any, Any], Any], Any]:
    """``(apply, weights)`` for ``nn.RNN(nn.OptimizedLSTMCell)`` holding ``p``'s weights."""
    import flax.linen as nn

    model = nn.RNN(nn.OptimizedLSTMCell(p.f.W.shape[0]))
    cell = interop.to_flax_lstm_cell(p)["params"]
    return (lambda w, x: model.apply(w, x)), {"params": {"cell": cell}}


def flax_linen_lstm(p: jaxrnn.LSTMParams, xs) -> Peer:
    return _jax_peer("flax.linen", *flax_linen_lstm_parts(p), xs)


def flax_nnx_lstm(p: jaxrnn.LSTMParams, xs) -> Peer:
    from flax import nnx

    d_h, d_in = p.f.U.shape
    model = nnx.RNN(nnx.OptimizedLSTMCell(d_in, d_h, rngs=nnx.Rngs(0)), rngs=False)
    Wx, Wh, b = fused(p)  # nnx's fused kernels are (in, 4 d_h), gates i, f, g, o
    model.cell.dense_i.kernel[...] = jnp.asarray(Wx.T)
    model.cell.dense_h.kernel[...] = jnp.asarray(Wh.T)
    model.cell.dense_h.bias[...] = jnp.asarray(b)
    return nnx_peer(model, lambda zeros: (zeros, zeros), xs)  # carry (c, h)


def nnx_peer(model: Any, carry: Callable[[Any], Any], xs) -> Peer:
    """The peer of an ``nnx.RNN`` ``model`` started from ``carry(zeros (B, d_h))``."""
    from flax import nnx

    graphdef, weights, rest = nnx.split(model, nnx.Param, ...)
    d_h = model.cell.hidden_features

    def apply(w, x):
        zeros = jnp.zeros((x.shape[0], d_h), x.dtype)
        return nnx.merge(graphdef, w, rest)(x, initial_carry=carry(zeros))

    return _jax_peer("flax.nnx", apply, weights, xs)


def equinox_lstm(p: jaxrnn.LSTMParams, xs) -> Peer:
    d_h = p.f.W.shape[0]
    cell = interop.to_equinox_lstm_cell(p)

    def apply(cell, xs):
        def step(carry, x_t):
            h, c = jax.vmap(cell)(x_t, carry)
            return (h, c), h

        zeros = jnp.zeros((xs.shape[0], d_h), xs.dtype)
        _, hs = jax.lax.scan(step, (zeros, zeros), jnp.swapaxes(xs, 0, 1))
        return jnp.swapaxes(hs, 0, 1)

    return _jax_peer("equinox", apply, cell, xs)


def haiku_lstm(p: jaxrnn.LSTMParams, xs) -> Peer:
    import haiku as hk

    d_h = p.f.W.shape[0]

    def fn(xs):
        core = hk.LSTM(d_h)
        hs, _ = hk.dynamic_unroll(core, jnp.swapaxes(xs, 0, 1), core.initial_state(xs.shape[0]))
        return jnp.swapaxes(hs, 0, 1)

    model = hk.without_apply_rng(hk.transform(fn))
    return _jax_peer("haiku", model.apply, interop.to_haiku_lstm(p), xs)


def _torch_peer(name: str, module: Any, xs) -> Peer:
    import torch

    x = torch.from_numpy(np.array(xs))

    def forward():
        with torch.no_grad():
            return module(x)[0]

    def grad():
        module.zero_grad(set_to_none=True)
        module(x)[0].sum().backward()
        return [q.grad for q in module.parameters()]

    return Peer(name, forward, grad, sync=lambda out: out)


def torch_lstm(p: jaxrnn.LSTMParams, xs) -> Peer:
    return _torch_peer("torch", interop.to_torch_lstm(p), xs)


# --- vanilla RNN ------------------------------------------------------------------------


def jaxrnn_rnn(p: jaxrnn.RNNParams, xs, unroll: int = 1) -> Peer:
    # Peers have no readout: the loss is the sum of the states (the readout is then dead
    # code under jit, and V, b_o get zero gradients).
    return _jax_peer("jaxrnn", lambda w, x: jaxrnn.rnn_scan(w, x, unroll=unroll)[1], p, xs)


def flax_linen_rnn(p: jaxrnn.RNNParams, xs) -> Peer:
    import flax.linen as nn

    model = nn.RNN(nn.SimpleCell(p.W.shape[0]))
    cell, _ = interop.to_flax_simple_cell(p)  # peers have no readout
    weights = {"params": {"cell": cell["params"]}}
    return _jax_peer("flax.linen", lambda w, x: model.apply(w, x), weights, xs)


def torch_rnn(p: jaxrnn.RNNParams, xs) -> Peer:
    rnn, _ = interop.to_torch_rnn(p)  # peers have no readout
    return _torch_peer("torch", rnn, xs)


LSTM_PEERS = [flax_linen_lstm, flax_nnx_lstm, equinox_lstm, haiku_lstm, torch_lstm]
RNN_PEERS = [flax_linen_rnn, torch_rnn]
