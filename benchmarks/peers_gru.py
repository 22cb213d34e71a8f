"""GRU peers under test, built from the same ``GRUParams`` (see :mod:`benchmarks.peers`).

Flax NNX's ``GRUCell`` has no ``b_hn`` (the bias inside the reset product), so the
benchmark's parameters keep ``b_hn = 0`` and every peer computes the same function.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from benchmarks.peers import Peer, _jax_peer, _torch_peer, nnx_peer
from jaxrnn import interop
from jaxrnn.interop._fused import to_fused_gru


def gru_inputs(B: int, T: int, d_h: int) -> tuple[jaxrnn.GRUParams, Any]:
    """``GRUParams`` with random ``b_z, b_r, b_n`` (``b_hn = 0``) and inputs ``(B, T, d_h)``."""
    k_p, k_b, k_x = jax.random.split(jax.random.key(0), 3)
    p = jaxrnn.init_gru_params(k_p, d_h, d_h)
    kb = jax.random.split(k_b, 3)
    gates = [g._replace(b=0.1 * jax.random.normal(k, g.b.shape)) for g, k in zip(p[:3], kb)]
    return jaxrnn.GRUParams(*gates, b_hn=p.b_hn), jax.random.normal(k_x, (B, T, d_h))


def jaxrnn_gru(p: jaxrnn.GRUParams, xs, unroll: int = 1) -> Peer:
    return _jax_peer("jaxrnn", lambda w, x: jaxrnn.gru_scan(w, x, unroll=unroll)[1], p, xs)


def flax_linen_gru(p: jaxrnn.GRUParams, xs) -> Peer:
    import flax.linen as nn

    model = nn.RNN(nn.GRUCell(p.z.W.shape[0]))
    weights = {"params": {"cell": interop.to_flax_gru_cell(p)["params"]}}
    return _jax_peer("flax.linen", lambda w, x: model.apply(w, x), weights, xs)


def flax_nnx_gru(p: jaxrnn.GRUParams, xs) -> Peer:
    from flax import nnx

    d_h, d_in = p.z.U.shape
    model = nnx.RNN(nnx.GRUCell(d_in, d_h, rngs=nnx.Rngs(0)), rngs=False)
    # nnx's fused kernels are (in, 3 d_h), gates r, z, n; its dense_h has no bias (b_hn = 0)
    Wx, Wh, b_x, _ = to_fused_gru(p, "rzn", "benchmarks")
    model.cell.dense_i.kernel[...] = jnp.asarray(Wx.T)
    model.cell.dense_i.bias[...] = jnp.asarray(b_x)
    model.cell.dense_h.kernel[...] = jnp.asarray(Wh.T)
    return nnx_peer(model, lambda zeros: zeros, xs)


def equinox_gru(p: jaxrnn.GRUParams, xs) -> Peer:
    cell = interop.to_equinox_gru_cell(p)
    d_h = p.z.W.shape[0]

    def apply(cell, xs):
        def step(h, x_t):
            h = jax.vmap(cell)(x_t, h)
            return h, h

        h0 = jnp.zeros((xs.shape[0], d_h), xs.dtype)
        return jnp.swapaxes(jax.lax.scan(step, h0, jnp.swapaxes(xs, 0, 1))[1], 0, 1)

    return _jax_peer("equinox", apply, cell, xs)


def torch_gru(p: jaxrnn.GRUParams, xs) -> Peer:
    return _torch_peer("torch", interop.to_torch_gru(p), xs)  # b_hh = [0, 0, b_hn]


GRU_PEERS = [flax_linen_gru, flax_nnx_gru, equinox_gru, torch_gru]
