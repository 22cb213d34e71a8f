"""A time loop with per-step resets that returns every carry (used by jaxrnn.layers).

``jaxrnn.scan`` is the fast plain path; this loop adds what it does not do: restarting
from the initial state at marked steps, and emitting the whole carry (``C_t`` too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn._checks import valid_mask
from jaxrnn._loops._common import hold, zero_padding
from jaxrnn._typing import Array


def scan_with_resets(
    cell: Callable[[Any, Array], Any],
    carry0: Any,
    xs: Array,
    lengths: Array | None,
    resets: Array | None,
    *,
    reverse: bool,
    unroll: int = 1,
) -> tuple[Any, Any]:
    """Scan ``cell``; return the final carry and every carry, ``(..., T, d_h)`` leaves.

    ``resets[..., t]`` replaces the carry by ``carry0`` before step ``t``. Padding steps
    (``t >= lengths``) hold the carry and emit zeros, as in :func:`jaxrnn.lstm_scan`.
    """
    T = xs.shape[-2]
    batch = xs.shape[:-2]
    xs_time = jnp.moveaxis(xs, -2, 0)
    mask = valid_mask(lengths, T, batch)
    if resets is None:
        resets_time = jnp.zeros((T, *batch, 1), bool)
    else:
        resets_time = jnp.moveaxis(resets, -1, 0)[..., None]
        if reverse:
            # Read backwards, an episode starting at t+1 ends at t: restart at step t.
            resets_time = jnp.concatenate([resets_time[1:], jnp.zeros_like(resets_time[:1])])

    def body(carry: Any, inp: tuple[Array, Array | None, Array]) -> tuple[Any, Any]:
        x_t, m_t, r_t = inp
        start = jax.tree.map(lambda c0, c: jnp.where(r_t, c0, c), carry0, carry)
        new = hold(m_t, cell(start, x_t), carry)
        return new, zero_padding(new, m_t)

    carry_T, carries = jax.lax.scan(
        body, carry0, (xs_time, mask, resets_time), reverse=reverse, unroll=unroll
    )
    return carry_T, jax.tree.map(lambda y: jnp.moveaxis(y, 0, -2), carries)
