"""Time per training step of several problems, measured side by side (interleaved rounds).

On a shared machine the load changes from second to second. Timing each model in its own
block of time would charge one model for another process's burst; here every round times
``steps`` steps of each model, one model after the other (the order rotated each round),
on the same batches, so background load falls on all models alike, and a model's time
per step is the median over rounds. Compilation happens before the first round.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

import jax

from experiments.core.config import TrainConfig
from experiments.core.mesh import make_mesh, replicate, shard_batch
from experiments.core.optim import make_optimizer
from experiments.core.step import Problem, initial_state, make_train_step


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing); nothing when empty."""
    if not path:
        yield
        return
    with Path(path).open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def time_train_steps(
    cfg: TrainConfig, problems: dict[str, Problem], *, rounds: int, steps: int
) -> dict[str, list[float]]:
    """Seconds per training step of each problem in each round: ``{name: [s, ...]}``.

    Each step is the whole training step of :func:`experiments.core.train.train`: the host
    builds the batch, then the jitted gradient and optimizer update run to completion. Every
    round times the batches of steps ``0 .. steps-1`` (all compiled first: a task whose
    batches come in several shapes, such as length buckets, compiles one step per shape).
    """
    mesh = make_mesh(cfg.devices)
    tx = make_optimizer(cfg)
    runs = {}
    for name, problem in problems.items():
        train_step = make_train_step(problem.loss, tx, skip=False, mesh=mesh)
        state = replicate(mesh, initial_state(cfg, problem, tx))
        for i in range(steps):  # compile, for every batch shape the rounds will see
            state, _ = train_step(state, shard_batch(mesh, problem.batch(i)))
        runs[name] = [train_step, jax.block_until_ready(state)]
    names = list(problems)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            train_step, state = runs[name]
            t0 = time.perf_counter()
            for i in range(steps):
                state, _ = train_step(state, shard_batch(mesh, problems[name].batch(i)))
            runs[name][1] = jax.block_until_ready(state)
            seconds[name].append((time.perf_counter() - t0) / steps)
    return seconds
