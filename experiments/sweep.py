"""Model x sequence-length sweeps (RNN vs LSTM at several T), shared by adding and copy.

:class:`SweepConfig` adds the sweep's fields to :class:`TrainConfig`; :func:`run_sweep`
trains one sub-run ``<model>_T<T>/`` per pair (a resumed sweep skips finished pairs and
continues the interrupted one), plots the evaluation metric over the baseline, and returns
one table row per pair.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from experiments.config import ConfigError, TrainConfig
from experiments.run import Run, plot_lines
from experiments.train import Problem, train

MODELS = ("rnn", "lstm")


def check_models(models: tuple[str, ...]) -> None:
    """Raise ConfigError unless ``models`` is a non-empty tuple drawn from rnn, lstm."""
    if not models or any(m not in MODELS for m in models):
        raise ConfigError(f"--models: expected a comma list of rnn, lstm; got {models}")


@dataclasses.dataclass(frozen=True)
class SweepConfig(TrainConfig):
    """Training hyperparameters plus the sweep: models, sequence lengths, sizes."""

    T_values: tuple[int, ...] = (50, 100)
    models: tuple[str, ...] = MODELS
    hidden: int = 128
    test_size: int = 500
    batch_size: int = 20

    def __post_init__(self) -> None:
        super().__post_init__()
        check_models(self.models)
        for name in ("hidden", "test_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name}: expected a positive int, got {getattr(self, name)}")
        if not self.T_values or min(self.T_values) < 2:
            raise ConfigError(f"--T_values: expected ints >= 2, got {self.T_values}")


def run_sweep(
    name: str,
    cfg: SweepConfig,
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
