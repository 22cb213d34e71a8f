"""What every ``benchmarks.gpu_*`` script shares: configurations, the ``Impl`` record, checking
against float64, interleaved timing, the markdown table, the environment and the command line.

A script (:mod:`benchmarks.gpu_lstm`, :mod:`benchmarks.gpu_gru`, :mod:`benchmarks.gpu_minrnn`)
supplies its implementations through a ``run_config(shape_name, dtype, on_gpu, reps,
budget_s, shapes, unrolls) -> rows`` that calls :func:`time_impls`, and its ``main`` is
:func:`main` with that ``run_config``, its name and its docstring.
"""

from __future__ import annotations

import argparse
import contextlib
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

from benchmarks.harness import timed_rounds

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
    host: Callable[[Any], np.ndarray] = lambda hs: f64(hs)  # forward() result -> float64


def jax_impl(name: str, apply, weights, xs, dU) -> Impl:
    fwd = jax.jit(apply)
    grad = jax.jit(jax.grad(lambda w, x: apply(w, x).astype(jnp.float32).sum()))
    return Impl(name, lambda: fwd(weights, xs), lambda: grad(weights, xs), dU)


def f64(a) -> np.ndarray:
    return np.asarray(jnp.asarray(a, jnp.float32), np.float64)


def jax_dtype(dtype: str) -> Any:
    """The JAX dtype of a configuration's dtype name (``float32-highest`` is float32)."""
    return jnp.bfloat16 if dtype == "bfloat16" else jnp.float32


def torch_module_impl(m, xs, on_gpu: bool) -> Impl:
    """The ``Impl`` of a single-layer ``torch.nn.LSTM`` / ``GRU`` ``m`` on the JAX input
    ``xs``, both moved to the device and ``xs``'s dtype; ``dU`` is the gradient of its
    ``weight_ih_l0``."""
    import torch

    dev = "cuda" if on_gpu else "cpu"
    tdt = {jnp.dtype("float32"): torch.float32, jnp.dtype("bfloat16"): torch.bfloat16}[xs.dtype]
    m = m.to(dev, tdt)
    m.flatten_parameters()  # one cuDNN weight buffer; else every call compacts the weights
    x = torch.from_numpy(np.array(jnp.asarray(xs, jnp.float32))).to(dev, tdt)

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


def main(argv: list[str] | None, *, run: Callable[..., list[dict]], name: str,
         doc: str | None) -> list[dict]:
    """The command line of the script ``benchmarks.<name>``, timing with its ``run_config``."""
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


