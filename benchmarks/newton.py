"""Newton over time (``method="newton"``) against the sequential fast loops.

``python -m benchmarks.newton --B 1,16 --T 1000,10000 --d-h 8,32`` (every grid axis is a
flag; defaults: the issue's grid, B in {1, 16}, T in {1,000, 10,000, 100,000}, d_h in
{8, 32, 128}) times the forward pass of the sequential scan (``rnn_scan`` / ``lstm_scan`` /
``gru_scan``) and of Newton's solver as the scans call it with ``method="newton"`` (full
Jacobians) or ``"newton-diagonal"`` (the cell's analytic Jacobian diagonal), for each cell,
weight kind and Jacobian. One Newton call gives its time, its iterations (max over the
batch) and its states, whose largest difference from the sequential states is recorded.
Calls are interleaved (sequential, Newton, sequential, ...); median of up to ``--reps``,
fewer once ``--budget-s`` is spent. Run timings under ``flock /tmp/bench.lock``.

Weights: ``random`` is the library's initialisation (orthogonal ``W``, Glorot ``U``);
``trained`` imitates a trained model with long memory (recurrent and input weights halved,
for the LSTM forget-gate bias +3). The experiments' real trained models:
``--trained adding=RUN_DIR,sentiment=RUN_DIR`` (:mod:`benchmarks.newton_trained`).

What does not run is said in the table, not dropped: a configuration whose working set
(:func:`memory_gib`; ``B·T·D²`` floats of full Jacobians, ``D`` = d_h, or 2 d_h for the
LSTM's ``(h, C)``) is over ``--max-gb``, or whose Newton call would take longer than
``--max-call-s``, estimated from the last measured configuration of the same cell and
Jacobian scaled by the work (:func:`work`). Results: ``--json`` (default
``benchmarks/results/newton.json``) and a markdown table next to it (``.md``), rewritten
after every configuration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn._src.newton import default_tol, newton_carries

CELLS = ("rnn", "lstm", "gru")
GIB = 2**30


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def _words(text: str) -> list[str]:
    return [v for v in text.split(",") if v]


class Cell:
    """A cell as the benchmark needs it: ``step(p, carry, x_t)`` and its Jacobian diagonal
    ``diag`` (those the scans' Newton path uses), ``carry0(B, d_h)``, ``seq(p, xs)`` (the
    sequential scan's states ``h``) and ``h(carries)`` (the same from Newton's carries)."""

    def __init__(self, kind: str) -> None:
        if kind not in CELLS:
            raise ValueError(f"cell: expected one of {CELLS}, got {kind!r}")
        self.kind, self.D_per_h = kind, 2 if kind == "lstm" else 1
        zeros = lambda B, d: jnp.zeros((B, d), jnp.float32)  # noqa: E731
        cell = jaxrnn.get_cell(kind)
        self.step = lambda p, carry, x_t: cell.step(p, carry, x_t)[0]
        self.diag = cell.jacobian_diagonal
        if kind == "lstm":
            self.carry0 = lambda B, d: jaxrnn.LSTMState(h=zeros(B, d), C=zeros(B, d))
            self.seq = lambda p, xs: jaxrnn.lstm_scan(p, xs)[1]
            self.h = lambda c: c.h
        else:
            scan = {"rnn": jaxrnn.rnn_scan, "gru": jaxrnn.gru_scan}[kind]
            self.carry0, self.seq, self.h = zeros, lambda p, xs: scan(p, xs)[1], lambda c: c

    def params(self, weights: str, d_in: int, d_h: int) -> Any:
        key = jax.random.key(0)
        if self.kind == "rnn":
            p = jaxrnn.init_rnn_params(key, d_in, d_h, 1)
        else:
            p = {"lstm": jaxrnn.init_lstm_params, "gru": jaxrnn.init_gru_params}[self.kind](
                key, d_in, d_h
            )
        if weights == "trained":
            if self.kind == "lstm":
                p = p._replace(f=p.f._replace(b=p.f.b + 3.0))
            p = jax.tree.map(lambda a: 0.5 * a if a.ndim == 2 else a, p)
        return p


def work(jacobian: str, B: int, T: int, D: int) -> float:
    """Work of one Newton call, up to a constant: ``B·T·D³`` (full: ``D x D`` matrix products
    in the scan) or ``B·T·D²`` (diagonal: the step's matrix-vector products dominate)."""
    return B * T * D ** (3 if jacobian == "full" else 2)


def memory_gib(jacobian: str, B: int, T: int, D: int) -> float:
    """Working set of a Newton call in GiB (float32): full Jacobians ``B·T·D²`` about three
    times over (the Jacobians, the associative scan's partial products, its output) plus
    ``~10`` vectors of ``B·T·D`` (inputs, states, residuals, diagonals, scan temporaries)."""
    per_step = (3 * D * D if jacobian == "full" else 0) + 10 * D
    return 4 * B * T * per_step / GIB


def newton_fn(c: Cell, jacobian: str, max_iters: int | None = None) -> Callable:
    """``(p, carry0, xs) -> (carries, iterations, residual)``: the solver call of the scans'
    Newton path (:func:`jaxrnn._src.newton.newton_carries` with the cell's analytic
    diagonal); ``max_iters`` caps the iterations (the scans' cap is ``T``)."""

    def run(p, carry0, xs):
        step = lambda c_, x: c.step(p, c_, x)  # noqa: E731
        diag = lambda c_, x: c.diag(p, c_, x)  # noqa: E731
        _, carries, k, res = newton_carries(step, carry0, xs, None, jacobian=jacobian,
                                            damping=0.0, tol=None, max_iters=max_iters,
                                            diag_fn=diag)  # fmt: skip
        return carries, k, res

    return jax.jit(run)


def _seconds(fn, *args) -> tuple[float, Any]:
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - start, out


def measure(c: Cell, p, xs, jacobian: str, reps: int, budget_s: float, skip: str = "",
            max_iters: int | None = None) -> dict:  # fmt: skip
    """Times, iterations and error of Newton against the sequential scan on ``xs (B, T, d)``.

    ``skip`` (a reason): time only the sequential scan and report Newton as not run.
    ``max_iters``: cap Newton's iterations; ``converged`` says whether every residual still
    reached the tolerance (if not, the time is a lower bound and the error is large).
    """
    seq = jax.jit(c.seq)
    first_seq, want = _seconds(seq, p, xs)  # compiles
    B, d_h = want.shape[0], want.shape[-1]
    if skip:
        return {"skipped": skip, "seq_ms": 1e3 * _seconds(seq, p, xs)[0],
                "seq_first_ms": 1e3 * first_seq}  # fmt: skip
    newton = newton_fn(c, jacobian, max_iters)
    carry0 = c.carry0(B, d_h)
    first_newton, (carries, k, res) = _seconds(newton, p, carry0, xs)  # compiles
    err = np.max(np.abs(np.asarray(c.h(carries)) - np.asarray(want)))
    done = bool(np.all(np.asarray(res) <= default_tol(xs.dtype)))
    row = {"iterations": int(np.max(k)), "iterations_min": int(np.min(k)),
           "max_abs_err": float(err), "converged": done}  # fmt: skip
    if max_iters is not None:
        row["max_iters"] = max_iters
    times: dict[str, list[float]] = {"seq": [], "newton": []}
    start = time.perf_counter()
    for _ in range(reps):
        times["seq"].append(_seconds(seq, p, xs)[0])
        times["newton"].append(_seconds(newton, p, carry0, xs)[0])
        if time.perf_counter() - start > budget_s:
            break
    row["seq_ms"] = 1e3 * statistics.median(times["seq"])
    row["newton_ms"] = 1e3 * statistics.median(times["newton"])
    row["newton_over_seq"] = row["newton_ms"] / row["seq_ms"]
    row["compile_s"] = round(first_newton - row["newton_ms"] / 1e3, 1)
    return row


def why_not(jacobian: str, B: int, T: int, D: int, max_gb: float, max_call_s: float | None,
            ref: dict | None, D_ref: int = 0, cap: bool = False) -> dict:  # fmt: skip
    """``{}`` when a Newton call may run, else ``{"skipped": reason, ...}``: its working set
    (:func:`memory_gib`) is over ``max_gb``, or its time, estimated from the measured row
    ``ref`` (state size ``D_ref``) scaled by :func:`work` (and by ``T``, when ``ref``
    took over ``T/4`` iterations), is over ``max_call_s``. With ``cap``, instead of a
    time estimate, ``{"max_iters": n}``: the iterations that fit in ``max_call_s`` at
    ``ref``'s time per iteration scaled by the work (when under ``T``), so that models whose
    iterations grow with ``T`` (long memory) still run, capped and said so."""
    mem = memory_gib(jacobian, B, T, D)
    if mem > max_gb:
        jac = f"full Jacobians {4 * B * T * D * D / GIB:.1f} GiB, " if jacobian == "full" else ""
        return {"skipped": f"needs ~{mem:.1f} GiB ({jac}limit {max_gb:g} GiB)",
                "memory_gib": round(mem, 1)}  # fmt: skip
    if ref is None or max_call_s is None:
        return {}
    scale = work(jacobian, B, T, D) / work(jacobian, ref["B"], ref["T"], D_ref)
    if cap:
        per_iter_s = ref["newton_ms"] / 1e3 / max(ref["iterations"], 1) * scale
        n = int(max_call_s / per_iter_s)
        if n < 1:
            return {"skipped": f"est. {per_iter_s:.3g} s per iteration (> {max_call_s:g} s)",
                    "est_newton_s": per_iter_s}  # fmt: skip
        return {"max_iters": n} if n < T else {}
    if 4 * ref["iterations"] > ref["T"]:  # far from T-independent: assume they grow as T
        scale *= max(1.0, T / ref["T"])
    est_s = ref["newton_ms"] / 1e3 * scale
    if est_s <= max_call_s:
        return {}
    since = f"from B={ref['B']} T={ref['T']} d_h={ref['d_h']} by work"
    reason = f"est. {est_s:.3g} s per call (> {max_call_s:g} s; {since})"
    return {"skipped": reason, "est_newton_s": est_s}


def run_config(kind, weights, jacobian, B, T, d_h, reps, budget_s, max_gb, max_call_s=None,
               last=None) -> dict:  # fmt: skip
    """One grid row; ``last`` (``{(cell, weights, jacobian): row}``) holds the measured row the
    time estimate is scaled from, updated when this row is measured."""
    row = {"cell": kind, "weights": weights, "jacobian": jacobian, "B": B, "T": T, "d_h": d_h}
    c = Cell(kind)
    ref = None if last is None else last.get((kind, weights, jacobian))
    D_ref = 0 if ref is None else c.D_per_h * ref["d_h"]
    row.update(why_not(jacobian, B, T, c.D_per_h * d_h, max_gb, max_call_s, ref, D_ref))
    p = c.params(weights, d_h, d_h)
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h), jnp.float32)
    row.update(measure(c, p, xs, jacobian, reps, budget_s, row.get("skipped", "")))
    if "est_newton_s" in row:
        row["est_newton_over_seq"] = 1e3 * row["est_newton_s"] / row["seq_ms"]
    if "newton_ms" in row and last is not None:
        last[(kind, weights, jacobian)] = row
    return row


def _cell_text(r: dict) -> str:
    if "skipped" in r:
        est = r.get("est_newton_over_seq")
        ratio = "" if est is None else f"~{est:.3g}x (est.)"
        return f"| not run: {r['skipped']} | | {r['seq_ms']:.1f} | | {ratio} |"
    done = r.get("converged", True)
    k, more = (r["iterations"], "") if done else (f"> {r['iterations']} (capped)", "> ")
    return (f"| {k} | {r['max_abs_err']:.1e} | {r['seq_ms']:.1f} "
            f"| {more}{r['newton_ms']:.1f} | {more}{r['newton_over_seq']:.2f} |")  # fmt: skip


def markdown(rows: list[dict], keys=("cell", "weights", "jacobian", "B", "T", "d_h")) -> str:
    head = "| " + " | ".join(keys) + " | iterations | max abs err | seq ms | newton ms "
    head += "| newton / seq |\n" + "|---" * (len(keys) + 5) + "|\n"
    lines = ["| " + " | ".join(str(r[k]) for k in keys) + " " + _cell_text(r) for r in rows]
    return head + "\n".join(lines) + "\n"


def environment(argv) -> dict:
    """Where and how it ran; ``loadavg_start`` (and ``loadavg_end`` in :func:`write`): the
    machine's 1/5/15-minute load averages, other processes included."""
    return {"platform": platform.platform(), "device": str(jax.devices()[0]),
            "jax": jax.__version__, "argv": sys.argv[1:] if argv is None else argv,
            "cpus": os.cpu_count(), "loadavg_start": os.getloadavg()}  # fmt: skip


def write(path: Path, env: dict, rows: list[dict], keys=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**env, "loadavg_end": os.getloadavg()}
    path.write_text(json.dumps({"environment": env, "results": rows}, indent=1))
    path.with_suffix(".md").write_text(markdown(rows, *([keys] if keys else [])))


def parser() -> argparse.ArgumentParser:
    """The command line (every grid axis a comma-separated flag)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=_words, default=["rnn", "lstm"])
    ap.add_argument("--weights", type=_words, default=["random"])
    ap.add_argument("--jacobians", type=_words, default=["full", "diagonal"])
    ap.add_argument("--B", type=_ints, default=[1, 16])
    ap.add_argument("--T", type=_ints, default=[1000, 10000, 100000])
    ap.add_argument("--d-h", type=_ints, default=[8, 32, 128])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=10.0, help="timing seconds per config")
    ap.add_argument("--max-gb", type=float, default=6.0, help="working-set limit, GiB")
    ap.add_argument("--max-call-s", type=float, default=15.0, help="estimated Newton call limit")
    ap.add_argument("--trained", type=_words, default=[], help="adding=RUN,sentiment=RUN")
    ap.add_argument("--json", type=Path, default=None)
    return ap


def main(argv: list[str] | None = None) -> list[dict]:
    args = parser().parse_args(argv)
    env = environment(argv)
    if args.trained:
        from benchmarks import newton_trained

        return newton_trained.run(args, env)
    out = args.json or Path("benchmarks/results/newton.json")
    rows: list[dict] = []
    last: dict = {}
    grid = itertools.product(args.cells, args.weights, args.jacobians, args.B, args.d_h, args.T)
    for kind, weights, jac, B, d_h, T in grid:
        row = run_config(kind, weights, jac, B, T, d_h, args.reps, args.budget_s, args.max_gb,
                         args.max_call_s, last)  # fmt: skip
        print(json.dumps(row), flush=True)
        rows.append(row)
        write(out, env, rows)
    return rows


if __name__ == "__main__":
    main()
