"""Quality against training wall time: at the same wall time, which model reaches the lower loss?

For one task (``charlm``: validation nats/char; ``sentiment``: SST-2 dev cross-entropy) and
its models (``lstm``, ``mingru``, ``minlstm``, ...):

1. **time** each model's training step side by side (:mod:`experiments.core.timing`:
   interleaved rounds, median per model; ``--lock`` holds a file lock meanwhile);
2. **train** each model for ``budget_s / (time per step)`` steps, so that all get the same
   training wall time, evaluated at the same steps (every ``eval_every``, chosen so that the
   slowest model is evaluated ``evals`` times);
3. **read** the held-out loss against the step and against the wall time
   ``step x time per step``: at the budget (equal wall time), at the slowest model's last
   evaluation (equal steps), the best loss within the budget and when it came, and the time
   each model takes to reach the loss all of them reach.

The wall-time axis comes from the measured time per step, not from each run's clock, which
also counts evaluations, checkpoints and whatever else the machine did meanwhile (each run's
clock time and the load average are reported beside it). Writes ``timing.json``, one
sub-run per model, ``results.md``/``results.json``, ``loss_vs_wall.png`` and
``loss_vs_step.png``. ``--resume`` reuses the measured times and continues unfinished runs.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import statistics
from typing import Any

import jax
import numpy as np

from experiments import configs
from experiments.core.args import parse_args
from experiments.core.plots import plot_lines
from experiments.core.run import Run
from experiments.core.timing import locked, time_train_steps
from experiments.core.train import train
from experiments.registry import load

TASKS = {"charlm": configs.CharLMConfig, "sentiment": configs.SentimentConfig}


def task_config(cfg: configs.WallclockConfig) -> Any:
    """The task's config: its defaults, then ``cfg.task_args``, with ``cfg.seed`` and
    ``cfg.progress``."""
    task_cfg, _ = parse_args(TASKS[cfg.task], shlex.split(cfg.task_args))
    return dataclasses.replace(task_cfg, seed=cfg.seed, progress=cfg.progress)


def plan(
    per_step_s: dict[str, float], budget_s: float, evals: int, max_steps: int
) -> tuple[dict[str, int], int]:
    """``(steps of each model, eval_every)``: each model's steps fill ``budget_s``.

    Example:
        >>> plan({"lstm": 0.2, "mingru": 0.05}, 10.0, 5, 10_000)
        ({'lstm': 50, 'mingru': 200}, 10)
    """
    steps = {m: min(max_steps, max(evals, int(budget_s / s))) for m, s in per_step_s.items()}
    return steps, max(1, min(steps.values()) // evals)


def first_reach(xs: np.ndarray, ys: np.ndarray, target: float) -> float:
    """The first ``x`` where the piecewise linear curve ``ys(xs)`` reaches ``<= target``
    (nan if it never does).

    Example:
        >>> first_reach(np.array([1.0, 2.0, 3.0]), np.array([5.0, 3.0, 1.0]), 2.0)
        2.5
    """
    (hits,) = np.nonzero(ys <= target)
    if not len(hits):
        return float("nan")
    i = int(hits[0])
    if i == 0:
        return float(xs[0])
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return float(x0 + (x1 - x0) * (y0 - target) / (y0 - y1))


def measure(cfg: configs.WallclockConfig, task_cfg: Any, problems: dict, run: Run) -> dict:
    """``timing.json`` of ``run``: read back when resuming, else measured and written."""
    timing = run.read_json("timing.json")
    if timing is not None:
        return timing
    load_before = os.getloadavg()
    with locked(cfg.lock):
        rounds = time_train_steps(
            task_cfg, problems, rounds=cfg.timing_rounds, steps=cfg.timing_steps
        )
    timing = {
        "per_step_s": {m: statistics.median(s) for m, s in rounds.items()},
        "rounds_s": rounds,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "device": str(jax.devices()[0]),
    }
    run.write_json("timing.json", timing)
    return timing


def main(cfg: configs.WallclockConfig, resume: str | None = None) -> dict:
    task_cfg = task_config(cfg)
    module = load(cfg.task)
    key = module.LOSS_KEY
    run = Run.create("wallclock", cfg, resume)
    problems = module.problems(task_cfg, cfg.models)
    per_step = measure(cfg, task_cfg, problems, run)["per_step_s"]
    print("[wallclock] ms per training step: "
          + ", ".join(f"{m} {1e3 * s:.1f}" for m, s in per_step.items()), flush=True)  # fmt: skip
    steps, eval_every = plan(per_step, cfg.budget_s, cfg.evals, cfg.max_steps)
    curves, rows = {}, {}
    for m in cfg.models:
        print(f"[wallclock] {cfg.task} {m}: {steps[m]} steps (~{cfg.budget_s:g} s)", flush=True)
        m_cfg = dataclasses.replace(
            task_cfg, steps=steps[m], eval_every=eval_every,
            log_every=min(task_cfg.log_every, eval_every),
            warmup_steps=min(task_cfg.warmup_steps, steps[m]),
        )  # fmt: skip
        out = train(m_cfg, problems[m], run.sub(m))
        if run.sub(m).read_json("load.json") is None:  # the load when this run ended
            run.sub(m).write_json("load.json", {"loadavg": os.getloadavg()})
        evals = [r for r in out.history if key in r]
        curves[m] = (np.array([r["step"] for r in evals]), np.array([r[key] for r in evals]))
        rows[m] = {
            "model": m,
            "params": sum(int(np.size(x)) for x in jax.tree.leaves(out.params)),
            "ms_per_step": round(1e3 * per_step[m], 2),
            "steps": out.metrics["steps"],
            **{k: v for k, v in out.metrics.items() if k.startswith(("val_", "dev_"))},
            "run_clock_s": round(out.metrics.get("wall_s", float("nan")), 1),
            "loadavg_1m": round(run.sub(m).read_json("load.json")["loadavg"][0], 2),
        }
    n_equal = eval_every * cfg.evals
    target = max(float(ys.min()) for _, ys in curves.values())  # a loss every model reaches
    for m, (xs, ys) in curves.items():
        best = int(np.argmin(ys))
        rows[m] = {
            **rows[m],
            f"{key}@{cfg.budget_s:g}s": round(float(ys[-1]), 4),
            f"{key}@{n_equal}steps": round(float(np.interp(n_equal, xs, ys)), 4),
            f"best_{key}": round(float(ys[best]), 4),
            "best_at_s": round(float(xs[best] * per_step[m]), 1),
            f"s_to_{target:.4f}": round(first_reach(xs * per_step[m], ys, target), 1),
        }
    title = f"{cfg.task}: held-out {key}"
    walls = {m: (xs * per_step[m], ys) for m, (xs, ys) in curves.items()}
    plot_lines(run.path / "loss_vs_wall.png", walls, title=title, ylabel=key,
               xlabel="training wall time, s (steps x measured time per step)")  # fmt: skip
    plot_lines(run.path / "loss_vs_step.png", curves, xlabel="step", ylabel=key, title=title)
    table = run.report(list(rows.values()), f"{title} at equal wall time ({cfg.budget_s:g} s)")
    winner = min(rows, key=lambda m: rows[m][f"{key}@{cfg.budget_s:g}s"])
    print(f"{table}\nlowest {key} after {cfg.budget_s:g} s of training: {winner}")
    print(f"run directory: {run.path}")
    return rows
