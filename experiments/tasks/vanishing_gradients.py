"""Vanishing gradients: ``||dL/dx_t||`` against the distance ``T - t``, RNN vs LSTM.

The loss ``L`` is the adding problem's squared error, read at the last step only, so
``dL/dx_t`` measures how much input ``t`` can still influence the output ``T - t`` steps
later. Both models (same hidden size) are measured at initialisation and after training on
the adding problem of length ``T`` (default 50, which the LSTM learns in ~2k steps), on a
probe batch of length ``probe_T`` (default 200); the slope of ``log10 ||dL/dx_t||``
against ``T - t`` gives the decay in orders of magnitude per 100 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import VanishingGradientsConfig
from experiments.core.plots import plot_lines
from experiments.core.run import Run
from experiments.core.step import init_params
from experiments.core.train import train
from experiments.tasks import adding

PROBE_STREAM = 2  # rng stream of the probe batch (train 0, test 1)
TINY = 1e-30  # gradients below this (float32 underflow) are left out of the fit


def input_grad_norms(params, xs, y) -> jax.Array:
    """``mean_b ||dL/dx_t||_2`` for each ``t``: shape ``(T,)``; ``L`` is the last-step MSE."""
    grads = jax.grad(lambda xs: adding.mse(params, (xs, y)))(xs)
    return jnp.linalg.norm(grads, axis=-1).mean(axis=0)


def decay_per_100(norms: np.ndarray) -> float:
    """Orders of magnitude lost per 100 steps of distance: ``-100 * slope(log10 norm, T-t)``.

    Example:
        >>> round(decay_per_100(10.0 ** (-np.arange(50.0)[::-1] / 25)), 6)
        4.0
    """
    distance = np.arange(len(norms))[::-1]  # T - 1 - t
    ok = norms > TINY
    if ok.sum() < 2:
        return float("nan")
    slope = np.polyfit(distance[ok], np.log10(norms[ok]), 1)[0]
    return float(-100.0 * slope)


def main(cfg: VanishingGradientsConfig, resume: str | None = None) -> dict:
    run = Run.create("vanishing_gradients", cfg, resume)
    xs, y = adding.make_batch(cfg.seed, PROBE_STREAM, 0, cfg.probe_size, cfg.probe_T)
    measure = jax.jit(input_grad_norms)
    distance = np.arange(cfg.probe_T)[::-1]
    results, series = {}, {}
    for model in cfg.models:
        prob = adding.problem(cfg, model, cfg.T, cfg.hidden, cfg.test_size)
        print(f"[vanishing_gradients] {model}: {cfg.steps} steps on adding T={cfg.T}", flush=True)
        at_init = np.asarray(measure(init_params(cfg, prob), xs, y))
        out = train(cfg, prob, run.sub(model))
        trained = np.asarray(measure(out.params, xs, y))
        for when, norms in (("init", at_init), ("trained", trained)):
            series[f"{model} ({when})"] = (distance, np.maximum(norms, TINY))
            results[f"{model} {when}"] = {
                "model": model,
                "when": when,
                "decay_orders_per_100": decay_per_100(norms),
                "grad_at_T-t=0": float(norms[-1]),
                "grad_at_max_dist": float(norms[0]),
                "test_mse": out.metrics["test_mse"] if when == "trained" else float("nan"),
            }
        run.write_json(
            f"{model}_grad_norms.json", {"init": at_init.tolist(), "trained": trained.tolist()}
        )
    plot_lines(
        run.path / "grad_norms.png",
        series,
        xlabel="distance T - t",
        ylabel="||dL/dx_t||",
        title=f"last-step loss gradient, probe T={cfg.probe_T}, trained at T={cfg.T}",
        logy=True,
    )
    run.report(list(results.values()), "vanishing gradients")
    print(f"run directory: {run.path}")
    return results
