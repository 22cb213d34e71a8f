"""Newton over time (``jaxrnn.newton_scan``) against the sequential fast loops.

``python -m benchmarks.newton --B 1,16 --T 1000,10000 --d-h 8,32`` (every grid axis is a
flag; defaults: the issue's full grid, too big for a small CPU) times the forward pass of
each scan (``rnn_scan`` / ``lstm_scan`` / ``gru_scan`` when present) with
``method="sequential"`` and with ``method="newton"`` (full Jacobians) or
``"newton-diagonal"``, for each cell, weight kind and Jacobian; it records the Newton
iterations (max over the batch, from ``jaxrnn.newton_scan`` on the same cell step), the
largest difference from the sequential states, and the median time of each (calls
interleaved: sequential, Newton, sequential, ...). Run timings under
``flock /tmp/bench.lock`` on a shared machine.

Weights: ``random`` is the library's initialisation (orthogonal ``W``, Glorot ``U``);
``trained`` imitates a trained model with long memory: recurrent and input weights
halved (contracting dynamics) and, for the LSTM, forget-gate bias +3. ``full`` Jacobians
take ``B·T·D²`` floats (``D`` = d_h, or 2 d_h for the LSTM's ``(h, C)``): configurations
above ``--max-full-gb`` are skipped and reported as such.

Results: ``--json`` (default ``benchmarks/results/newton.json``) and a markdown table
next to it (``.md``), rewritten after every configuration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

CELLS = ("rnn", "lstm", "gru")


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def _words(text: str) -> list[str]:
    return [v for v in text.split(",") if v]


def cell(kind: str, weights: str, d_h: int, dtype=jnp.float32):
    """``(params, step_fn(params, carry, x_t), carry0_fn(batch), scan(params, xs, method))``."""
    key = jax.random.key(0)
    if kind == "rnn":
        p = jaxrnn.init_rnn_params(key, d_h, d_h, 1)
        step = lambda p, s, x: jaxrnn.rnn_step(p, s, x)[0]  # noqa: E731
        carry0 = lambda batch: jnp.zeros((*batch, d_h), dtype)  # noqa: E731
        seq = lambda p, xs, m: jaxrnn.rnn_scan(p, xs, method=m)[1]  # noqa: E731
    elif kind == "lstm":
        p = jaxrnn.init_lstm_params(key, d_h, d_h)
        if weights == "trained":
            p = p._replace(f=p.f._replace(b=p.f.b + 3.0))
        step = lambda p, c, x: jaxrnn.lstm_step(p, c, x)[0]  # noqa: E731
        zeros = lambda batch: jnp.zeros((*batch, d_h), dtype)  # noqa: E731
        carry0 = lambda batch: jaxrnn.LSTMState(h=zeros(batch), C=zeros(batch))  # noqa: E731
        seq = lambda p, xs, m: jaxrnn.lstm_scan(p, xs, method=m)[1]  # noqa: E731
    elif kind == "gru" and hasattr(jaxrnn, "gru_scan"):
        p = jaxrnn.init_gru_params(key, d_h, d_h)
        step = lambda p, s, x: jaxrnn.gru_step(p, s, x)[0]  # noqa: E731
        carry0 = lambda batch: jnp.zeros((*batch, d_h), dtype)  # noqa: E731
        seq = lambda p, xs, m: jaxrnn.gru_scan(p, xs, method=m)[1]  # noqa: E731
    else:
        raise ValueError(f"unknown or unavailable cell {kind!r} (expected one of {CELLS})")
    p = jax.tree.map(lambda a: a.astype(dtype), p)
    if weights == "trained":
        p = jax.tree.map(lambda a: 0.5 * a if a.ndim == 2 else a, p)
    return p, step, carry0, seq


def _time(fn, *args) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def run_config(kind, weights, jacobian, B, T, d_h, reps, budget_s, max_full_gb) -> dict:
    row = {"cell": kind, "weights": weights, "jacobian": jacobian, "B": B, "T": T, "d_h": d_h}
    D = 2 * d_h if kind == "lstm" else d_h
    if jacobian == "full" and 4 * B * T * D * D / 2**30 > max_full_gb:
        return {**row, "skipped": f"full Jacobians need {4 * B * T * D * D / 2**30:.1f} GiB"}
    p, step, carry0, scan = cell(kind, weights, d_h)
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h), jnp.float32)
    sequential = jax.jit(lambda p, xs: scan(p, xs, "sequential"))
    method = "newton" if jacobian == "full" else "newton-diagonal"
    newton = jax.jit(lambda p, xs: scan(p, xs, method))

    @jax.jit
    def info(p, xs):
        step_p = lambda c, x: step(p, c, x)  # noqa: E731
        return jaxrnn.newton_scan(step_p, carry0((B,)), xs, jacobian=jacobian)[2]

    want = sequential(p, xs)  # first calls compile
    row["iterations"] = int(info(p, xs).iterations.max())
    row["max_abs_err"] = float(np.max(np.abs(np.asarray(newton(p, xs)) - np.asarray(want))))
    times = {"seq": [], "newton": []}
    start = time.perf_counter()
    for r in range(reps):
        times["seq"].append(_time(sequential, p, xs))
        times["newton"].append(_time(newton, p, xs))
        if r >= 1 and time.perf_counter() - start > budget_s:
            break
    row["seq_ms"] = 1e3 * statistics.median(times["seq"])
    row["newton_ms"] = 1e3 * statistics.median(times["newton"])
    row["newton_over_seq"] = row["newton_ms"] / row["seq_ms"]
    return row


def markdown(rows: list[dict]) -> str:
    head = ("| cell | weights | jacobian | B | T | d_h | iterations | max abs err | seq ms "
            "| newton ms | newton / seq |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in rows:
        key = "| " + " | ".join(str(r[k]) for k in ("cell", "weights", "jacobian", "B", "T", "d_h"))
        key += " "
        if "skipped" in r:
            lines.append(key + f"| skipped: {r['skipped']} | | | | |")
        else:
            lines.append(key + f"| {r['iterations']} | {r['max_abs_err']:.1e} | {r['seq_ms']:.1f} "
                         f"| {r['newton_ms']:.1f} | {r['newton_over_seq']:.2f} |")
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=_words, default=list(CELLS))
    ap.add_argument("--weights", type=_words, default=["random", "trained"])
    ap.add_argument("--jacobians", type=_words, default=["full", "diagonal"])
    ap.add_argument("--B", type=_ints, default=[1, 16])
    ap.add_argument("--T", type=_ints, default=[1000, 10000, 100000])
    ap.add_argument("--d-h", type=_ints, default=[8, 32, 128])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--budget-s", type=float, default=20.0, help="timing seconds per config")
    ap.add_argument("--max-full-gb", type=float, default=1.0)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/results/newton.json"))
    args = ap.parse_args(argv)
    cells = [c for c in args.cells if c != "gru" or hasattr(jaxrnn, "gru_scan")]
    env = {"platform": platform.platform(), "device": str(jax.devices()[0]),
           "jax": jax.__version__, "argv": argv}  # fmt: skip
    rows: list[dict] = []
    grid = itertools.product(cells, args.weights, args.jacobians, args.B, args.T, args.d_h)
    for kind, weights, jac, B, T, d_h in grid:
        row = run_config(kind, weights, jac, B, T, d_h, args.reps, args.budget_s,
                         args.max_full_gb)  # fmt: skip
        print(json.dumps(row), flush=True)
        rows.append(row)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "results": rows}, indent=1))
        args.json.with_suffix(".md").write_text(markdown(rows))
    return rows


if __name__ == "__main__":
    main()
