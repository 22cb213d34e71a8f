"""``python -m benchmarks.xlstm [--quick]``: the mLSTM's three forms and the sLSTM.

Forward and forward+backward (gradient of the sum of the outputs w.r.t. ``q, k, v, i~, f~``)
of ``jaxrnn.mlstm`` per form, interleaved with the native JAX chunkwise and parallel forms of
the ``mlstm_kernels`` package (a benchmark-only peer whose licence is not open: it is run,
never copied; its package ``__init__`` imports Triton, so its two native JAX modules are
loaded by file under stub parent packages), and with our LSTM and minGRU at ``d_h = heads
d``. ``slstm_scan`` (1 and 4 heads) against ``lstm_scan`` at the same ``(B, T, d_h)``.
Timing is ``benchmarks.harness``'s interleaved rounds (median ms per call); memory is XLA's
compiled temporary bytes of the forward+backward. Writes ``benchmarks/results/xlstm.json``
and ``xlstm.md``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxrnn
from benchmarks import peers
from benchmarks.harness import call_seconds, timed_rounds

MLSTM_SHAPES = {"T1024": (2, 4, 1024, 64), "T4096": (1, 4, 4096, 64)}  # (B, heads, T, d)
SLSTM_SHAPES = {"medium": (32, 200, 256), "long": (16, 2000, 128)}  # (B, T, d_h)
QUICK_MLSTM = {"tiny": (1, 2, 64, 8)}
QUICK_SLSTM = {"tiny": (2, 12, 8)}


@functools.cache
def _mlstm_kernels() -> dict:
    """The native JAX chunkwise and parallel functions of ``mlstm_kernels``, by file (once per
    process: a second ``find_spec`` would meet the stub packages, which have no spec)."""
    spec = importlib.util.find_spec("mlstm_kernels")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("mlstm_kernels is not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    for name, path in (("mlstm_kernels", root), ("mlstm_kernels.jax", root / "jax"),
                       ("mlstm_kernels.jax.chunkwise", root / "jax" / "chunkwise"),
                       ("mlstm_kernels.jax.parallel", root / "jax" / "parallel")):  # fmt: skip
        if name not in sys.modules or not hasattr(sys.modules[name], "__stub__"):
            stub = types.ModuleType(name)
            stub.__path__ = [str(path)]
            stub.__stub__ = True
            sys.modules[name] = stub
    chunk = importlib.import_module("mlstm_kernels.jax.chunkwise.native")
    par = importlib.import_module("mlstm_kernels.jax.parallel.native")
    return {"chunkwise": chunk.mlstm_chunkwise__native_autograd,
            "parallel": par.mlstm_parallel__native_autograd}  # fmt: skip


def _temp_bytes(fn, *args) -> int | None:
    try:
        stats = jax.jit(fn).lower(*args).compile().memory_analysis()
        return int(stats.temp_size_in_bytes)
    except Exception:  # memory analysis is not available everywhere
        return None


def mlstm_peers(B: int, H: int, T: int, d: int, only: set | None) -> tuple[list, dict, dict]:
    k = jax.random.split(jax.random.key(0), 5)
    q, kk, v = (jax.random.normal(k[j], (B, H, T, d)) for j in range(3))
    i_pre = jax.random.normal(k[3], (B, H, T))
    f_pre = 3 + jax.random.normal(k[4], (B, H, T))
    args = (q, kk, v, i_pre, f_pre)
    makers = {}
    for form in ("chunkwise", "parallel", "recurrent"):
        makers[f"jaxrnn {form}"] = lambda form=form: (
            lambda q, k, v, i, f: jaxrnn.mlstm(q, k, v, i, f, form=form)[0]
        )
    errors = {}
    try:
        mk = _mlstm_kernels()
        makers["mlstm_kernels chunkwise"] = lambda: (
            lambda q, k, v, i, f: mk["chunkwise"](q, k, v, i, f, chunk_size=64)
        )
        makers["mlstm_kernels parallel"] = lambda: mk["parallel"]
    except Exception as e:
        errors["mlstm_kernels"] = f"{type(e).__name__}: {e}"
    built, memory = [], {}
    for name, make in makers.items():
        if only and name not in only:
            continue
        try:
            fn = make()
            fwd = jax.jit(fn)
            loss = lambda *a, fn=fn: fn(*a).sum()  # noqa: E731
            grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3, 4)))
            peer = peers.Peer(name, lambda fwd=fwd: fwd(*args), lambda grad=grad: grad(*args))
            call_seconds(peer, "fwd")
            call_seconds(peer, "grad")
            memory[name] = _temp_bytes(jax.grad(loss, argnums=(0, 1, 2, 3, 4)), *args)
            built.append(peer)
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {e}"
            print(f"  ! {name}: {errors[name]}")
    # the sequential cells at d_h = heads d, one (B, T, d_h) sequence each
    d_h = H * d
    xs = jax.random.normal(k[0], (B, T, d_h))
    if not only or "lstm" in only:
        p = jaxrnn.init_lstm_params(k[1], d_h, d_h)
        built.append(peers._jax_peer("lstm", lambda w, x: jaxrnn.lstm_scan(w, x)[1], p, xs))
    if not only or "mingru" in only:
        p = jaxrnn.init_mingru_params(k[2], d_h, d_h)
        built.append(peers._jax_peer("mingru", lambda w, x: jaxrnn.mingru_scan(w, x)[1], p, xs))
    return built, errors, memory


def slstm_peers(B: int, T: int, d_h: int) -> list:
    k = jax.random.split(jax.random.key(1), 4)
    xs = jax.random.normal(k[0], (B, T, d_h))
    out = [peers._jax_peer("lstm", lambda w, x: jaxrnn.lstm_scan(w, x)[1],
                           jaxrnn.init_lstm_params(k[1], d_h, d_h), xs)]  # fmt: skip
    for heads in (1, 4):
        p = jaxrnn.init_slstm_params(k[2], d_h, d_h, num_heads=heads)
        out.append(peers._jax_peer(f"slstm {heads}h", lambda w, x: jaxrnn.slstm_scan(w, x)[1],
                                   p, xs))  # fmt: skip
    return out


def _time(built: list, reps: int, budget: float) -> dict:
    for peer in built:
        call_seconds(peer, "fwd")
        call_seconds(peer, "grad")
    times = timed_rounds(built, reps, budget)
    return {p.name: {m: 1e3 * statistics.median(times[(p.name, m)]) for m in ("fwd", "grad")}
            for p in built}  # fmt: skip


def markdown(results: dict) -> str:
    lines = ["| shape | impl | fwd ms | fwd+bwd ms | ref / impl fwd | ref / impl fwd+bwd | "
             "fwd+bwd temp MiB |", "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for kind, rows in results.items():
        for r in rows:
            ref = r["ms"].get("mlstm_kernels chunkwise" if kind == "mlstm" else "lstm")
            for impl, m in r["ms"].items():
                ratio = [f"{ref[x] / m[x]:.2f}x" if ref else "-" for x in ("fwd", "grad")]
                mem = r.get("memory", {}).get(impl)
                mem_s = f"{mem / 2**20:.0f}" if mem else "-"
                lines.append(f"| {kind} {r['name']} {tuple(r['shape'])} | {impl} | "
                             f"{m['fwd']:.2f} | {m['grad']:.2f} | {ratio[0]} | {ratio[1]} | "
                             f"{mem_s} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.xlstm", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny shapes, few calls (smoke test)")
    ap.add_argument("--impls", default="", help="comma list of mLSTM implementations")
    ap.add_argument("--reps", type=int, default=None, help="timed rounds per shape")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timing per shape")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    only = set(args.impls.split(",")) if args.impls else None
    reps = args.reps or (2 if args.quick else 10)
    budget = 1.0 if args.quick else args.budget
    t0 = time.perf_counter()
    results: dict = {"mlstm": [], "slstm": []}
    for name, shape in (QUICK_MLSTM if args.quick else MLSTM_SHAPES).items():
        print(f"mlstm {name} {shape} ...", flush=True)
        built, errors, memory = mlstm_peers(*shape, only)
        results["mlstm"].append({"name": name, "shape": list(shape), "ms": _time(built, reps,
                                 budget), "errors": errors, "memory": memory})  # fmt: skip
    for name, shape in (QUICK_SLSTM if args.quick else SLSTM_SHAPES).items():
        print(f"slstm {name} {shape} ...", flush=True)
        results["slstm"].append({"name": name, "shape": list(shape),
                                 "ms": _time(slstm_peers(*shape), reps, budget)})  # fmt: skip
    meta = {"jax": jax.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
            "backend": jax.default_backend(), "quick": args.quick,
            "wall_s": time.perf_counter() - t0}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "xlstm.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    text = markdown(results)
    (out / "xlstm.md").write_text(text)
    print(text)
    print(f"wrote {out}/xlstm.json and xlstm.md in {meta['wall_s']:.0f} s")
    return results


if __name__ == "__main__":
    jnp.zeros(1)  # initialise the backend before timing
    main()
