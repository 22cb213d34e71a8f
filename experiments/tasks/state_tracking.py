r"""State tracking: parity and sum-mod-3 of a symbol stream, labelled at every step.

The input is a stream of symbols :math:`x_t \in \{0, \dots, m-1\}` (bits for ``parity``,
:math:`m = 2`; trits for ``mod3``, :math:`m = 3`) and the label at every step is the
running sum modulo :math:`m`:

.. math::

    y_t = \Big(\sum_{s \le t} x_s\Big) \bmod m

a finite automaton of :math:`m` states that reads one symbol per step. A recurrence tracks
it exactly when its state can encode the :math:`m` residues and its transition can permute
them (for parity: flip the state on every 1). The claim under test (Merrill et al. 2024;
Grazzi et al. 2025; Beck et al. 2024, the xLSTM paper) is that a recurrence linear in its
state with gates in :math:`[0, 1]` (minGRU, minLSTM, RG-LRU, mLSTM) cannot: its transition
has no negative eigenvalue, so what it fits on short streams does not carry to long ones,
while the nonlinear recurrences (tanh RNN, LSTM, GRU, sLSTM) can.

Training streams have lengths drawn uniformly from ``[train_min_len, train_max_len]`` (the
loss averages over their valid steps); the test streams have exactly each length of
``test_lengths`` (40, 160, 640): one in the training range, two far beyond it. Reported per
length: ``acc_last`` (the label of the whole stream, at its last step) and ``acc_all`` (every
step's label).

Every cell gets the same model: an embedding of the :math:`m` symbols into the residual
stream of width ``hidden``, ``layers`` residual blocks of the cell and a per-step MLP
(:mod:`experiments.models.deep_min`, which takes any registered cell), and a per-step linear
classifier. Runs are ``<task>_<model>_seed<k>/``; the run directory gets ``results.json``
(the mean, min and max over seeds of each accuracy, and every run's), ``results.md`` and
``accuracy_vs_length.png`` (every cell on one figure, one panel per task).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import StateTrackingConfig
from experiments.core.plots import plot_mean_spread
from experiments.core.run import Run, format_table
from experiments.core.step import Problem
from experiments.core.sweep import mean_spread, train_seeds
from experiments.models.losses import token_nll
from experiments.models.sequence import apply, init_model

MODULUS = {"parity": 2, "mod3": 3}
"""The number of symbols (and of automaton states) of each task."""
TRAIN_STREAM, TEST_STREAM = 0, 1  # rng stream ids: training batches never share a test draw


def make_batch(
    seed: int, stream: int, index: int, batch: int, modulus: int, min_len: int, max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(symbols, labels, mask)``, each ``(batch, max_len)``, pure in ``(seed, stream, index)``.

    Stream ``b`` has a length ``L_b`` uniform in ``[min_len, max_len]``; ``symbols[b, t]`` is
    uniform in ``{0, .., modulus-1}``, ``labels[b, t] = sum(symbols[b, :t+1]) % modulus``,
    and ``mask[b, t] = t < L_b`` (the steps the loss reads; the rest is padding, which a causal
    model reads only after the valid steps).

    Example:
        >>> x, y, m = make_batch(0, 0, 0, 2, 2, 3, 5)
        >>> bool((y == np.cumsum(x, axis=1) % 2).all()), x.shape, bool(m[:, :3].all())
        (True, (2, 5), True)
    """
    rng = np.random.default_rng([seed, stream, index])
    lengths = rng.integers(min_len, max_len + 1, size=batch)
    symbols = rng.integers(0, modulus, size=(batch, max_len)).astype(np.int32)
    labels = (np.cumsum(symbols, axis=1) % modulus).astype(np.int32)
    mask = np.arange(max_len)[None, :] < lengths[:, None]
    return symbols, labels, mask


def held_out(cfg: StateTrackingConfig, task: str, T: int) -> tuple[np.ndarray, np.ndarray]:
    """``(symbols, labels)`` of ``cfg.test_size`` streams of exactly ``T`` steps; the same for
    every model and seed (drawn from ``cfg.seed`` and the test stream)."""
    symbols, labels, _ = make_batch(cfg.seed, TEST_STREAM, T, cfg.test_size, MODULUS[task], T, T)
    return symbols, labels


def init_params(key: jax.Array, model: str, modulus: int, hidden: int, layers: int,
                mlp_expansion: int) -> dict[str, Any]:  # fmt: skip
    """``{"E": (modulus, hidden) symbol embedding, "net": the deep model of the cell}``."""
    k_E, k_net = jax.random.split(key)
    return {
        "E": jax.random.normal(k_E, (modulus, hidden), jnp.float32),
        "net": init_model(k_net, model, hidden, hidden, modulus, blocks=layers,
                          mlp_expansion=mlp_expansion),
    }  # fmt: skip


def logits(params: dict[str, Any], symbols: jax.Array) -> jax.Array:
    """``(B, T, modulus)`` class logits of the running residue at every step."""
    return apply(params["net"], params["E"][symbols])


def loss(params: dict[str, Any], batch) -> jax.Array:
    symbols, labels, mask = batch
    return token_nll(logits(params, symbols), labels, mask)


@jax.jit
def accuracy(params: dict[str, Any], symbols: jax.Array, labels: jax.Array) -> dict:
    """``acc_last`` (the label at the last step) and ``acc_all`` (every step's label)."""
    hit = jnp.argmax(logits(params, symbols), axis=-1) == labels
    return {"acc_last": jnp.mean(hit[:, -1]), "acc_all": jnp.mean(hit)}


def problem(cfg: StateTrackingConfig, task: str, model: str, seed: int | None = None) -> Problem:
    """The task for one cell: training batches drawn from ``seed`` (default ``cfg.seed``), the
    test sets from ``cfg.seed``, so that every seed is tested on the same streams."""
    m = MODULUS[task]
    seed = cfg.seed if seed is None else seed
    tests = {T: held_out(cfg, task, T) for T in cfg.test_lengths}

    def evaluate(params) -> dict[str, float]:
        out = {}
        for T, (symbols, labels) in tests.items():
            for k, v in accuracy(params, symbols, labels).items():
                out[f"{k}_T{T}"] = float(v)
        return out

    return Problem(
        init=lambda key: init_params(key, model, m, cfg.hidden, cfg.layers, cfg.mlp_expansion),
        loss=loss,
        batch=lambda step: make_batch(
            seed, TRAIN_STREAM, step, cfg.batch_size, m, cfg.train_min_len, cfg.train_max_len
        ),  # fmt: skip
        evaluate=evaluate,
    )


def main(cfg: StateTrackingConfig, resume: str | None = None) -> dict:
    run = Run.create("state_tracking", cfg, resume)
    keys = [f"{k}_T{T}" for T in cfg.test_lengths for k in ("acc_last", "acc_all")]
    rows, runs = [], []
    for task in cfg.tasks:
        for model in cfg.models:
            row, per_seed = train_seeds(
                cfg, run, f"{task}_{model}", functools.partial(problem, cfg, task, model),
                keys, {"task": task, "model": model},
            )  # fmt: skip
            rows.append(row)
            runs.extend(per_seed)
    run.write_json("results.json", {"summary": rows, "runs": runs})
    table = format_table([
        {"task": r["task"], "model": r["model"],
         **{f"T={T}": mean_spread(r, f"acc_last_T{T}") for T in cfg.test_lengths},
         **{f"all steps T={T}": mean_spread(r, f"acc_all_T{T}") for T in cfg.test_lengths[-1:]}}
        for r in rows
    ])  # fmt: skip
    (run.path / "results.md").write_text(
        f"# state_tracking: accuracy of the last step's label, mean (min-max) over "
        f"{cfg.seeds} seeds; trained on lengths {cfg.train_min_len}-{cfg.train_max_len}\n\n"
        f"{table}\n"
    )
    panels = {
        task: {r["model"]: (list(cfg.test_lengths),
                            [[p[f"acc_last_T{T}"] for T in cfg.test_lengths]
                             for p in runs if p["task"] == task and p["model"] == r["model"]])
               for r in rows if r["task"] == task}
        for task in cfg.tasks
    }  # fmt: skip
    plot_mean_spread(
        run.path / "accuracy_vs_length.png", panels, logx=True,
        xlabel=f"test length T (trained on {cfg.train_min_len}-{cfg.train_max_len})",
        ylabel="accuracy of the label at step T",
        reference={t: (cfg.test_lengths, [1 / MODULUS[t]] * len(cfg.test_lengths))
                   for t in cfg.tasks},
    )  # fmt: skip
    print(table)
    print(f"run directory: {run.path}")
    return {f"{r['task']} {r['model']}": {f"T={T}": r[f"acc_last_T{T}"] for T in cfg.test_lengths}
            for r in rows}  # fmt: skip
