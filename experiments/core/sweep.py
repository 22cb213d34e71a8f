"""Model x sequence-length sweeps (RNN vs LSTM at several T), shared by adding and copy.

:func:`run_sweep` takes a config with the sweep's fields (``T_values``, ``models``, ``hidden``;
:class:`experiments.configs.SweepConfig`), trains one sub-run ``<model>_T<T>/`` per pair (a
resumed sweep skips finished pairs and continues the interrupted one), plots the evaluation
metric over the baseline, and returns one table row per pair.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
