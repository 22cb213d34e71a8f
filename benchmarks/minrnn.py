"""``python -m benchmarks.minrnn [--quick]``: minGRU and minLSTM against the sequential cells.

Forward and forward+backward (gradient of the sum of all outputs w.r.t. every weight) of
``jaxrnn.mingru_scan`` / ``minlstm_scan`` (``parallel=True``, and the minGRU's
``parallel=False``), ``jaxrnn.lstm_scan``, ``jaxrnn.rnn_scan`` (and ``gru_scan`` where it
exists) at the same ``(B, T, d_h)``, ``d_in = d_h``, float32, on ``make bench``'s four
shapes plus (16, 4096, 128) and (1, 100000, 64); and the peers ``mingru-keras`` (Keras 3 on
JAX: the same minGRU, output-checked against jaxrnn's) and ``mingru-pytorch`` (the paper's
log-space variant, ``g(h~)`` and no biases: same shapes and work, different numbers, so
not output-checked) where they are installed. Timing is ``benchmarks.harness``'s
interleaved rounds (median ms per call). Writes ``benchmarks/results/minrnn.json`` and
``minrnn.md``; the speed-up columns are the sequential LSTM's time over each cell's, and
``products`` (the minGRU's matrix products alone) is the floor its time cannot go below.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax
import numpy as np

import jaxrnn
from benchmarks import peers
from benchmarks.harness import SHAPES, call_seconds, inputs, timed_rounds

ALL_SHAPES = {**SHAPES, "long4096": (16, 4096, 128), "T100k": (1, 100_000, 64)}
QUICK_SHAPES = {"tiny": (2, 12, 8)}
OUT_TOL = 1e-4  # mingru-keras's forward output against jaxrnn's (float32)


def _min_params(init, key, d_h):
    """Parameters with non-zero biases (as the LSTM's in ``make bench``)."""
    p = init(key, d_h, d_h)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(p))
    return p._replace(**{
        n: getattr(p, n) + 0.1 * jax.random.normal(k, (d_h,))
        for n, k in zip(p._fields, keys) if n.startswith("b")
    })  # fmt: skip


def keras_mingru(p: jaxrnn.MinGRUParams, xs) -> peers.Peer:
    """``mingru_keras.MinGRU`` on the JAX backend holding ``p``'s weights (stateless calls)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from mingru_keras import MinGRU

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()}, not jax")
    layer = MinGRU(p.U_z.shape[0])
    layer.build(xs.shape)
    for var, value in ((layer.gate.kernel, p.U_z.T), (layer.gate.bias, p.b_z),
                       (layer.candidate.kernel, p.U_h.T), (layer.candidate.bias, p.b_h)):
        var.assign(np.asarray(value))  # fmt: skip
    weights = [v.value for v in layer.trainable_variables]

    def apply(w, x):
        return layer.stateless_call(w, [], x)[0]

    return peers._jax_peer("mingru-keras", apply, weights, xs)


def torch_mingru(d_h: int, xs) -> peers.Peer:
    """``minGRU_pytorch.minGRU(d_h)``: the paper's log-space minGRU (not output-checked)."""
    import torch
    from minGRU_pytorch.minGRU import minGRU

    torch.manual_seed(0)
    module = minGRU(d_h)
    x = torch.from_numpy(np.array(xs))

    def forward():
        with torch.no_grad():
            return module(x)

    def grad():
        module.zero_grad(set_to_none=True)
        module(x).sum().backward()
        return [q.grad for q in module.parameters()]

    return peers.Peer("mingru-pytorch", forward, grad, sync=lambda out: out)


def products(xs, d_h: int) -> peers.Peer:
    """The minGRU's matrix products alone, as a floor: forward ``x U^T`` with ``U`` of shape
    ``(2 d_h, d_in)``; forward+backward adds the weight gradient ``G^T x`` (``G`` the
    ``(B T, 2 d_h)`` cotangent). Same flops as the minGRU's, nothing else."""
    x = xs.reshape(-1, xs.shape[-1])
    U_T = jax.random.normal(jax.random.key(5), (x.shape[1], 2 * d_h)) / np.sqrt(d_h)
    G = jax.random.normal(jax.random.key(6), (x.shape[0], 2 * d_h))
    fwd = jax.jit(lambda U_T, x: x @ U_T)
    both = jax.jit(lambda U_T, x, G: (x @ U_T, jax.lax.dot_general(G, x, (((0,), (0,)), ((), ())))))
    return peers.Peer("products", lambda: fwd(U_T, x), lambda: both(U_T, x, G))


# Matrix-product flops per shape, in units of one d_h x d_in product per step and example
# (2 B T d_h d_in flops; d_in = d_h here). Gradients are w.r.t. the weights only.
#   LSTM:  fwd 4 (U x) + 4 (W h);  bwd 8 weight gradients + 4 (W^T g) through time = 20
#   GRU:   fwd 3 + 3;              bwd 6 + 3                                       = 15
#   RNN:   fwd 1 + 1;              bwd 2 + 1                                       = 5
#   minGRU 2 + 2 = 4, minLSTM 3 + 3 = 6; "products" (the minGRU's alone)           = 4
PRODUCT_UNITS = {"lstm": (8, 20), "gru": (6, 15), "rnn": (2, 5), "mingru": (2, 4),
                 "mingru seq": (2, 4), "minlstm": (3, 6), "products": (2, 4)}  # fmt: skip


def gflop(impl: str, shape, mode: str) -> float | None:
    """Matrix-product GFLOP of one call (``mode`` ``"fwd"`` or ``"grad"``), or None."""
    B, T, d_h = shape
    units = PRODUCT_UNITS.get(impl)
    return None if units is None else units[mode == "grad"] * 2 * B * T * d_h * d_h / 1e9


def builders(B: int, T: int, d_h: int):
    """``({name: () -> Peer}, reference output)``: every implementation on one shape."""
    p_lstm, xs = inputs("lstm", B, T, d_h)
    p_rnn, _ = inputs("rnn", B, T, d_h)
    p_gru = _min_params(jaxrnn.init_mingru_params, jax.random.key(2), d_h)
    p_lst = _min_params(jaxrnn.init_minlstm_params, jax.random.key(3), d_h)
    jp = peers._jax_peer
    out = {
        "mingru": lambda: jp("mingru", lambda w, x: jaxrnn.mingru_scan(w, x)[1], p_gru, xs),
        "minlstm": lambda: jp("minlstm", lambda w, x: jaxrnn.minlstm_scan(w, x)[1], p_lst, xs),
        "mingru seq": lambda: jp(
            "mingru seq", lambda w, x: jaxrnn.mingru_scan(w, x, parallel=False)[1], p_gru, xs
        ),
        "lstm": lambda: dataclasses.replace(peers.jaxrnn_lstm(p_lstm, xs), name="lstm"),
        "rnn": lambda: dataclasses.replace(peers.jaxrnn_rnn(p_rnn, xs), name="rnn"),
    }
    if hasattr(jaxrnn, "gru_scan") and hasattr(jaxrnn, "init_gru_params"):
        p = jaxrnn.init_gru_params(jax.random.key(4), d_h, d_h)
        out["gru"] = lambda: jp("gru", lambda w, x: jaxrnn.gru_scan(w, x)[1], p, xs)
    out["products"] = lambda: products(xs, d_h)
    out["mingru-keras"] = lambda: keras_mingru(p_gru, xs)
    out["mingru-pytorch"] = lambda: torch_mingru(d_h, xs)
    return out, np.asarray(jaxrnn.mingru_scan(p_gru, xs)[1])


def bench_shape(name: str, shape, reps: int, budget_s: float, only: set | None) -> dict:
    """Build, check (mingru-keras against jaxrnn) and time every implementation on a shape."""
    makers, want = builders(*shape)
    built, errors = [], {}
    for impl, make in makers.items():
        if only and impl not in only:
            continue
        try:
            peer = make()
            if impl == "mingru-keras":
                err = float(np.max(np.abs(np.asarray(peer.forward()) - want)))
                if not err <= OUT_TOL:
                    raise ValueError(f"output differs from jaxrnn by {err:.2e} > {OUT_TOL}")
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
    gflops = {impl: {m: gflop(impl, shape, m) for m in ("fwd", "grad")} for impl in ms}
    return {"name": name, "shape": list(shape), "ms": ms, "calls": calls, "errors": errors,
            "gflop": gflops}  # fmt: skip


def markdown(results: list) -> str:
    """One row per shape and implementation: ms, the LSTM's time over it, and the rate of
    matrix-product flops (``gflop``) that the time amounts to."""
    lines = ["| shape (B, T, d_h) | impl | fwd ms | fwd+bwd ms | LSTM / impl fwd | "
             "LSTM / impl fwd+bwd | fwd+bwd product GFLOP/s |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in results:
        lstm = r["ms"].get("lstm")
        for impl, m in r["ms"].items():
            ratio = [f"{lstm[k] / m[k]:.1f}x" if lstm else "-" for k in ("fwd", "grad")]
            flop = r.get("gflop", {}).get(impl, {}).get("grad")
            rate = f"{flop / m['grad'] * 1e3:.0f}" if flop else "-"
            lines.append(f"| {r['name']} {tuple(r['shape'])} | {impl} | {m['fwd']:.2f} | "
                         f"{m['grad']:.2f} | {ratio[0]} | {ratio[1]} | {rate} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.minrnn", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny shape, few calls (smoke test)")
    ap.add_argument("--shapes", default="", help="comma list of shape names (default: all)")
    ap.add_argument("--impls", default="", help="comma list of implementations (default: all)")
    ap.add_argument("--reps", type=int, default=None, help="timed rounds per shape")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of timing per shape")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
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
        results.append(bench_shape(name, shape, reps, budget, only))
    meta = {"jax": jax.__version__, "torch": torch.__version__, "machine": platform.machine(),
            "cpus": os.cpu_count(), "backend": jax.default_backend(), "quick": args.quick,
            "wall_s": time.perf_counter() - t0}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "minrnn.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    text = markdown(results)
    (out / "minrnn.md").write_text(text)
    print(text)
    print(f"wrote {out}/minrnn.json and minrnn.md in {meta['wall_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
