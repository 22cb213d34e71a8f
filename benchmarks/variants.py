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
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks.harness import SHAPES, timed_rounds
from benchmarks.peers import Peer

CHECK_TOL = 1e-4  # float32 gradients of a variant vs lstm_scan's, relative to the largest entry
BF16_TOL = 5e-2  # the same for the bfloat16 variant (8 bits of mantissa)


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
    impls = [Peer(name, functools.partial(fn, p, xs), functools.partial(fn, p, xs))
             for name, fn in fns.items()]
    times = timed_rounds(impls, sys.maxsize, budget_s, modes=("grad",))
    return {name: 1e3 * float(np.median(times[(name, "grad")])) for name in fns}


def main(argv: list[str]) -> int:
    names = argv or list(SHAPES)
    unknown = [n for n in names if n not in SHAPES]
    if unknown:
        print(f"error: expected shapes from {list(SHAPES)}, got {unknown}", file=sys.stderr)
        return 2
    for name in names:
        ms = bench(SHAPES[name])
        base = ms["unroll=1"]
        cells = ", ".join(f"{k} {v:.1f} ms ({v / base:.2f}x)" for k, v in ms.items())
        print(f"{name} {SHAPES[name]}: {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
