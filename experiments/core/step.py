"""One training step and the state it carries: what to train (:class:`Problem`), the
checkpointed :class:`TrainState`, and the jitted, NaN-guarded update."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec

from experiments.core.config import TrainConfig


class Problem(NamedTuple):
    """What to train.

    Attributes:
        init: ``key -> params``.
        loss: ``(params, batch) -> scalar loss`` (traced inside the jitted step).
        batch: ``step -> batch``, a pure function of the seed and ``step``.
        evaluate: ``params -> {name: float}`` held-out metrics, or None.
        n_train: number of training examples, when finite; a ``batch_size`` above it is
            rejected (sampling with replacement would silently repeat examples).
    """

    init: Callable[[jax.Array], Any]
    loss: Callable[[Any, Any], jax.Array]
    batch: Callable[[int], Any]
    evaluate: Callable[[Any], dict[str, float]] | None = None
    n_train: int | None = None


class TrainState(NamedTuple):
    """Everything a checkpoint holds. ``bad_step`` is -1 until a non-finite step."""

    step: jax.Array
    params: Any
    opt_state: Any
    n_skipped: jax.Array
    bad_step: jax.Array


class TrainResult(NamedTuple):
    params: Any
    metrics: dict[str, float]
    history: list[dict[str, Any]]


def make_train_step(
    loss_fn: Callable[[Any, Any], jax.Array],
    tx: optax.GradientTransformation,
    *,
    skip: bool,
    mesh: jax.sharding.Mesh | None = None,
) -> Callable[[TrainState, Any], tuple[TrainState, dict[str, jax.Array]]]:
    """The one jitted step: gradient, finiteness check, guarded optimizer update.

    With a ``mesh`` the outputs (state and metrics) are pinned replicated over it; fed a
    batch sharded over the mesh, XLA all-reduces the gradient inside this one step.

    A step whose loss or gradient norm is not finite leaves ``params`` and ``opt_state``
    unchanged. With ``skip=False`` the first such step is recorded in ``bad_step`` and every
    later step is frozen too, so the host can stop with the last finite parameters.
    """

    pin = {} if mesh is None else {"out_shardings": NamedSharding(mesh, PartitionSpec())}

    @functools.partial(jax.jit, **pin)
    def train_step(state: TrainState, batch: Any) -> tuple[TrainState, dict[str, jax.Array]]:
        loss, grads = jax.value_and_grad(loss_fn)(state.params, batch)
        grad_norm = optax.tree.norm(grads)
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        apply = finite if skip else finite & (state.bad_step < 0)
        updates, new_opt = tx.update(grads, state.opt_state, state.params)
        new_params = optax.apply_updates(state.params, updates)
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(apply, a, b), new, old)  # noqa: E731
        step = state.step + 1
        first_bad = (~finite) & (state.bad_step < 0)
        new_state = TrainState(
            step=step,
            params=keep(new_params, state.params),
            opt_state=keep(new_opt, state.opt_state),
            n_skipped=state.n_skipped + (~finite).astype(jnp.int32),
            bad_step=jnp.where(first_bad, step, state.bad_step),
        )
        return new_state, {"loss": loss, "grad_norm": grad_norm}

    return train_step


def init_params(cfg: TrainConfig, problem: Problem) -> Any:
    """``problem.init(key(cfg.seed))`` under one jit (eager init would compile op by op)."""
    return jax.jit(problem.init)(jax.random.key(cfg.seed))


def initial_state(
    cfg: TrainConfig, problem: Problem, tx: optax.GradientTransformation
) -> TrainState:
    """Step 0: fresh parameters, optimizer state, no skipped or bad step."""
    params = init_params(cfg, problem)
    zero = jnp.zeros((), jnp.int32)
    return TrainState(zero, params, jax.jit(tx.init)(params), zero, zero - 1)
