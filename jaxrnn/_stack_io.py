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


def lstm_cell_states(
    params: Any, xs: Array, hs: Array, h0: Array, C0: Array, mask: Array | None, reverse: bool
) -> Array:
    r"""The cell states ``C_t`` of an LSTM run, recomputed from its outputs ``h_t``.

    Given every ``h_{t-1}``, the gates of all steps are one matrix product, and
    :math:`C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t` is a linear recurrence in ``C``,
    evaluated as an associative scan. So ``return_carries`` keeps the fast loop for ``h``
    and adds one product over all steps. Padding steps (``mask`` False) hold ``C`` and
    emit zeros, as the loops do.

    Args:
        params: ``LSTMParams``.
        xs: inputs ``(..., T, d_in)``; hs: the loop's outputs ``(..., T, d_h)``.
        h0, C0: the initial carry ``(..., d_h)``.
        mask: ``(..., T, 1)`` valid steps, or None.
        reverse: whether the loop read the steps last-to-first.
    """
    valid = jnp.ones(hs.shape[:-1] + (1,), bool) if mask is None else mask
    h0_t = h0[..., None, :]
    if reverse:  # step t follows step t + 1, or starts from h0 at the last valid step
        nxt = jnp.concatenate([valid[..., 1:, :], jnp.zeros_like(valid[..., :1, :])], -2)
        h_prev = jnp.where(nxt, jnp.concatenate([hs[..., 1:, :], h0_t], -2), h0_t)
    else:  # valid steps come first: step t - 1 is valid whenever step t is
        h_prev = jnp.concatenate([h0_t, hs[..., :-1, :]], -2)

    def gate(g: Any) -> Array:
        return xs @ g.U.T + h_prev @ g.W.T + g.b

    f_t = jax.nn.sigmoid(gate(params.f))
    i_C_tilde = jax.nn.sigmoid(gate(params.i)) * jnp.tanh(gate(params.c))
    a = jnp.where(valid, f_t, jnp.ones_like(f_t))
    b = jnp.where(valid, i_C_tilde, jnp.zeros_like(i_C_tilde))

    def compose(first: tuple[Array, Array], then: tuple[Array, Array]) -> tuple[Array, Array]:
        return first[0] * then[0], then[0] * first[1] + then[1]

    A, Bc = jax.lax.associative_scan(compose, (a, b), reverse=reverse, axis=a.ndim - 2)
    C = A * C0[..., None, :] + Bc
    return jnp.where(valid, C, jnp.zeros_like(C))
