"""Truncated backpropagation through time: carry a chunk's final state, not its gradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn._src import checks
from jaxrnn._src.typing import Array


def detach(state: Any) -> Any:
    """``jax.lax.stop_gradient`` on every leaf of a state (or any pytree)."""
    return jax.tree.map(jax.lax.stop_gradient, state)


def truncated_bptt(
    loss_fn: Callable[[Any, Any, Any], tuple[Array, Any]],
    params: Any,
    state0: Any,
    xs: Any,
    *,
    chunk: int,
    time_axis: int = 0,
) -> tuple[Array, Any, Any]:
    r"""Truncated backpropagation through time over chunks of one long sequence.

    The sequence is cut into ``T / chunk`` chunks; chunk ``k`` starts from the final state
    of chunk ``k - 1`` passed through ``jax.lax.stop_gradient``, so gradients flow within
    a chunk only:

    .. math::

        (L_k, S_k) = \mathrm{loss\_fn}(\theta, \mathrm{sg}(S_{k-1}), x_{(k)}), \qquad
        g = \sum_k \nabla_\theta L_k

    Args:
        loss_fn: ``loss_fn(params, state, xs_chunk) -> (loss, final_state)``.
        params: the parameters to differentiate.
        state0: the state before the first chunk.
        xs: a pytree of arrays (inputs, targets) sharing the time axis ``time_axis``.
        chunk: steps per chunk (static); must divide the length of the time axis.
        time_axis: the time axis of every leaf of ``xs`` (0 for ``(T, ...)``, 1 for
            batch-major ``(B, T, ...)``).

    Returns:
        ``(loss, grads, state_T)``: the summed loss, the summed truncated gradients
        (same structure as ``params``) and the final state (detached).

    Raises:
        ValueError: ``chunk`` does not divide the sequence length.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.tbptt import truncated_bptt
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=2, d_h=3)
        >>> def loss_fn(p, state, xs):
        ...     state_T, hs = jaxrnn.lstm_scan(p, xs, state)
        ...     return jnp.sum(hs ** 2), state_T
        >>> state0 = jaxrnn.LSTMState(h=jnp.zeros(3), C=jnp.zeros(3))
        >>> loss, grads, state_T = truncated_bptt(loss_fn, p, state0, jnp.ones((12, 2)), chunk=4)
        >>> grads.f.U.shape, state_T.h.shape
        ((3, 2), (3,))
    """
    where = "truncated_bptt"
    chunk = checks.check_static_int(chunk, "chunk", where, minimum=1)
    T = {leaf.shape[time_axis] for leaf in jax.tree.leaves(xs)}
    if len(T) != 1 or next(iter(T)) % chunk:
        raise ValueError(
            f"{where}: expected every leaf of xs to have one length along time_axis="
            f"{time_axis} divisible by chunk={chunk}, got lengths {sorted(T)}"
        )
    n = next(iter(T)) // chunk

    def split(leaf: Array) -> Array:
        leaf = jnp.moveaxis(leaf, time_axis, 0)
        leaf = leaf.reshape((n, chunk) + leaf.shape[1:])
        return jnp.moveaxis(leaf, 1, time_axis + 1)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def body(carry: tuple[Any, Array, Any], xs_k: Any) -> tuple[tuple[Any, Array, Any], None]:
        state, loss, grads = carry
        (loss_k, state_k), grads_k = grad_fn(params, detach(state), xs_k)
        grads = jax.tree.map(jnp.add, grads, grads_k)
        return (detach(state_k), loss + loss_k, grads), None

    zeros = jax.tree.map(jnp.zeros_like, params)
    loss0 = jnp.zeros((), jax.tree.leaves(params)[0].dtype)
    (state_T, loss, grads), _ = jax.lax.scan(body, (state0, loss0, zeros), jax.tree.map(split, xs))
    return loss, grads, state_T


__all__ = ["detach", "truncated_bptt"]
