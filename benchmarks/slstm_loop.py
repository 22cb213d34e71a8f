"""``python -m benchmarks.slstm_loop [--before REV] [SHAPE ...]``: the sLSTM's loop against
the loop of git revision ``REV`` and against ``jaxrnn.lstm_scan``.

The sLSTM's loop (:mod:`jaxrnn._src.loops.slstm`) as it is, and as it was at ``REV``
(default ``main``; its file read with ``git show`` and loaded as a module, the rest of
``jaxrnn`` shared), each run by ``sequence.run_scan`` exactly as ``jaxrnn.slstm_scan`` runs
it, with 1 and 4 heads; our LSTM at the same ``(B, T, d_h)``. Forward and forward+backward
(the gradient of the sum of the outputs with respect to every weight), float32,
``d_in = d_h``, timed in one process, interleaved call by call (``benchmarks.harness``);
printed as median ms and as ratios to the LSTM. Shapes: ``s16`` (16, 200, 128), ``medium``
(32, 200, 256), ``tiny`` (2, 12, 8).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxrnn
from benchmarks import peers
from benchmarks.harness import call_seconds, timed_rounds
from jaxrnn._src import sequence
from jaxrnn.cells import slstm as family

SHAPES = {"s16": (16, 200, 128), "medium": (32, 200, 256), "tiny": (2, 12, 8)}
LOOP = "jaxrnn/_src/loops/slstm.py"


def loop_at(rev: str):
    """The module ``jaxrnn/_src/loops/slstm.py`` of git revision ``rev``."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(["git", "show", f"{rev}:{LOOP}"], cwd=root, check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    name = f"jaxrnn._src.loops._slstm_at_{abs(hash(rev))}"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(text, f"{rev}:{LOOP}", "exec"), module.__dict__)
    return module


class _SLSTMOn(family.SLSTM):
    """The sLSTM cell on another module's ``slstm_sequence`` (not registered)."""

    def __init__(self, loop):
        self._loop = loop

    def sequence(self, params, xs, carry0, mask, resets, *, reverse, return_carries,
                 unroll=1, remat=None):  # fmt: skip
        carry_T, out = self._loop.slstm_sequence(
            family._update, tuple(params), xs, tuple(carry0), sequence.column(mask),
            sequence.column(resets), reverse=reverse, unroll=unroll, remat=remat,
            carries=return_carries,
        )  # fmt: skip
        carries = family.SLSTMState(*out) if return_carries else None
        return family.SLSTMState(*carry_T), out[0], carries


def _scan(cell):
    def apply(p, xs):
        return sequence.run_scan(cell, p, xs, where="benchmark")[1]

    return apply


def build(B: int, T: int, d_h: int, before: str) -> list:
    k = jax.random.split(jax.random.key(1), 4)
    xs = jax.random.normal(k[0], (B, T, d_h))
    out = [peers._jax_peer("lstm", lambda w, x: jaxrnn.lstm_scan(w, x)[1],
                           jaxrnn.init_lstm_params(k[1], d_h, d_h), xs)]  # fmt: skip
    old = _SLSTMOn(loop_at(before))
    for heads in (1, 4):
        p = jaxrnn.init_slstm_params(k[2], d_h, d_h, num_heads=heads)
        out.append(peers._jax_peer(f"slstm {heads}h {before}", _scan(old), p, xs))
        out.append(peers._jax_peer(f"slstm {heads}h", _scan(family.SLSTM_CELL), p, xs))
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.slstm_loop", description=__doc__)
    ap.add_argument("shapes", nargs="*", help=f"of {list(SHAPES)} (default: s16 medium)")
    ap.add_argument("--before", default="main", help="git revision of the loop to compare")
    ap.add_argument("--reps", type=int, default=15, help="timed rounds per shape")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds of timing per shape")
    args = ap.parse_args(argv)
    unknown = set(args.shapes) - set(SHAPES)
    if unknown:
        ap.error(f"unknown shapes {sorted(unknown)}; expected some of {list(SHAPES)}")
    results = {}
    for name in args.shapes or ["s16", "medium"]:
        shape = SHAPES[name]
        built = build(*shape, args.before)
        for peer in built:  # compile, warm up
            call_seconds(peer, "fwd")
            call_seconds(peer, "grad")
        times = timed_rounds(built, args.reps, args.budget)
        ms = {p.name: {m: 1e3 * statistics.median(times[(p.name, m)]) for m in ("fwd", "grad")}
              for p in built}  # fmt: skip
        results[name] = ms
        print(f"\n{name} {shape} (median ms; ratio to lstm; {len(times[('lstm', 'fwd')])} "
              "rounds)")  # fmt: skip
        print("| impl | fwd ms | fwd+bwd ms | fwd / lstm | fwd+bwd / lstm |")
        print("|---|---:|---:|---:|---:|")
        for impl, m in ms.items():
            ref = ms["lstm"]
            print(f"| {impl} | {m['fwd']:.2f} | {m['grad']:.2f} | {m['fwd'] / ref['fwd']:.2f} | "
                  f"{m['grad'] / ref['grad']:.2f} |")  # fmt: skip
    return results


if __name__ == "__main__":
    jnp.zeros(1)  # initialise the backend before timing
    main()
