"""``python -m benchmarks.cell_loops [SHAPE ...]``: jaxrnn's cells inside Flax's ``nn.RNN``,
with the products of the step kept apart on CPU (:func:`jaxrnn._src.ops.mul`) and without.

A loop of single steps is what ``nn.RNN(jaxrnn.linen.LSTMCell(...))`` runs, and what a
user's ``lax.scan`` of ``jaxrnn.lstm_step`` runs. For each cell, in one process, timed
interleaved call by call (``benchmarks.harness``), float32, ``d_in = d_h``:

- ``kept apart``: the cell as it is (on CPU each product ``M v`` is an
  ``optimization_barrier`` away from the gate that reads it);
- ``plain``: the same model, traced with ``jaxrnn._src.ops.mul`` replaced by ``v @ M.T``
  (what the steps computed before), so XLA may fuse the product into the gate.

Forward, and forward+backward (the gradient of the sum of all outputs with respect to every
weight). Each ``plain`` output is checked against ``kept apart`` (``CHECK_TOL``) before
timing. Shapes ``(B, T, d_h)``: ``b1`` (1, 1000, 128) and ``b16`` (16, 1000, 128); ``tiny``
is a smoke test.

Prints the table row by row; writes ``cell_loops.json`` (median ms per shape, cell, variant
and pass, the run's ``meta``) and ``cell_loops.md`` (the table) to ``--out`` (default
``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import run_meta, timed_rounds
from benchmarks.peers import Peer
from jaxrnn._src import ops

SHAPES = {"b1": (1, 1000, 128), "b16": (16, 1000, 128), "tiny": (2, 12, 8)}
CELL_NAMES = ("RNNCell", "LSTMCell", "GRUCell", "MinGRUCell", "MinLSTMCell")
CHECK_TOL = 1e-4  # float32 outputs, plain against kept apart, absolute
OUT = Path(__file__).parent / "results"
HEADER = ("| shape (B, T, d_h) | cell | barrier fwd / fwd+bwd ms | plain `v @ M.T` | "
          "plain / barrier |\n|---|---|---:|---:|---:|")  # fmt: skip


@contextlib.contextmanager
def plain_products():
    """Trace the steps with ``v @ M.T`` (no barrier) while inside."""
    saved = ops._kept_apart
    ops._kept_apart = ops._plain  # jaxrnn._src.ops.mul reads it when a step is traced
    try:
        yield
    finally:
        ops._kept_apart = saved


def variants(cell_name: str, shape: tuple[int, int, int]) -> dict[str, tuple]:
    """``{variant: (forward, forward+backward)}``, compiled, inputs bound."""
    import flax.linen as nn

    from jaxrnn import linen

    B, T, d_h = shape
    model = nn.RNN(getattr(linen, cell_name)(d_h))
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h))
    variables = model.init(jax.random.key(0), xs)

    def grad(v, x):
        return jax.grad(lambda v: model.apply(v, x).sum())(v)

    out = {}
    for name, context in (("kept apart", contextlib.nullcontext), ("plain", plain_products)):
        with context():
            compiled = [jax.jit(f).lower(variables, xs).compile() for f in (model.apply, grad)]
        out[name] = tuple(functools.partial(f, variables, xs) for f in compiled)
    return out


def bench(cell_name: str, shape: tuple[int, int, int], budget_s: float = 8.0) -> dict:
    """``{variant: {"fwd": ms, "grad": ms}}`` (medians); raises if ``plain`` differs."""
    fns = variants(cell_name, shape)
    err = float(jnp.max(jnp.abs(fns["plain"][0]() - fns["kept apart"][0]())))
    if not err <= CHECK_TOL:
        raise ValueError(f"{cell_name}: expected outputs within {CHECK_TOL}, got {err}")
    impls = [Peer(name, fwd, grad) for name, (fwd, grad) in fns.items()]
    times = timed_rounds(impls, sys.maxsize, budget_s)
    return {name: {m: 1e3 * float(np.median(times[(name, m)])) for m in ("fwd", "grad")}
            for name in fns}  # fmt: skip


def row(r: dict) -> str:
    """One line of the table for one result of :func:`main`."""
    k, p = r["ms"]["kept apart"], r["ms"]["plain"]
    return (f"| {r['name']} {tuple(r['shape'])} | {r['cell']} | {k['fwd']:.2f} / {k['grad']:.2f} "
            f"| {p['fwd']:.2f} / {p['grad']:.2f} | {p['fwd'] / k['fwd']:.2f}x / "
            f"{p['grad'] / k['grad']:.2f}x |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cell_loops", description=__doc__)
    ap.add_argument("shapes", nargs="*", help=f"names from {list(SHAPES)} (default: b1 b16)")
    ap.add_argument("--out", default=str(OUT), help="directory of the results files")
    args = ap.parse_args(argv)
    names = args.shapes or ["b1", "b16"]
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        print(f"error: expected shapes from {list(SHAPES)}, got {unknown}", file=sys.stderr)
        return 2
    started, load_start, results = time.time(), os.getloadavg(), []
    print(HEADER, flush=True)
    for name in names:
        for cell_name in CELL_NAMES:
            ms = bench(cell_name, SHAPES[name], budget_s=0.0 if name == "tiny" else 8.0)
            results.append({"name": name, "shape": list(SHAPES[name]), "cell": cell_name,
                            "ms": ms})  # fmt: skip
            print(row(results[-1]), flush=True)
    meta = run_meta(started, shapes=names, loadavg_start=load_start)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cell_loops.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / "cell_loops.md").write_text("\n".join([HEADER, *map(row, results)]) + "\n")
    print(f"wrote {out}/cell_loops.json and cell_loops.md in {meta['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
