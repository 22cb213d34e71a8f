"""``python -m benchmarks [--quick]`` (this module): jaxrnn against Flax, Equinox, Haiku, PyTorch.

All peers run in one process, interleaved call by call in an order that rotates every
round (:mod:`benchmarks.harness`), after a warm-up call and an output check; the reported
time is the median of many calls. Ratios are jaxrnn's time over the peer's (below 1:
jaxrnn is faster).
Writes ``benchmarks/results/bench.json``, ``bench.png`` and ``table.md``; a full run also
rewrites the table between the ``bench:start``/``bench:end`` markers of
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from benchmarks import extras, peers, peers_gru, report
from benchmarks.harness import QUICK_SHAPES, SHAPES, call_seconds, inputs, timed_rounds

OUT_TOL = 1e-4  # every peer's forward output must match jaxrnn's to this (float32)


def bench_shape(kind: str, shape: tuple[int, int, int], reps: int, budget_s: float) -> dict:
    """Build, check and time every peer on one shape; returns ms medians per peer/mode."""
    p, xs = peers_gru.gru_inputs(*shape) if kind == "gru" else inputs(kind, *shape)
    builders = {
        "lstm": [peers.jaxrnn_lstm] + peers.LSTM_PEERS,
        "gru": [peers_gru.jaxrnn_gru] + peers_gru.GRU_PEERS,
        "rnn": [peers.jaxrnn_rnn] + peers.RNN_PEERS,
    }[kind]
    built, errors = [], {}
    want = None
    for build in builders:
        try:
            peer = build(p, xs)
            out = np.asarray(peer.forward())
            if want is None:
                want = out
            err = float(np.max(np.abs(out - want)))
            if not err <= OUT_TOL:
                raise ValueError(f"output differs from jaxrnn by {err:.2e} > {OUT_TOL}")
            call_seconds(peer, "fwd")
            call_seconds(peer, "grad")  # warm-up: compile / first-call allocations
            built.append(peer)
        except Exception as e:  # a peer that cannot run is reported, not fatal
            errors[build.__name__] = f"{type(e).__name__}: {e}"
            print(f"  ! {kind} {build.__name__}: {errors[build.__name__]}")
    times = timed_rounds(built, reps, budget_s)
    ms = {name: {m: 1e3 * statistics.median(times[(name, m)]) for m in ("fwd", "grad")}
          for name in [peer.name for peer in built]}
    return {"kind": kind, "shape": shape, "ms": ms, "calls": len(times[(built[0].name, "fwd")]),
            "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny shapes, few calls (smoke test)")
    ap.add_argument("--kinds", default="lstm,gru,rnn", help="comma list of lstm, gru, rnn")
    ap.add_argument("--reps", type=int, default=None, help="timed calls per peer and mode")
    ap.add_argument("--budget", type=float, default=30.0, help="seconds of timing per shape")
    ap.add_argument("--no-extras", action="store_true", help="skip compile/loop/memory")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    page = Path(__file__).parent.parent / "docs" / "benchmarks.md"
    ap.add_argument("--readme", default=str(page),
                    help="page whose benchmark table a full run rewrites ('' for none)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(2)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    reps = args.reps or (3 if args.quick else 25)
    t0 = time.perf_counter()
    results = []
    for kind in args.kinds.split(","):
        for name, shape in shapes.items():
            print(f"{kind} {name} {shape} ...", flush=True)
            res = bench_shape(kind, shape, reps, 1.0 if args.quick else args.budget)
            res["name"] = name
            results.append(res)
    extra: dict = {}
    if not args.no_extras:
        Ts = (10, 100) if args.quick else (100, 10_000)
        print("compile time ...", flush=True)
        extra["compile"] = [extras.compile_seconds(T, d_h=8 if args.quick else 128) for T in Ts]
        loop_T = 5 if args.quick else 200
        print(f"python loop under jit, T={loop_T} ...", flush=True)
        extra["python_loop"] = extras.python_loop_compile(loop_T, 60 if args.quick else 120)
        mem = (2, 50, 8) if args.quick else (16, 10_000, 256)
        k = int(round(mem[1] ** 0.5))
        print(f"memory {mem} remat None / {k} ...", flush=True)
        extra["memory"] = [extras.memory(*mem, remat=r, run=not args.quick) for r in (None, k)]
    meta = {"jax": jax.__version__, "torch": torch.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "quick": args.quick, "wall_s": time.perf_counter() - t0}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "results": results, "extras": extra}
    (out / "bench.json").write_text(json.dumps(data, indent=1))
    text = report.markdown(data)
    (out / "table.md").write_text(text)
    report.bar_chart(data, out / "bench.png")
    print(text)
    print(f"wrote {out}/bench.json, table.md, bench.png in {meta['wall_s']:.0f} s")
    if args.readme and not args.quick:
        done = report.update_readme(Path(args.readme), text)
        print(f"updated the table in {args.readme}" if done else
              f"! {args.readme} has no {report.README_START} marker: not updated")


if __name__ == "__main__":
    main()
