"""``python -m benchmarks.variants [SHAPE ...]``: ``lstm_scan``'s speed options side by side.

An A/B harness, timed interleaved call by call in one process, forward+backward (gradient of
the sum of the outputs w.r.t. the parameters and the inputs), float32, on the shapes of
:mod:`benchmarks.harness`, against the default ``lstm_scan`` (``unroll=1``):

- ``unroll=k``: ``lstm_scan(..., unroll=k)``.
- ``remat=k``: ``lstm_scan(..., remat=k)`` with ``k ~ sqrt(T)``: the memory-saving path
  (the same loops on segments of ``k`` steps, each recomputed in the backward pass), which
  shows what the recomputation costs.
- ``bfloat16``: parameters and inputs cast to bfloat16 (inside the timed function). On
  CPU the loops then run in float32 (:func:`jaxrnn._src.loops.common.cpu_float32`), so this shows
  the cost of the casts; its gradients are checked to ``BF16_TOL`` only.

XLA's CPU options change every variant alike; compare them by running this script under
different ``XLA_FLAGS`` (e.g. ``--xla_cpu_use_onednn=true``), each a separate process.

Prints a line per shape as it is timed, then the table; writes ``variants.json`` (median ms
per variant and shape, the run's ``meta``) and ``variants.md`` (the table) to ``--out``
(default ``benchmarks/results``). ``tiny`` (:data:`benchmarks.harness.QUICK_SHAPES`) is a
smoke test of a few seconds.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks.harness import QUICK_SHAPES, SHAPES, run_meta, timed_rounds
from benchmarks.peers import Peer

CHECK_TOL = 1e-4  # float32 gradients of a variant vs lstm_scan's, relative to the largest entry
BF16_TOL = 5e-2  # the same for the bfloat16 variant (8 bits of mantissa)
OUT = Path(__file__).parent / "results"
COLUMNS = ("unroll=2", "unroll=4", "remat", "bfloat16")  # the table's ratios to unroll=1


def _loss_scan(p, xs, unroll=1, remat=None):
    return jnp.sum(jaxrnn.lstm_scan(p, xs, unroll=unroll, remat=remat)[1])


def variants(T: int) -> dict:
    grad = functools.partial(jax.grad, argnums=(0, 1))
    out = {f"unroll={k}": jax.jit(grad(functools.partial(_loss_scan, unroll=k))) for k in (1, 2, 4)}
    k = max(1, round(T**0.5))
    out[f"remat={k}"] = jax.jit(grad(functools.partial(_loss_scan, remat=k)))

    def bf16(p, xs):
        low = jax.tree.map(lambda a: a.astype(jnp.bfloat16), (p, xs))
        return jax.tree.map(lambda g: g.astype(jnp.float32), grad(_loss_scan)(*low))

    out["bfloat16"] = jax.jit(bf16)
    return out


def bench(shape: tuple[int, int, int], budget_s: float = 10.0) -> dict[str, float]:
    """Median ms of forward+backward per variant; raises if a variant's gradient differs."""
    B, T, d_h = shape
    p = jaxrnn.init_lstm_params(jax.random.key(0), d_h, d_h)
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h))
    fns = variants(T)
    want = jax.tree.leaves(fns["unroll=1"](p, xs))
    for name, fn in fns.items():
        got = jax.tree.leaves(fn(p, xs))
        err = max(float(jnp.max(jnp.abs(a - b)) / (jnp.max(jnp.abs(b)) + 1.0))
                  for a, b in zip(got, want))  # fmt: skip
        tol = BF16_TOL if name == "bfloat16" else CHECK_TOL
        if err > tol:
            raise ValueError(f"{name}: expected gradients within {tol} (relative), got {err}")
    impls = [
        Peer(name, functools.partial(fn, p, xs), functools.partial(fn, p, xs))
        for name, fn in fns.items()
    ]
    times = timed_rounds(impls, sys.maxsize, budget_s, modes=("grad",))
    return {name: 1e3 * float(np.median(times[(name, "grad")])) for name in fns}


def markdown(results: list[dict]) -> str:
    """The table: the default's median ms and each variant's time over it, per shape."""
    lines = ["| shape (B, T, d_h) | default | `unroll=2` | `unroll=4` | `remat=sqrt(T)` "
             "| bfloat16 |", "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        ms, base = r["ms"], r["ms"]["unroll=1"]
        ratios = " | ".join(f"{ms[k] / base:.2f}x" for k in COLUMNS)
        lines.append(f"| {r['name']} {tuple(r['shape'])} | {base:.1f} ms | {ratios} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.variants", description=__doc__)
    ap.add_argument("shapes", nargs="*", help=f"names from {list(SHAPES)} (default: all)")
    ap.add_argument("--out", default=str(OUT), help="directory of the results files")
    args = ap.parse_args(argv)
    shapes = {**SHAPES, **QUICK_SHAPES}
    names = args.shapes or list(SHAPES)
    unknown = [n for n in names if n not in shapes]
    if unknown:
        print(f"error: expected shapes from {list(shapes)}, got {unknown}", file=sys.stderr)
        return 2
    started, load_start, results = time.time(), os.getloadavg(), []
    for name in names:
        ms = bench(shapes[name], budget_s=0.0 if name in QUICK_SHAPES else 10.0)
        base = ms["unroll=1"]
        cells = ", ".join(f"{k} {v:.1f} ms ({v / base:.2f}x)" for k, v in ms.items())
        print(f"{name} {shapes[name]}: {cells}", flush=True)
        remat = next(k for k in ms if k.startswith("remat="))
        results.append({"name": name, "shape": list(shapes[name]),
                        "remat_steps": int(remat.partition("=")[2]),
                        "ms": {k.partition("=")[0] if k == remat else k: v
                               for k, v in ms.items()}})  # fmt: skip
    meta = run_meta(started, shapes=names, loadavg_start=load_start)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "variants.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    text = markdown(results)
    (out / "variants.md").write_text(text)
    print(text, end="")
    print(f"wrote {out}/variants.json and variants.md in {meta['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
