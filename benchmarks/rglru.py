"""``python -m benchmarks.rglru [--quick]``: the RG-LRU against RecurrentGemma's own layer.

Forward and forward+backward (the gradient of the sum of all outputs with respect to every
weight) of ``jaxrnn.rglru_scan`` (``parallel=True``) against ``recurrentgemma.jax.layers.RGLRU``
with its native linear scan (``ScanType.LINEAR_NATIVE``, what it runs off TPU, a ``lax.scan``
unrolled 128 times) and its associative scan (``ASSOCIATIVE_NATIVE``), holding the same
weights (``jaxrnn.interop.to_recurrentgemma_rglru``), and against jaxrnn's LSTM and minGRU at
the same ``(B, T, d)``, float32, on ``make bench``'s four shapes plus (1, 100000, 64).
``num_heads = max(1, d // 256)`` (Griffin's blocks are 256 wide). Both compute the same
function: no segment starts (RecurrentGemma's ``segment_pos`` counts from 1), zero initial
state; RecurrentGemma's output is checked against ours before timing, and on the longest
shape ours is also compared with a float64 run of the step loop (the stability of the
float32 parallel form over 100,000 steps). Timing is ``benchmarks.harness``'s interleaved
rounds (median ms per call). Writes ``benchmarks/results/rglru.json`` and ``rglru.md``; the
ratio columns are ours over RecurrentGemma's (below 1: jaxrnn is faster).
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
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks import peers
from benchmarks.harness import SHAPES, call_seconds, inputs, timed_rounds
from benchmarks.minrnn import _min_params

ALL_SHAPES = {**SHAPES, "T100k": (1, 100_000, 64)}
QUICK_SHAPES = {"tiny": (2, 12, 8)}
OUT_TOL = 1e-4  # RecurrentGemma's forward output against jaxrnn's (float32), relative
PEERS = ("rg-linear", "rg-assoc")


def heads(d: int) -> int:
    """RG-LRU heads for width ``d``: blocks of 256 channels (Griffin's), at least one."""
    return max(1, d // 256)


def rglru_params(d: int) -> jaxrnn.RGLRUParams:
    """RecurrentGemma's initialisation, with non-zero biases."""
    p = jaxrnn.init_rglru_params(jax.random.key(1), d, num_heads=heads(d))
    k_a, k_x = jax.random.split(jax.random.key(2))
    return p._replace(b_a=0.1 * jax.random.normal(k_a, (d,)),
                      b_x=0.1 * jax.random.normal(k_x, (d,)))  # fmt: skip


def recurrentgemma_rglru(p: jaxrnn.RGLRUParams, xs, scan: str) -> peers.Peer:
    """``recurrentgemma.jax.layers.RGLRU`` holding ``p``'s weights, ``segment_pos`` from 1."""
    from recurrentgemma import common
    from recurrentgemma.jax import layers

    scan_type = {"rg-linear": common.ScanType.LINEAR_NATIVE,
                 "rg-assoc": common.ScanType.ASSOCIATIVE_NATIVE}[scan]  # fmt: skip
    d = p.a_param.shape[0]
    layer = layers.RGLRU(width=d, num_heads=heads(d), scan_type=scan_type)
    B, T = xs.shape[:2]
    pos = jnp.broadcast_to(jnp.arange(1, T + 1, dtype=jnp.int32), (B, T))
    variables = jaxrnn.interop.to_recurrentgemma_rglru(p)

    def apply(v, x):
        return layer.apply(v, x, pos, return_cache=False)[0]

    return peers._jax_peer(scan, apply, variables, xs)


def builders(B: int, T: int, d: int):
    """``{name: () -> Peer}``: every implementation on one shape, and the RG-LRU's weights."""
    p_lstm, xs = inputs("lstm", B, T, d)
    p = rglru_params(d)
    p_gru = _min_params(jaxrnn.init_mingru_params, jax.random.key(3), d)
    jp = peers._jax_peer
    out = {
        "rglru": lambda: jp("rglru", lambda w, x: jaxrnn.rglru_scan(w, x)[1], p, xs),
        "rg-linear": lambda: recurrentgemma_rglru(p, xs, "rg-linear"),
        "rg-assoc": lambda: recurrentgemma_rglru(p, xs, "rg-assoc"),
        "lstm": lambda: jp("lstm", lambda w, x: jaxrnn.lstm_scan(w, x)[1], p_lstm, xs),
        "mingru": lambda: jp("mingru", lambda w, x: jaxrnn.mingru_scan(w, x)[1], p_gru, xs),
    }
    return out, p, xs


def float64_error(p: jaxrnn.RGLRUParams, xs, hs) -> float:
    """Largest difference of the float32 parallel form ``hs`` from a float64 step loop."""
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(np.asarray(a), jnp.float64), p)
        want = jaxrnn.rglru_scan(p64, jnp.asarray(np.asarray(xs), jnp.float64), parallel=False)[1]
        return float(np.max(np.abs(np.asarray(want) - np.asarray(hs, np.float64))))


def bench_shape(name: str, shape, reps: int, budget_s: float, only: set | None,
                f64_check: bool) -> dict:  # fmt: skip
    """Build, check (RecurrentGemma against jaxrnn) and time every implementation."""
    makers, p, xs = builders(*shape)
    built, errors, checks = [], {}, {}
    want = None
    for impl, make in makers.items():
        if only and impl not in only and impl != "rglru":
            continue
        try:
            peer = make()
            if impl == "rglru":
                want = np.asarray(peer.forward())
                if f64_check:
                    checks["rglru_vs_float64_loop"] = float64_error(p, xs, want)
            elif impl in PEERS and want is not None:
                err = float(np.max(np.abs(np.asarray(peer.forward()) - want)))
                checks[f"{impl}_vs_rglru"] = err
                if not err <= OUT_TOL * max(1.0, float(np.abs(want).max())):
                    raise ValueError(f"output differs from jaxrnn by {err:.2e}")
            call_seconds(peer, "fwd")
            call_seconds(peer, "grad")  # warm-up: compile / first-call allocations
            built.append(peer)
        except Exception as e:  # an implementation that cannot run is reported, not fatal
            errors[impl] = f"{type(e).__name__}: {e}"
            print(f"  ! {name} {impl}: {errors[impl]}")
    times = timed_rounds(built, reps, budget_s)
    ms = {peer.name: {m: 1e3 * statistics.median(times[(peer.name, m)]) for m in ("fwd", "grad")}
          for peer in built}  # fmt: skip
    calls = len(times[(built[0].name, "fwd")]) if built else 0
    return {"name": name, "shape": list(shape), "heads": heads(shape[2]), "ms": ms,
            "calls": calls, "errors": errors, "checks": checks}  # fmt: skip


def markdown(results: list) -> str:
    """One row per shape: ms of each implementation, and ours over RecurrentGemma's."""
    impls = ["rglru", "rg-linear", "rg-assoc", "lstm", "mingru"]
    head = ["shape (B, T, d)"] + [f"{i} fwd / fwd+bwd ms" for i in impls]
    head += ["rglru / rg-linear", "rglru / rg-assoc"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in results:
        ms = r["ms"]
        cells = [f"{r['name']} {tuple(r['shape'])}"]
        cells += [f"{ms[i]['fwd']:.2f} / {ms[i]['grad']:.2f}" if i in ms else "-" for i in impls]
        for peer in PEERS:
            if "rglru" in ms and peer in ms:
                f, g = (ms["rglru"][k] / ms[peer][k] for k in ("fwd", "grad"))
                cells.append(f"{f:.2f}x / {g:.2f}x")
            else:
                cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.rglru", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny shape, few calls (smoke test)")
    ap.add_argument("--shapes", default="", help="comma list of shape names (default: all)")
    ap.add_argument("--impls", default="", help="comma list of implementations (default: all)")
    ap.add_argument("--reps", type=int, default=None, help="timed rounds per shape")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timing per shape")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    shapes = QUICK_SHAPES if args.quick else ALL_SHAPES
    if args.shapes:
        shapes = {k: ALL_SHAPES[k] for k in args.shapes.split(",")}
    only = set(args.impls.split(",")) if args.impls else None
    reps = args.reps or (2 if args.quick else 15)
    t0 = time.perf_counter()
    results = []
    for name, shape in shapes.items():
        print(f"{name} {shape} ...", flush=True)
        budget = 1.0 if args.quick else args.budget
        f64_check = args.quick or shape[1] >= 100_000
        results.append(bench_shape(name, shape, reps, budget, only, f64_check))
    meta = {"jax": jax.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
            "backend": jax.default_backend(), "quick": args.quick,
            "load_avg": os.getloadavg(), "wall_s": time.perf_counter() - t0}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rglru.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    text = markdown(results)
    (out / "rglru.md").write_text(text)
    print(text)
    print(f"wrote {out}/rglru.json and rglru.md in {meta['wall_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
