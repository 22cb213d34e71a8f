"""GPU LSTM: jaxrnn against cuDNN (``torch.nn.LSTM``, ``jax.experimental.rnn.lstm``) and Flax.

``python -m benchmarks.gpu_lstm [--json PATH]`` on a CUDA machine; ``--dry-run`` runs the
same code on CPU at a tiny size (there ``jax.experimental.rnn`` has no kernel, so its
pure-JAX ``lstm_ref`` stands in for it). Single-layer LSTM, d_in = d_h, batch-first.

Configurations (``CONFIGS``): the issue's large shape (B=64, T=512, d_h=1024) in float32 at
each framework's default matmul precision (on NVIDIA GPUs since Ampere both JAX and
cuDNN then use TF32 products), in float32 at the highest precision (true float32
products: ``jax.default_matmul_precision("highest")``, ``torch.backends.cudnn.allow_tf32
= False``) and in bfloat16; and the CPU benchmark's medium shape (32, 200, 256) in
float32, where per-step launch overhead dominates.

For every implementation and configuration it reports
- the median ms per call of the forward pass and of forward+backward (gradient of the sum
  of all outputs w.r.t. every weight), timed interleaved call by call with a rotating
  order after a warm-up, each call ending in a device synchronisation;
- ``out_rel_err``: ``||h - h_ref|| / ||h_ref||`` for the first ``N_REF`` sequences against
  a float64 NumPy LSTM run on the same (rounded) weights and inputs;
- ``dU_rel_vs_jaxrnn``: the same relative difference between its gradient of the input
  weights (4 d_h x d_in, gate order i, f, g, o) and jaxrnn's, a cross-check of the
  backward passes.

Measured on an NVIDIA H200 (README, "On a GPU"): ``python -m benchmarks.gpu_lstm --unrolls
4,8,16`` took 120-148 s. There ``jax.experimental.rnn.lstm`` does not lower in bfloat16, and
``torch.nn.LSTM`` in bfloat16 compacts its weights on every call (``flatten_parameters``
accepts only float16/32/64).

Every implementation starts from the same weights. One that fails to build or run is
reported with its error, not fatal. Results go to ``--json`` (default
``benchmarks/results/gpu_lstm.json``) after each configuration, and a markdown table to the
same name with ``.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import platform
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks import peers
from benchmarks.harness import inputs, timed_rounds
from jaxrnn import interop

SHAPES = {"large": (64, 512, 1024), "medium": (32, 200, 256)}
CONFIGS = [("large", "float32"), ("large", "float32-highest"), ("large", "bfloat16"),
           ("medium", "float32")]
DRY_SHAPES = {"large": (3, 5, 8), "medium": (2, 4, 8)}
N_REF = 2  # sequences checked against the float64 reference
# Largest relative output error accepted against float64: float32 (TF32 products allowed)
# and bfloat16. A failing implementation is still timed, and flagged in the table.
TOL = {"float32": 1e-2, "float32-highest": 1e-4, "bfloat16": 5e-2}


@dataclass(frozen=True)
class Impl:
    """One implementation with weights and inputs bound."""

    name: str
    forward: Callable[[], Any]  # () -> hs (B, T, d_h)
    grad: Callable[[], Any]  # () -> gradients of hs.sum() w.r.t. every weight
    dU: Callable[[Any], np.ndarray]  # grad() result -> (4 d_h, d_in) float64, gates i,f,g,o
    sync: Callable[[Any], Any] = jax.block_until_ready
    host: Callable[[Any], np.ndarray] = lambda hs: _f64(hs)  # forward() result -> float64


def _jax_impl(name: str, apply, weights, xs, dU) -> Impl:
    fwd = jax.jit(apply)
    grad = jax.jit(jax.grad(lambda w, x: apply(w, x).astype(jnp.float32).sum()))
    return Impl(name, lambda: fwd(weights, xs), lambda: grad(weights, xs), dU)


def _f64(a) -> np.ndarray:
    return np.asarray(jnp.asarray(a, jnp.float32), np.float64)


def jaxrnn_impl(p: jaxrnn.LSTMParams, xs, unroll: int = 1) -> Impl:
    name = "jaxrnn" if unroll == 1 else f"jaxrnn unroll={unroll}"
    return _jax_impl(name, lambda w, x: jaxrnn.lstm_scan(w, x, unroll=unroll)[1], p, xs,
                     lambda g: _f64(peers.fused(g)[0]))


def cudnn_weights(p: jaxrnn.LSTMParams):
    """``p`` as the flat cuDNN weight vector of ``jax.experimental.rnn``: W_ih, W_hh, b_ih, b_hh."""
    Wx, Wh, b = (jnp.asarray(a) for a in peers.fused(p))
    return jnp.concatenate([Wx.ravel(), Wh.ravel(), b, jnp.zeros_like(b)])


def jax_cudnn_impl(p: jaxrnn.LSTMParams, xs, on_gpu: bool) -> Impl:
    from jax.experimental import rnn

    d_h, d_in = p.f.U.shape
    B = xs.shape[0]
    zeros = jnp.zeros((1, B, d_h), xs.dtype)
    lengths = jnp.full((B,), xs.shape[1], jnp.int32)

    def apply(w, x):
        if on_gpu:
            return rnn.lstm(x, zeros, zeros, w, lengths, d_in, d_h, 1, 0.0, False)[0]
        W_ih, W_hh, b_ih, b_hh = rnn.unpack_lstm_weights(w, d_in, d_h, 1, False)
        return rnn.lstm_ref(x, zeros, zeros, W_ih, W_hh, b_ih, b_hh, lengths, d_in, d_h, 1,
                            0.0, False)[0]

    def dU(g):
        return _f64(rnn.unpack_lstm_weights(g, d_in, d_h, 1, False)[0][0])

    return _jax_impl("jax.experimental.rnn", apply, cudnn_weights(p), xs, dU)


def flax_impl(p: jaxrnn.LSTMParams, xs) -> Impl:
    apply, weights = peers.flax_linen_lstm_parts(p)

    def dU(g):
        cell = g["params"]["cell"]
        return np.concatenate([_f64(cell[f"i{s}"]["kernel"]).T for s in "ifgo"])

    return _jax_impl("flax.linen", apply, weights, xs, dU)


def torch_impl(p: jaxrnn.LSTMParams, xs, on_gpu: bool) -> Impl:
    import torch

    dev = "cuda" if on_gpu else "cpu"
    tdt = {jnp.dtype("float32"): torch.float32, jnp.dtype("bfloat16"): torch.bfloat16}[xs.dtype]
    m = interop.to_torch_lstm(p).to(dev, tdt)  # bias_ih = b, bias_hh = 0
    m.flatten_parameters()  # one cuDNN weight buffer; else every call compacts the weights
    x = torch.from_numpy(np.array(jnp.asarray(xs, jnp.float32))).to(dev, tdt)
    return torch_module_impl(m, x, on_gpu)


def torch_module_impl(m, x, on_gpu: bool) -> Impl:
    """The ``Impl`` of a built single-layer ``torch.nn.LSTM`` / ``GRU`` ``m`` on input ``x``;
    ``dU`` is the gradient of its ``weight_ih_l0``."""
    import torch

    def forward():
        with torch.no_grad():
            return m(x)[0]

    def grad():
        m.zero_grad(set_to_none=True)
        m(x)[0].float().sum().backward()
        return m.weight_ih_l0.grad

    def sync(out):
        if on_gpu:
            torch.cuda.synchronize()
        return out

    return Impl("torch", forward, grad, lambda g: g.double().cpu().numpy(), sync,
                lambda hs: hs.double().cpu().numpy())


def lstm_f64(p: jaxrnn.LSTMParams, xs) -> np.ndarray:
    """The LSTM equations in float64 NumPy: hs (B, T, d_h) from zero initial states."""
    g = {k: tuple(_f64(a) for a in getattr(p, k)) for k in "ifco"}  # (U, W, b)
    x = _f64(xs)
    B, T, _ = x.shape
    h = c = np.zeros((B, g["f"][1].shape[0]))
    hs = []
    for t in range(T):
        z = {k: x[:, t] @ U.T + h @ W.T + b for k, (U, W, b) in g.items()}
        sig = {k: 1.0 / (1.0 + np.exp(-z[k])) for k in "ifo"}
        c = sig["f"] * c + sig["i"] * np.tanh(z["c"])
        h = sig["o"] * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@contextlib.contextmanager
def _precision(dtype: str):
    """True float32 products everywhere for ``float32-highest``; framework defaults otherwise."""
    if dtype != "float32-highest":
        yield
        return
    try:
        import torch
    except ImportError:
        torch = None
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) if torch \
        else None
    if torch:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with jax.default_matmul_precision("highest"):
            yield
    finally:
        if torch:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def run_config(shape_name: str, dtype: str, on_gpu: bool, reps: int, budget_s: float,
               shapes: dict, unrolls: tuple[int, ...] = (8,)) -> list[dict]:
    """Build, check and time every implementation on one shape and dtype."""
    B, T, d_h = shapes[shape_name]
    p32, xs32 = inputs("lstm", B, T, d_h)
    jdt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
    p, xs = jax.tree.map(lambda a: a.astype(jdt), (p32, xs32))
    builders = {
        "jaxrnn": lambda: jaxrnn_impl(p, xs),
        **{f"jaxrnn unroll={u}": functools.partial(jaxrnn_impl, p, xs, unroll=u) for u in unrolls},
        "jax.experimental.rnn": lambda: jax_cudnn_impl(p, xs, on_gpu),
        "flax.linen": lambda: flax_impl(p, xs),
        "torch": lambda: torch_impl(p, xs, on_gpu),
    }
    meta = {"shape": shape_name, "B": B, "T": T, "d_h": d_h, "dtype": dtype}
    return time_impls(builders, lstm_f64(p, xs[:N_REF]), meta, reps, budget_s)


def time_impls(builders: dict, ref: np.ndarray, meta: dict, reps: int,
               budget_s: float) -> list[dict]:
    """Build every implementation, check its first ``N_REF`` outputs against ``ref``
    (float64), time them interleaved and compare their ``dU`` with jaxrnn's."""
    dtype = meta["dtype"]
    rows, impls, dUs = [], [], {}
    with _precision(dtype):
        for name, build in builders.items():
            try:
                impl = build()
                out = impl.host(impl.sync(impl.forward()))[:N_REF]
                dUs[name] = impl.dU(impl.sync(impl.grad()))
                timed_rounds([impl], 1, 0.0)  # warm-up after the compiling calls
                err = _rel(out, ref)
                rows.append(dict(meta, impl=name, out_rel_err=err, ok=bool(err <= TOL[dtype])))
                impls.append(impl)
            except Exception as e:  # reported, not fatal: the other rows still run
                traceback.print_exc()
                rows.append(dict(meta, impl=name, error=f"{type(e).__name__}: {e}"[:500]))
        times = timed_rounds(impls, reps, budget_s)
    base = dUs.get("jaxrnn")
    for row in rows:
        name = row["impl"]
        if (name, "fwd") in times:
            row["fwd_ms"] = 1e3 * statistics.median(times[(name, "fwd")])
            row["fwd_bwd_ms"] = 1e3 * statistics.median(times[(name, "grad")])
            row["calls"] = len(times[(name, "fwd")])
        if base is not None and name in dUs:
            row["dU_rel_vs_jaxrnn"] = _rel(dUs[name], base)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| shape (B, T, d_h), dtype | implementation | fwd ms | fwd+bwd ms | jaxrnn / it "
             "(fwd, fwd+bwd) | out rel. err vs float64 | dU rel. diff vs jaxrnn |",
             "|---|---|---|---|---|---|---|"]
    for key in dict.fromkeys((r["shape"], r["dtype"]) for r in rows):
        group = [r for r in rows if (r["shape"], r["dtype"]) == key]
        me = next((r for r in group if r["impl"] == "jaxrnn" and "fwd_ms" in r), None)
        for r in group:
            label = f"{r['shape']} ({r['B']}, {r['T']}, {r['d_h']}), {r['dtype']}"
            if "error" in r:
                lines.append(f"| {label} | {r['impl']} | failed: {r['error'][:120]} | | | | |")
                continue
            ratio = (f"{me['fwd_ms'] / r['fwd_ms']:.2f} / {me['fwd_bwd_ms'] / r['fwd_bwd_ms']:.2f}"
                     if me else "n/a")
            flag = "" if r["ok"] else " (over tolerance)"
            lines.append(f"| {label} | {r['impl']} | {r['fwd_ms']:.2f} | {r['fwd_bwd_ms']:.2f} | "
                         f"{ratio} | {r['out_rel_err']:.1e}{flag} | "
                         f"{r.get('dU_rel_vs_jaxrnn', float('nan')):.1e} |")
    return "\n".join(lines) + "\n"


def environment() -> dict:
    env = {"device": jax.devices()[0].device_kind, "backend": jax.default_backend(),
           "jax": jax.__version__, "python": platform.python_version()}
    for mod in ("jaxlib", "flax", "torch"):
        with contextlib.suppress(ImportError):
            env[mod] = __import__(mod).__version__
    with contextlib.suppress(Exception):
        import torch

        env["cudnn"] = torch.backends.cudnn.version()
        env["torch_device"] = torch.cuda.get_device_name(0)
    return env


def main(argv: list[str] | None = None, *, run: Callable[..., list[dict]] | None = None,
         name: str = "gpu_lstm", doc: str | None = __doc__) -> list[dict]:
    """The command line; ``benchmarks.gpu_gru`` passes its own ``run`` (a
    :func:`run_config`), ``name`` and ``doc``."""
    run = run or run_config
    ap = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes on CPU")
    ap.add_argument("--reps", type=int, default=30, help="timed calls per implementation/mode")
    ap.add_argument("--budget", type=float, default=15.0, help="seconds of timing per config")
    ap.add_argument("--configs", default=",".join(f"{s}:{d}" for s, d in CONFIGS),
                    help=f"comma list of shape:dtype (shapes: {', '.join(SHAPES)}; dtypes: "
                    f"{', '.join(TOL)})")
    ap.add_argument("--unrolls", default="8", help="comma list of extra jaxrnn unroll rows")
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / f"{name}.json"),
                    help="where to write the rows (and, beside it, the .md table)")
    args = ap.parse_args(argv)
    configs = [tuple(c.split(":")) for c in args.configs.split(",")]
    for c in configs:
        if len(c) != 2 or c[0] not in SHAPES or c[1] not in TOL:
            ap.error(f"--configs: expected shape:dtype with a shape in {list(SHAPES)} and a "
                     f"dtype in {list(TOL)}, got {':'.join(c)!r}")
    on_gpu = not args.dry_run and jax.default_backend() == "gpu"
    if not args.dry_run and not on_gpu:
        raise SystemExit("no GPU backend: run on a CUDA machine, or use --dry-run")
    shapes = DRY_SHAPES if args.dry_run else SHAPES
    reps, budget = (2, 1.0) if args.dry_run else (args.reps, args.budget)
    env = environment()
    print(f"environment: {env}", flush=True)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    t0 = time.perf_counter()
    for shape_name, dtype in configs:
        print(f"{shape_name} {shapes[shape_name]} {dtype} ...", flush=True)
        rows += run(shape_name, dtype, on_gpu, reps, budget, shapes,
                    tuple(int(u) for u in args.unrolls.split(",") if u))
        env["wall_s"] = time.perf_counter() - t0
        out.write_text(json.dumps({"environment": env, "rows": rows}, indent=1))
        out.with_suffix(".md").write_text(markdown(rows))
    print(markdown(rows))
    print(f"wrote {out} and {out.with_suffix('.md')} in {env['wall_s']:.0f} s")
    return rows


if __name__ == "__main__":
    main()
