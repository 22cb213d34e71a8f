"""Adding problem (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): RNN vs LSTM.

Each input step is ``(value, marker)`` with ``value ~ U[0, 1]``; exactly two markers are
1, one in each half of the sequence. The target is the sum of the two marked values, read
from the last step. Predicting the constant 1 gives MSE ``Var(a + b) = 1/6 = 0.167``: a
model below that line has carried information across ~T/2 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import AddingConfig
from experiments.core.config import TrainConfig
from experiments.core.step import Problem
from experiments.core.sweep import run_sweep
from experiments.models.sequence import apply, init_model

BASELINE_MSE = 1.0 / 6.0
TEST_STREAM = 1  # rng stream ids: train batches use 0, the test set 1


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
    """The adding problem of length ``T`` for an ``rnn``/``lstm``/``gru`` with ``hidden`` units."""
    test = make_batch(cfg.seed, TEST_STREAM, 0, test_size, T)
    test_mse = jax.jit(mse)
    return Problem(
        init=lambda key: init_model(key, model, 2, hidden, 1),
        loss=mse,
        batch=lambda step: make_batch(cfg.seed, 0, step, cfg.batch_size, T),
        evaluate=lambda params: {"test_mse": test_mse(params, test)},
    )


def main(cfg: AddingConfig, resume: str | None = None) -> dict:
    return run_sweep(
        "adding", cfg, resume,
        lambda model, T: problem(cfg, model, T, cfg.hidden, cfg.test_size),
        metric="test_mse", baseline=lambda T: BASELINE_MSE,
    )  # fmt: skip
