"""What :func:`jaxrnn.layers.stack` does around its layers: dtype, time axis, merge, dropout."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._typing import Array, DType, PRNGKey


def _floats(tree: Any) -> list[Any]:
    return [
        a for a in jax.tree.leaves(tree) if jnp.issubdtype(getattr(a, "dtype", int), jnp.floating)
    ]


def compute_dtype(dtype: DType | None, *trees: Any) -> DType:
    """``dtype``, or (None) the promoted dtype of the floating leaves of ``trees`` (Flax's rule)."""
    if dtype is not None:
        return jnp.dtype(dtype)
    return jnp.result_type(*[a.dtype for t in trees for a in _floats(t)])


def cast(tree: Any, dtype: DType | None) -> Any:
    """Cast every floating leaf of ``tree`` to ``dtype`` (None: unchanged)."""
    if dtype is None:
        return tree

    def one(a: Any) -> Any:
        floating = jnp.issubdtype(getattr(a, "dtype", int), jnp.floating)
        return a.astype(dtype) if floating and a.dtype != dtype else a

    return jax.tree.map(one, tree)


def flip_valid(ys: Array, lengths: Array | None) -> Array:
    """Reverse the valid steps of ``ys (..., T, d)`` in place: ``ys[..., L-1-t, :]`` for ``t < L``.

    Padding steps stay where they are (as Flax's ``flip_sequences``).
    """
    T = ys.shape[-2]
    if lengths is None:
        return jnp.flip(ys, axis=-2)
    t = jnp.arange(T)
    L = jnp.asarray(lengths)[..., None]
    index = jnp.where(t < L, L - 1 - t, t)  # (..., T)
    index = jnp.broadcast_to(index, ys.shape[:-1])
    return jnp.take_along_axis(ys, index[..., None], axis=-2)


def to_time_last(tree: Any, time_major: bool, axis_from_end: int) -> Any:
    """``time_major`` arrays ``(T, ...)`` -> time at ``axis_from_end`` (-2 for xs, -1 resets)."""
    if not time_major or tree is None:
        return tree
    return jax.tree.map(lambda a: jnp.moveaxis(a, 0, axis_from_end), tree)


def to_time_first(tree: Any, time_major: bool) -> Any:
    """Outputs and carries ``(..., T, d)`` -> ``(T, ..., d)`` when ``time_major``."""
    if not time_major or tree is None:
        return tree
    return jax.tree.map(lambda a: jnp.moveaxis(a, -2, 0), tree)


def valid_steps(lengths: Array, ys: Array) -> Array:
    """``(..., T, 1)``: step ``t`` of ``ys (..., T, d)`` is valid, ``t < lengths``."""
    mask = _checks.valid_mask(jnp.asarray(lengths), ys.shape[-2], tuple(ys.shape[:-2]))
    return jnp.moveaxis(mask, 0, -2)


def merge(a: Array, b: Array, mode: str) -> Array:
    """Merge the two directions' outputs per step: ``concat``, ``sum`` or ``mean``."""
    if mode == "concat":
        return jnp.concatenate([a, b], axis=-1)
    if mode == "sum":
        return a + b
    return (a + b) / 2


def dropout(key: PRNGKey, x: Array, rate: float) -> Array:
    """Inverted dropout: keep each entry with probability ``1 - rate``, scaled up."""
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))
