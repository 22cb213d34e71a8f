"""Every registered cell's sequence path against a plain ``lax.scan`` of its own step.

``python -m benchmarks.own_step [--shapes small,medium] [--cells lstm,gru] [--budget S]``

For each cell (``jaxrnn.cell_names()``) and shape, two implementations of the same function,
timed interleaved call by call in one process (:mod:`benchmarks.harness`):

- ``jaxrnn``: ``jaxrnn.cell_scan`` as the family's ``*_scan`` runs it (its fast loop, or the
  parallel form for a cell linear in its carry);
- ``plain``: ``jax.lax.scan`` of the cell's ``step`` over time-major inputs, differentiated
  by JAX (what a user writing the loop by hand would get).

Prints and writes ``benchmarks/results/own_step.json`` and ``own_step.md``: milliseconds per
call (median) and the ratio ``jaxrnn / plain`` (below 1: the library's path is faster).
Forward and forward+backward (the gradient of ``ys.sum()`` in every parameter).
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks.harness import QUICK_SHAPES, SHAPES, timed_rounds
from benchmarks.peers import Peer

OUT = Path(__file__).resolve().parent / "results"
CHECK_TOL = 1e-4  # float32 outputs of the two paths, absolute


def _paths(cell: jaxrnn.Cell, B: int, T: int, d: int) -> tuple[Peer, Peer]:
    params = cell.init(jax.random.key(0), d, d)
    xs = jax.random.normal(jax.random.key(1), (B, T, d))
    method = "parallel" if cell.coefficients is not None else "sequential"

    def fast(p, x):
        return jaxrnn.cell_scan(p, x, method=method)[1]

    def plain(p, x):
        carry0 = cell.initial_carry(cell.dims(p), (B,), x.dtype)
        _, ys = jax.lax.scan(lambda c, x_t: cell.step(p, c, x_t), carry0, jnp.swapaxes(x, 0, 1))
        return jnp.swapaxes(ys, 0, 1)

    def peer(name: str, fn: Any) -> Peer:
        fwd = jax.jit(fn)
        grad = jax.jit(jax.grad(lambda p, x: fn(p, x).sum()))
        return Peer(name, functools.partial(fwd, params, xs), functools.partial(grad, params, xs))

    return peer("jaxrnn", fast), peer("plain", plain)


def bench(cell_name: str, shape: tuple[int, int, int], budget_s: float) -> dict[str, float]:
    """Median ms per ``(path, mode)``; raises if the two paths' outputs differ."""
    cell = jaxrnn.get_cell(cell_name)
    fast, plain = _paths(cell, *shape)
    err = float(jnp.max(jnp.abs(fast.forward() - plain.forward())))
    if err > CHECK_TOL:
        raise ValueError(f"{cell_name} {shape}: the two paths differ by {err} > {CHECK_TOL}")
    for impl in (fast, plain):  # compile both modes before timing
        jax.block_until_ready(impl.grad())
    times = timed_rounds([fast, plain], 1000, budget_s)
    return {f"{name} {mode}": 1e3 * float(np.median(t)) for (name, mode), t in times.items()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.own_step", description=__doc__)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="names from the harness")
    parser.add_argument("--cells", default="", help="registered cell names (default: all)")
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per cell and shape")
    parser.add_argument("--out", default=str(OUT), help="directory of the results files")
    args = parser.parse_args(argv)
    shapes = {**SHAPES, **QUICK_SHAPES}
    names = [s for s in args.shapes.split(",") if s]
    cells = [c for c in args.cells.split(",") if c] or list(jaxrnn.cell_names())
    unknown = [n for n in names if n not in shapes] + [c for c in cells
                                                         if c not in jaxrnn.cell_names()]
    if unknown:
        print(f"error: unknown shapes or cells {unknown}", file=sys.stderr)
        raise SystemExit(2)
    rows = []
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for cell in cells:
        for name in names:
            try:
                ms = bench(cell, shapes[name], args.budget)
            except Exception as e:  # e.g. a plain scan of a large layer out of memory
                print(f"{cell:8s} {name:7s} failed: {type(e).__name__}: {str(e)[:200]}",
                      flush=True)  # fmt: skip
                continue
            row = {"cell": cell, "shape": name, "B_T_d": shapes[name], **ms,
                   "fwd ratio": ms["jaxrnn fwd"] / ms["plain fwd"],
                   "grad ratio": ms["jaxrnn grad"] / ms["plain grad"]}  # fmt: skip
            rows.append(row)
            print(f"{cell:8s} {name:7s} fwd {ms['jaxrnn fwd']:8.2f} / {ms['plain fwd']:8.2f} ms "
                  f"= {row['fwd ratio']:.2f}x   fwd+bwd {ms['jaxrnn grad']:8.2f} / "
                  f"{ms['plain grad']:8.2f} ms = {row['grad ratio']:.2f}x", flush=True)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"started": start, "machine": platform.processor() or platform.machine(),
            "devices": str(jax.devices()), "jax": jax.__version__, "argv": argv}  # fmt: skip
    (out / "own_step.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["| cell | shape (B, T, d) | fwd jaxrnn / plain | fwd+bwd jaxrnn / plain |",
             "|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['cell']} | {r['shape']} {tuple(r['B_T_d'])} | "
                     f"{r['jaxrnn fwd']:.2f} / {r['plain fwd']:.2f} ms ({r['fwd ratio']:.2f}x) | "
                     f"{r['jaxrnn grad']:.2f} / {r['plain grad']:.2f} ms "
                     f"({r['grad ratio']:.2f}x) |")  # fmt: skip
    (out / "own_step.md").write_text("\n".join(lines) + "\n")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main(sys.argv[1:])
