"""``python -m benchmarks.min_blocked [SHAPE ...]``: the minGRU / minLSTM CPU forward, blocked
against unblocked, and the block size.

An A/B harness for :mod:`jaxrnn._src.linear`, timed interleaved call by call in one
process, forward only (the blocked form is the forward pass; derivatives run the unblocked
form), float32, on the shapes of :mod:`benchmarks.minrnn`, ``d_in = d_h``:

- ``unblocked``: all steps' gates from one product, then the in-place recurrence (what
  ``mingru_scan`` ran on CPU before the blocked form, and runs on accelerators).
- ``K=k``: blocks of ``k`` steps; ``k`` runs over the divisors of ``T`` near
  ``BLOCK_ROWS / B`` (a factor 4 either side) plus the one :func:`block_steps` picks
  (marked ``*``).

Every variant's output is checked against ``unblocked`` (``CHECK_TOL``) before timing.
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks.harness import timed_rounds
from benchmarks.minrnn import ALL_SHAPES
from benchmarks.peers import Peer
from jaxrnn._src import linear
from jaxrnn._src.linear import BLOCK_ROWS, block_steps

CHECK_TOL = 1e-5  # float32 outputs of a variant vs unblocked, absolute
CELLS = {"mingru": (jaxrnn.init_mingru_params, jaxrnn.get_cell("mingru")),
         "minlstm": (jaxrnn.init_minlstm_params, jaxrnn.get_cell("minlstm"))}  # fmt: skip


def candidates(T: int, n: int) -> list[int]:
    """Divisors of ``T`` within a factor 4 of ``BLOCK_ROWS / n``, and ``block_steps``'s."""
    target = max(BLOCK_ROWS // n, 1)
    near = [k for k in range(1, T + 1) if T % k == 0 and target / 4 <= k <= 4 * target]
    return sorted(set(near[:: max(1, len(near) // 6)]) | {block_steps(T, n)})


def variants(cell: str, T: int, n: int) -> dict:
    spec = CELLS[cell][1]

    def unblocked(p, xs_time, h0):
        return linear.unblocked(spec, False, p, xs_time, h0, None, None)[1]

    def blocked(p, xs_time, h0, K):
        return linear.blocked(spec, False, p, xs_time, h0, None, None, K=K)[1]

    out = {"unblocked": jax.jit(unblocked)}
    for K in candidates(T, n):
        mark = "*" if K == block_steps(T, n) else ""
        out[f"K={K}{mark}"] = jax.jit(functools.partial(blocked, K=K))
    return out


def bench(cell: str, shape: tuple[int, int, int], budget_s: float = 10.0) -> dict[str, float]:
    """Median ms of the forward pass per variant; raises if a variant's output differs."""
    B, T, d_h = shape
    p = CELLS[cell][0](jax.random.key(0), d_h, d_h)
    xs_time = jax.random.normal(jax.random.key(1), (T, B, d_h))
    h0 = jnp.zeros((B, d_h))
    fns = variants(cell, T, B)
    want = fns["unblocked"](p, xs_time, h0)
    for name, fn in fns.items():
        err = float(jnp.max(jnp.abs(fn(p, xs_time, h0) - want)))
        if err > CHECK_TOL:
            raise ValueError(f"{name}: expected outputs within {CHECK_TOL}, got {err}")
    calls = {name: functools.partial(fn, p, xs_time, h0) for name, fn in fns.items()}
    impls = [Peer(name, call, call) for name, call in calls.items()]
    times = timed_rounds(impls, sys.maxsize, budget_s, modes=("fwd",))
    return {name: 1e3 * float(np.median(times[(name, "fwd")])) for name in fns}


def main(argv: list[str]) -> int:
    names = argv or list(ALL_SHAPES)
    unknown = [n for n in names if n not in ALL_SHAPES]
    if unknown:
        print(f"error: expected shapes from {list(ALL_SHAPES)}, got {unknown}", file=sys.stderr)
        return 2
    for name in names:
        for cell in CELLS:
            ms = bench(cell, ALL_SHAPES[name])
            base = ms["unblocked"]
            cells = ", ".join(f"{k} {v:.2f} ms ({base / v:.2f}x)" for k, v in ms.items())
            print(f"{name} {ALL_SHAPES[name]} {cell}: {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
