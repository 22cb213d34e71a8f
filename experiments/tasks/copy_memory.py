"""Copy-memory task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): RNN vs LSTM.

The input is 10 symbols from {1..8}, then ``T - 1`` blanks (0), a delimiter (9) and 10
more blanks: ``T + 20`` steps, one-hot over 10 classes. The target is blank for the first
``T + 10`` steps and then the 10 symbols. A memoryless model that outputs blanks and then
guesses uniformly gets cross-entropy ``10 ln 8 / (T + 20)`` per step: the baseline.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.configs import CopyConfig
from experiments.core.step import Problem
from experiments.core.sweep import run_sweep
from experiments.models.sequence import apply, init_model

N_SYMBOLS, N_COPY, N_CLASSES = 8, 10, 10
BLANK, DELIM = 0, 9
TEST_STREAM = 1


def baseline(T: int) -> float:
    """Cross-entropy per step of the memoryless strategy: ``10 ln 8 / (T + 20)``."""
    return N_COPY * math.log(N_SYMBOLS) / (T + 2 * N_COPY)


def make_batch(seed: int, stream: int, index: int, batch: int, T: int):
    """``(xs (batch, T+20, 10) one-hot, ys (batch, T+20))``, pure in ``(seed, stream, index)``."""
    rng = np.random.default_rng([seed, stream, index])
    symbols = rng.integers(1, N_SYMBOLS + 1, size=(batch, N_COPY))
    L = T + 2 * N_COPY
    inputs = np.full((batch, L), BLANK, np.int32)
    inputs[:, :N_COPY] = symbols
    inputs[:, T + N_COPY - 1] = DELIM
    targets = np.full((batch, L), BLANK, np.int32)
    targets[:, -N_COPY:] = symbols
    return np.eye(N_CLASSES, dtype=np.float32)[inputs], targets


def cross_entropy(params, batch) -> jax.Array:
    xs, ys = batch
    return optax.softmax_cross_entropy_with_integer_labels(apply(params, xs), ys).mean()


def _evaluate(params, batch) -> dict[str, jax.Array]:
    xs, ys = batch
    logits = apply(params, xs)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, ys).mean()
    hit = jnp.argmax(logits[:, -N_COPY:], axis=-1) == ys[:, -N_COPY:]
    return {"test_ce": ce, "recall_acc": hit.mean()}


def problem(cfg: CopyConfig, model: str, T: int) -> Problem:
    test = make_batch(cfg.seed, TEST_STREAM, 0, cfg.test_size, T)
    evaluate = jax.jit(_evaluate)
    return Problem(
        init=lambda key: init_model(key, model, N_CLASSES, cfg.hidden, N_CLASSES),
        loss=cross_entropy,
        batch=lambda step: make_batch(cfg.seed, 0, step, cfg.batch_size, T),
        evaluate=lambda params: evaluate(params, test),
    )


def main(cfg: CopyConfig, resume: str | None = None) -> dict:
    return run_sweep(
        "copy", cfg, resume, lambda model, T: problem(cfg, model, T),
        metric="test_ce", baseline=baseline,
    )  # fmt: skip
