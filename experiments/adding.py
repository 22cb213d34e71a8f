"""Adding problem (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): RNN vs LSTM.

Each input step is ``(value, marker)`` with ``value ~ U[0, 1]``; exactly two markers are
1, one in each half of the sequence. The target is the sum of the two marked values, read
from the last step. Predicting the constant 1 gives MSE ``Var(a + b) = 1/6 = 0.167``: a
model below that line has carried information across ~T/2 steps.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments.config import TrainConfig
from experiments.models import apply, init_model
from experiments.run import Run, plot_lines
from experiments.train import Problem, train

BASELINE_MSE = 1.0 / 6.0
TEST_STREAM = 1  # rng stream ids: train batches use 0, the test set 1


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    """Defaults (T=50, 100; 3000 steps) fit the 20-minute budget on 2 shared CPU cores.

    The full sweep of the paper is a flag: ``--T_values=50,100,200,400 --steps=...``.
    """

    T_values: tuple[int, ...] = (50, 100)
    models: tuple[str, ...] = ("rnn", "lstm")
    hidden: int = 128
    test_size: int = 500
    steps: int = 3000
    batch_size: int = 20
    eval_every: int = 100
    optimizer: str = "adam"
    lr: float = 1e-3
    clip: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [m for m in self.models if m not in ("rnn", "lstm")]
        if bad or not self.models:
            raise ValueError(f"--models: expected a comma list of rnn, lstm; got {self.models}")
        if not self.T_values or min(self.T_values) < 2:
            raise ValueError(f"--T_values: expected ints >= 2, got {self.T_values}")


def make_batch(seed: int, stream: int, index: int, batch: int, T: int):
    """``(xs (batch, T, 2), y (batch,))`` as a pure function of ``(seed, stream, index)``."""
    rng = np.random.default_rng([seed, stream, index])
    values = rng.uniform(0.0, 1.0, size=(batch, T)).astype(np.float32)
    half = T // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, T, size=batch)
    markers = np.zeros((batch, T), np.float32)
    markers[np.arange(batch), first] = 1.0
    markers[np.arange(batch), second] = 1.0
    y = (values * markers).sum(axis=1)
    return np.stack([values, markers], axis=-1), y


def mse(params, batch) -> jax.Array:
    xs, y = batch
    pred = apply(params, xs)[..., -1, 0]
    return jnp.mean((pred - y) ** 2)


def problem(cfg: TrainConfig, model: str, T: int, hidden: int, test_size: int) -> Problem:
    """The adding problem of length ``T`` for an ``rnn``/``lstm`` with ``hidden`` units."""
    test = make_batch(cfg.seed, TEST_STREAM, 0, test_size, T)
    test_mse = jax.jit(mse)
    return Problem(
        init=lambda key: init_model(key, model, 2, hidden, 1),
        loss=mse,
        batch=lambda step: make_batch(cfg.seed, 0, step, cfg.batch_size, T),
        evaluate=lambda params: {"test_mse": test_mse(params, test)},
    )


def main(cfg: Config, resume: str | None = None) -> dict:
    run = Run.create("adding", cfg, resume)
    results, curves = {}, {}
    for T in cfg.T_values:
        for model in cfg.models:
            name = f"{model}_T{T}"
            print(f"[adding] {name}: {cfg.steps} steps, hidden {cfg.hidden}", flush=True)
            t0 = time.perf_counter()
            out = train(cfg, problem(cfg, model, T, cfg.hidden, cfg.test_size), run.sub(name))
            results[f"{model} T={T}"] = {
                "model": model,
                "T": T,
                "steps": out.metrics["steps"],
                "test_mse": out.metrics["test_mse"],
                "baseline": BASELINE_MSE,
                "wall_s": round(out.metrics.get("wall_s", time.perf_counter() - t0), 1),
            }
            hist = [r for r in out.history if "test_mse" in r]
            curves[name] = ([r["step"] for r in hist], [r["test_mse"] for r in hist])
    plot_lines(
        run.path / "test_mse.png",
        curves,
        xlabel="step",
        ylabel="test MSE",
        title="adding problem",
        logy=True,
        hline=(BASELINE_MSE, "baseline 0.167"),
    )
    run.report(list(results.values()), "adding problem: final test MSE")
    print(f"run directory: {run.path}")
    return results
