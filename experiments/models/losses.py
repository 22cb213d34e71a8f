"""Losses shared by the tasks: softmax cross-entropy of class logits and the masked mean
negative log-likelihood of token sequences."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of ``logits (B, K)`` against int ``labels (B,)``."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=-1))


def token_nll(logits: jax.Array, targets: jax.Array, mask: jax.Array | None = None):
    """Mean ``-log p(target)`` over the positions where ``mask`` (default: all) is true.

    Example:
        >>> logits = jnp.log(jnp.array([[[0.5, 0.5], [0.9, 0.1]]]))
        >>> round(float(token_nll(logits, jnp.array([[0, 1]]), jnp.array([[True, False]]))), 4)
        0.6931
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    if mask is None:
        return jnp.mean(nll)
    mask = mask.astype(nll.dtype)
    return jnp.sum(nll * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def length_mask(lengths: jax.Array, T: int) -> jax.Array:
    """``(B, T)`` booleans, true for ``t < lengths[b]``."""
    return jnp.arange(T)[None, :] < lengths[:, None]
