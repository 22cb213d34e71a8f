"""Newton over time on the experiments' trained models, with their own inputs.

``python -m benchmarks.newton --trained adding=RUN_DIR,sentiment=RUN_DIR --T 1000,10000``
loads each trained cell (every ``lstm``/``gru`` the run holds) and runs
:func:`benchmarks.newton.measure` on the task's real inputs:

- ``adding``: a finished ``python -m experiments adding`` run (restored from its final
  checkpoint); inputs are the task's ``(value, marker)`` sequences
  (:func:`experiments.tasks.adding.make_batch`, the test stream) at the trained length and
  at each ``--T`` (longer than trained: the same model on longer sequences).
- ``sentiment``: a finished ``python -m experiments sentiment`` run (``params.npz`` and its
  vocabulary); inputs are SST-2 dev sentences embedded as the model does (``E[w_t]``): for
  each ``--B``, the longest length that ``B`` dev sentences share, so no padding is needed.

Each row names the model's metric (test MSE, dev accuracy). A trained model's iterations
may grow with ``T`` (long memory), so instead of being skipped for time its Newton call is
capped at the iterations that fit in ``--max-call-s`` (``why_not(..., cap=True)``) and the
row says whether it converged. Results: ``--json`` (default
``benchmarks/results/newton_trained.json``) and ``.md``.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from benchmarks.newton import Cell, measure, why_not, write

TASKS = ("adding", "sentiment")
KEYS = ("task", "model", "metric", "jacobian", "B", "T", "d_h")


def trained_models(run_dir: str | Path, task: str) -> list[tuple[str, dict, dict, int]]:
    """``[(model, params, final metrics, trained T)]`` of each LSTM/GRU in a finished run.

    Raises:
        ValueError: ``task`` is not one of :data:`TASKS`, or the run holds no LSTM/GRU.
    """
    from experiments.core.args import load_config
    from experiments.core.run import Run
    from experiments.core.train import train

    path = Path(run_dir)
    out = []
    if task == "adding":
        from experiments.configs import AddingConfig
        from experiments.tasks import adding

        cfg = load_config(AddingConfig, path / "config.json")
        for model, T in itertools.product(cfg.models, cfg.T_values):
            sub = Run(path / f"{model}_T{T}", resuming=True)
            if model in ("lstm", "gru") and (sub.path / "final.json").is_file():
                prob = adding.problem(cfg, model, T, cfg.hidden, cfg.test_size)
                result = train(cfg, prob, sub)  # a finished run: restored, not trained
                out.append((model, result.params, result.metrics, T))
    elif task == "sentiment":
        from experiments.tasks import sentiment

        for model in ("lstm", "gru"):
            if (path / model / "params.npz").is_file():
                cfg, _, params = sentiment.load_run(str(path), model)
                final = json.loads((path / model / "final.json").read_text())
                out.append((model, params, final, max(cfg.buckets)))
    else:
        raise ValueError(f"--trained: expected a task in {TASKS}, got {task!r}")
    if not out:
        raise ValueError(f"--trained {task}={path}: expected a finished run with an lstm or gru")
    return out


def adding_inputs(run_dir: str | Path, B: int, T: int) -> np.ndarray:
    """``(B, T, 2)`` adding sequences of the run's test stream."""
    from experiments.configs import AddingConfig
    from experiments.core.args import load_config
    from experiments.tasks.adding import TEST_STREAM, make_batch

    cfg = load_config(AddingConfig, Path(run_dir) / "config.json")
    return make_batch(cfg.seed, TEST_STREAM, 0, B, T)[0]


def sentence_ids(run_dir: str | Path, B: int) -> np.ndarray:
    """Token ids ``(B, L)`` of ``B`` SST-2 dev sentences of one length ``L``, the longest
    that ``B`` of them share (the run's vocabulary and data)."""
    from experiments.configs import SentimentConfig
    from experiments.core.args import load_config
    from experiments.data.text import Vocab
    from experiments.tasks import sentiment

    cfg = load_config(SentimentConfig, Path(run_dir) / "config.json")
    vocab = Vocab.load(Path(run_dir) / "vocab.json")
    dev = sentiment.encode(vocab, sentiment.load_sst2(cfg)[2])[0]
    counts = Counter(len(s) for s in dev)
    L = max(n for n, k in counts.items() if k >= B)
    return np.array([s for s in dev if len(s) == L][:B], np.int32)


def _metric(task: str, final: dict) -> str:
    if task == "adding":
        return f"test MSE {final['test_mse']:.2g}"
    return f"dev acc {final['dev_acc']:.3f}"


def rows_for(task: str, run_dir: str, args: Any) -> list[dict]:
    """Measured rows of one trained run over ``args.B``, ``args.T`` (adding) and
    ``args.jacobians``, with the grid's limits (``--max-gb``, ``--max-call-s``)."""
    rows, last = [], {}
    for model, params, final, T_train in trained_models(run_dir, task):
        c, p = Cell(model), params["cell"]
        d_h = p.f.W.shape[0] if model == "lstm" else p.z.W.shape[0]
        for jac, B in itertools.product(args.jacobians, args.B):
            if task == "adding":
                Ts = sorted({T_train, *args.T})
                inputs = [(T, adding_inputs(run_dir, B, T)) for T in Ts]
            else:
                ids = sentence_ids(run_dir, B)
                inputs = [(ids.shape[1], np.asarray(params["embed"])[ids])]
            for T, xs in inputs:
                row = {"task": task, "model": model, "metric": _metric(task, final),
                       "jacobian": jac, "B": B, "T": T, "d_h": d_h}  # fmt: skip
                ref = last.get((model, jac))
                D_ref = 0 if ref is None else c.D_per_h * ref["d_h"]
                row.update(why_not(jac, B, T, c.D_per_h * d_h, args.max_gb, args.max_call_s,
                                   ref, D_ref, cap=True))  # fmt: skip
                skip, cap = row.get("skipped", ""), row.pop("max_iters", None)
                row.update(measure(c, p, jnp.asarray(xs), jac, args.reps, args.budget_s, skip, cap))
                if row.get("converged"):
                    last[(model, jac)] = row
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def run(args: Any, env: dict) -> list[dict]:
    """``--trained task=RUN_DIR,...``: every trained model's rows, written to ``--json``."""
    out = args.json or Path("benchmarks/results/newton_trained.json")
    rows: list[dict] = []
    for spec in args.trained:
        task, _, run_dir = spec.partition("=")
        rows += rows_for(task, run_dir, args)
        write(out, env, rows, KEYS)
    return rows
