"""Model x sequence-length sweeps (RNN vs LSTM at several T), shared by adding and copy.

:func:`run_sweep` takes a config with the sweep's fields (``T_values``, ``models``, ``hidden``;
:class:`experiments.configs.SweepConfig`), trains one sub-run ``<model>_T<T>/`` per pair (a
resumed sweep skips finished pairs and continues the interrupted one), plots the evaluation
metric over the baseline, and returns one table row per pair. :func:`summarise` and
:func:`mean_spread` reduce the runs of several seeds (:func:`train_seeds`) to a mean and a
range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from experiments.core.plots import plot_lines
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train


def run_sweep(
    name: str,
    cfg: Any,
    resume: str | None,
    make_problem: Callable[[str, int], Problem],
    metric: str,
    baseline: Callable[[int], float],
) -> dict[str, dict]:
    """Train every ``(model, T)`` of ``cfg`` and return ``{"<model> T=<T>": row}``.

    Each row holds ``model, T, steps``, the final ``metric``, its ``baseline(T)``, the other
    evaluation metrics and the training wall time. Writes ``<metric>.png`` and the results
    table into the run directory.
    """
    run = Run.create(name, cfg, resume)
    results, curves = {}, {}
    for T in cfg.T_values:
        for model in cfg.models:
            sub = f"{model}_T{T}"
            print(f"[{name}] {sub}: {cfg.steps} steps, hidden {cfg.hidden}", flush=True)
            m = train(cfg, make_problem(model, T), run.sub(sub)).metrics
            extra = {k: v for k, v in m.items() if k not in ("steps", "wall_s", metric)}
            results[f"{model} T={T}"] = {
                "model": model, "T": T, "steps": m["steps"], metric: m[metric],
                "baseline": baseline(T), **extra, "wall_s": round(m["wall_s"], 1),
            }  # fmt: skip
            hist = [r for r in run.sub(sub).read_metrics() if metric in r]
            curves[sub] = ([r["step"] for r in hist], [r[metric] / baseline(T) for r in hist])
    plot_lines(run.path / f"{metric}.png", curves, xlabel="step", ylabel=f"{metric} / baseline",
               title=name, logy=True, hline=(1.0, "baseline"))  # fmt: skip
    run.report(list(results.values()), f"{name}: final {metric} per (model, T)")
    print(f"run directory: {run.path}")
    return results


def summarise(per_seed: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, Any]:
    """Mean, min and max over the seeds' rows of each key.

    Example:
        >>> summarise([{"a": 0.5}, {"a": 1.0}], ["a"])
        {'a': 0.75, 'a_min': 0.5, 'a_max': 1.0}
    """
    out: dict[str, Any] = {}
    for k in keys:
        v = np.array([r[k] for r in per_seed], np.float64)
        out.update({k: round(float(v.mean()), 4), f"{k}_min": round(float(v.min()), 4),
                    f"{k}_max": round(float(v.max()), 4)})  # fmt: skip
    return out


def mean_spread(row: dict[str, Any], key: str) -> str:
    """``"0.750 (0.500-1.000)"``: the mean over seeds and their range.

    Example:
        >>> mean_spread({"a": 0.75, "a_min": 0.5, "a_max": 1.0}, "a")
        '0.750 (0.500-1.000)'
    """
    return f"{row[key]:.3f} ({row[key + '_min']:.3f}-{row[key + '_max']:.3f})"


def train_seeds(
    cfg: Any,
    run: Run,
    name: str,
    make_problem: Callable[[int], Problem],
    keys: Sequence[str],
    labels: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Train ``make_problem(seed)`` for the seeds ``cfg.seed`` to ``cfg.seed + cfg.seeds - 1``,
    each in the sub-run ``<name>_seed<seed>/`` with the parameters of that seed (a resumed
    run skips the finished ones and continues the interrupted one).

    Returns:
        ``(summary, per_seed)``: each per-seed row is ``labels``, the seed, the final value
        of each of ``keys``, the training loss and wall time; the summary is ``labels``, the
        number of seeds, :func:`summarise` of ``keys`` and the summed wall time.
    """
    per_seed = []
    for seed in range(cfg.seed, cfg.seed + cfg.seeds):
        print(f"[{run.path.parent.name}] {name}_seed{seed}: {cfg.steps} steps", flush=True)
        seeded = dataclasses.replace(cfg, seed=seed)  # the parameters' seed
        m = train(seeded, make_problem(seed), run.sub(f"{name}_seed{seed}")).metrics
        finals = {k: round(m[k], 4) for k in keys}
        per_seed.append({**labels, "seed": seed, **finals, "train_loss": m["train_loss"],
                         "wall_s": round(m["wall_s"], 1)})  # fmt: skip
    wall = round(sum(r["wall_s"] for r in per_seed), 1)
    return {**labels, "seeds": cfg.seeds, **summarise(per_seed, keys), "wall_s": wall}, per_seed
