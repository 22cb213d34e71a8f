"""What resets and ``return_carries`` cost: every cell's call with them against without.

``python -m benchmarks.resets [--shapes small,medium] [--cells lstm,gru] [--budget S]``

For each registered cell and shape, in one process, interleaved call by call
(:mod:`benchmarks.harness`), the forward and forward+backward of ``jaxrnn.cell_scan``
(the family's fast loop, or its parallel form) three ways:

- ``plain``: no resets;
- ``resets``: a reset every ~50 steps in every row (episodes packed in one stream);
- ``carries``: ``return_carries=True`` (the loss reads every carry; for the LSTM the
  ``C_t`` sequence comes from its fast loop).

Writes ``benchmarks/results/resets.json`` and ``resets.md`` with the ratios to ``plain``;
the aim is at most 1.1x for both, forward+backward. A ratio is paired: the median over rounds
of (the variant's time / ``plain``'s time in the same round), with its quartiles, so that a
burst of load on a shared machine moves both times of a round together rather than the ratio.
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
import numpy as np

import jaxrnn
from benchmarks.harness import QUICK_SHAPES, SHAPES, timed_rounds
from benchmarks.peers import Peer

OUT = Path(__file__).resolve().parent / "results"
RESET_EVERY = 50  # steps between resets, about


def _peers(cell: jaxrnn.Cell, B: int, T: int, d: int) -> list[Peer]:
    params = cell.init(jax.random.key(0), d, d)
    xs = jax.random.normal(jax.random.key(1), (B, T, d))
    resets = jax.random.uniform(jax.random.key(2), (B, T)) < 1.0 / RESET_EVERY
    method = "parallel" if cell.coefficients is not None else "sequential"

    def plain(p, x):
        return jaxrnn.cell_scan(p, x, method=method)[1].sum()

    def with_resets(p, x):
        return jaxrnn.cell_scan(p, x, resets=resets, method=method)[1].sum()

    def with_carries(p, x):
        _, ys, carries = jaxrnn.cell_scan(p, x, method=method, return_carries=True)
        return ys.sum() + sum(c.real.sum() for c in jax.tree.leaves(carries))  # LRU: complex

    def peer(name: str, fn: Any) -> Peer:
        fwd, grad = jax.jit(fn), jax.jit(jax.grad(fn))
        return Peer(name, functools.partial(fwd, params, xs), functools.partial(grad, params, xs))

    return [peer("plain", plain), peer("resets", with_resets), peer("carries", with_carries)]


def bench(cell_name: str, shape: tuple[int, int, int], budget_s: float) -> dict[str, float]:
    """Median ms per ``(variant, mode)``, and per ``(variant, mode)`` other than ``plain`` the
    paired ratio's median and quartiles (keys ``"resets grad ratio"``, ``... q25``, ``... q75``)
    and the number of rounds."""
    impls = _peers(jaxrnn.get_cell(cell_name), *shape)
    for impl in impls:  # compile both modes before timing
        jax.block_until_ready((impl.forward(), impl.grad()))
    times = timed_rounds(impls, 1000, budget_s)
    out = {f"{name} {mode}": 1e3 * float(np.median(t)) for (name, mode), t in times.items()}
    for (name, mode), t in times.items():
        if name != "plain":
            ratios = np.asarray(t) / np.asarray(times[("plain", mode)])
            q25, q50, q75 = np.percentile(ratios, [25, 50, 75])
            out |= {f"{name} {mode} ratio": float(q50), f"{name} {mode} ratio q25": float(q25),
                    f"{name} {mode} ratio q75": float(q75)}  # fmt: skip
    out["rounds"] = len(times[("plain", "fwd")])
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.resets", description=__doc__)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="names from the harness")
    parser.add_argument("--cells", default="", help="registered cell names (default: all)")
    parser.add_argument("--budget", type=float, default=6.0, help="seconds per cell and shape")
    parser.add_argument("--out", default=str(OUT), help="directory of the results files")
    args = parser.parse_args(argv)
    shapes = {**SHAPES, **QUICK_SHAPES}
    names = [s for s in args.shapes.split(",") if s]
    cells = [c for c in args.cells.split(",") if c] or list(jaxrnn.cell_names())
    unknown = [n for n in names if n not in shapes] + [
        c for c in cells if c not in jaxrnn.cell_names()
    ]
    if unknown:
        print(f"error: unknown shapes or cells {unknown}", file=sys.stderr)
        raise SystemExit(2)
    start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = []
    for cell in cells:
        for name in names:
            ms = bench(cell, shapes[name], args.budget)
            row = {"cell": cell, "shape": name, "B_T_d": shapes[name], **ms}
            rows.append(row)
            print(f"{cell:8s} {name:7s} fwd+bwd: plain {ms['plain grad']:8.2f} ms, resets "
                  f"{row['resets grad ratio']:.2f}x, carries {row['carries grad ratio']:.2f}x; "
                  f"fwd: resets {row['resets fwd ratio']:.2f}x, carries "
                  f"{row['carries fwd ratio']:.2f}x", flush=True)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"started": start, "machine": platform.processor() or platform.machine(),
            "devices": str(jax.devices()), "jax": jax.__version__, "argv": argv,
            "reset_every": RESET_EVERY}  # fmt: skip
    (out / "resets.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    def ratio(r: dict, key: str) -> str:
        return f"{r[key]:.2f}x ({r[key + ' q25']:.2f}-{r[key + ' q75']:.2f})"

    lines = ["| cell | shape (B, T, d) | fwd+bwd, no resets | with resets | return_carries "
             "| rounds |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['cell']} | {r['shape']} {tuple(r['B_T_d'])} | "
                     f"{r['plain grad']:.2f} ms | {ratio(r, 'resets grad ratio')} | "
                     f"{ratio(r, 'carries grad ratio')} | {r['rounds']} |")  # fmt: skip
    (out / "resets.md").write_text("\n".join(lines) + "\n")
    return {"meta": meta, "rows": rows}


if __name__ == "__main__":
    main(sys.argv[1:])
