"""The pieces the xLSTM layers share (``xlstm``'s components, in JAX): the causal depthwise
convolution with its window, the headwise (block-diagonal) linear map, the layer norms with a
residual weight, the gated feed-forward, and their initialisers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxrnn._src.typing import Array

LN_EPS = 1e-5  # xlstm's LayerNorm and MultiHeadLayerNorm


def round_up(x: float, multiple: int = 64) -> int:
    """``x`` rounded up to a multiple of ``multiple`` (xlstm's ``_proj_up_dim``)."""
    return int(math.ceil(x / multiple) * multiple)


def headwise(W: Array, x: Array) -> Array:
    """``W (heads, out, in)`` applied head by head: ``x (..., heads in) -> (..., heads out)``."""
    H, _, d = W.shape
    xh = x.reshape(*x.shape[:-1], H, d)
    y = jnp.einsum("...hi,hoi->...ho", xh, W)
    return y.reshape(*x.shape[:-1], -1)


def block_matrix(W: Array) -> Array:
    """The dense block-diagonal ``(heads out, heads in)`` matrix of ``W (heads, out, in)``."""
    H, o, i = W.shape
    eye = jnp.eye(H, dtype=W.dtype)
    return jnp.einsum("hg,hoi->hogi", eye, W).reshape(H * o, H * i)


def conv_step(w: Array, b: Array, window: Array, x_t: Array) -> tuple[Array, Array]:
    """One step of the causal depthwise convolution: ``y_t = sum_k w[k] x_{t-K+1+k} + b``.

    ``window (..., K-1, D)`` holds the previous ``K-1`` inputs, oldest first; returns
    ``(y_t, new window)``.
    """
    full = jnp.concatenate([window, x_t[..., None, :]], axis=-2)  # (..., K, D)
    return jnp.einsum("...kd,kd->...d", full, w) + b, full[..., 1:, :]


def conv_sequence(w: Array, b: Array, window: Array, xs: Array, lengths: Array | None):
    """The convolution over time-major ``xs (T, n, D)`` after ``window (n, K-1, D)``: outputs
    ``(T, n, D)`` and the window after the last valid step (``lengths (n,)`` or None)."""
    K = w.shape[0]
    T = xs.shape[0]
    full = jnp.concatenate([jnp.moveaxis(window, 1, 0), xs])  # (K-1+T, n, D)
    y = sum(full[k : k + T] * w[k] for k in range(K)) + b
    if lengths is None:
        new = full[T:]
    else:  # the K-1 inputs before the first padding step: full[L : L+K-1]
        idx = lengths[None, :] + jnp.arange(K - 1)[:, None]  # (K-1, n)
        new = jnp.take_along_axis(full, idx[..., None], axis=0)
    return y, jnp.moveaxis(new, 0, 1)


def layer_norm(x: Array, weight: Array) -> Array:
    """xlstm's ``LayerNorm`` (no bias): ``(x - mean) / sqrt(var + eps) * (1 + weight)``."""
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + LN_EPS) * (1 + weight)


def multihead_norm(x: Array, weight: Array, heads: int) -> Array:
    """xlstm's ``MultiHeadLayerNorm`` (a group norm, one group per head) of ``x (..., D)``,
    times ``1 + weight (D,)``."""
    xh = x.reshape(*x.shape[:-1], heads, -1)
    mu = jnp.mean(xh, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(xh - mu), axis=-1, keepdims=True)
    return ((xh - mu) * jax.lax.rsqrt(var + LN_EPS)).reshape(x.shape) * (1 + weight)


def gated_ffn(W_up: Array, W_down: Array, x: Array) -> Array:
    """xlstm's ``GatedFeedForward``: ``W_down (gelu(g) * u)``, ``[g, u] = W_up x``."""
    g, u = jnp.split(x @ W_up.T, 2, axis=-1)
    return (jax.nn.gelu(g, approximate=False) * u) @ W_down.T


def normal_init(std: float):
    """A normal initialiser ``N(0, std^2)``."""

    def init(key, shape, dtype):
        return std * jax.random.normal(key, shape, dtype)

    return init


def small_init(dim: int):
    """xlstm's ``small_init_init_``: ``N(0, 2 / (5 dim))``."""
    return normal_init(math.sqrt(2 / (5 * dim)))


def wang_init(dim: int, num_blocks: int = 1):
    """xlstm's ``wang_init_``: ``N(0, (2 / num_blocks / sqrt(dim))^2)``."""
    return normal_init(2 / num_blocks / math.sqrt(dim))


def constant_init(value: float):
    def init(key, shape, dtype):
        return jnp.full(shape, value, dtype)

    return init


def linspace_init(start: float, end: float):
    """xlstm's ``bias_linspace_init_`` (the mLSTM forget gate's bias)."""

    def init(key, shape, dtype):
        return jnp.linspace(start, end, shape[-1], dtype=dtype).reshape(shape)

    return init


def uniform_init(bound: float):
    def init(key, shape, dtype):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


__all__ = [
    "LN_EPS",
    "block_matrix",
    "constant_init",
    "conv_sequence",
    "conv_step",
    "gated_ffn",
    "headwise",
    "layer_norm",
    "linspace_init",
    "multihead_norm",
    "normal_init",
    "round_up",
    "small_init",
    "uniform_init",
    "wang_init",
]
