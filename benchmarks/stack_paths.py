"""What resets and return_carries cost in ``jaxrnn.layers.stack`` (forward + backward).

Runs the same LSTM (and RNN) stack four ways, interleaved round by round, and prints the
median time of each relative to the plain call:

- ``plain``: ``stack(params, xs)`` (the fast loops);
- ``carries``: ``return_carries=True`` (fast loops; the LSTM's ``C_t`` recomputed after);
- ``resets``: ``resets=`` a bool array (never true: the same values), which runs the
  equations in a plain ``jax.lax.scan`` differentiated by JAX;
- ``resets+carries``: both.

    PYTHONPATH=. python -m benchmarks.stack_paths [--B 16 --T 256 --d_h 128 --rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from jaxrnn.layers import init_stack, stack


def _loss(params, xs, resets, carries):
    out = stack(params, xs, resets=resets, return_carries=carries)
    total = jnp.sum(out[1] ** 2)
    if carries:
        total += sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(out[2]))
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--T", type=int, default=256)
    ap.add_argument("--d_in", type=int, default=32)
    ap.add_argument("--d_h", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    xs = jax.random.normal(jax.random.key(1), (a.B, a.T, a.d_in))
    no_resets = jnp.zeros((a.B, a.T), bool)
    print(
        f"jax {jax.__version__}, {jax.devices()[0].platform}, B={a.B} T={a.T} "
        f"d_in={a.d_in} d_h={a.d_h}, fwd+bwd, median of {a.rounds} interleaved rounds"
    )
    for cell in ("lstm", "rnn"):
        params = init_stack(jax.random.key(0), cell, a.d_in, a.d_h, d_out=8)
        variants = {
            "plain": (None, False),
            "carries": (None, True),
            "resets": (no_resets, False),
            "resets+carries": (no_resets, True),
        }
        fns = {}
        for name, (r, c) in variants.items():
            fn = jax.jit(jax.grad(lambda p, x, r, c=c: _loss(p, x, r, c)))
            jax.block_until_ready(fn(params, xs, r))  # compile
            fns[name] = (fn, r)
        times = {name: [] for name in fns}
        for i in range(a.rounds):
            names = list(fns)[i % len(fns) :] + list(fns)[: i % len(fns)]  # rotate the order
            for name in names:
                fn, r = fns[name]
                t0 = time.perf_counter()
                jax.block_until_ready(fn(params, xs, r))
                times[name].append(time.perf_counter() - t0)
        base = statistics.median(times["plain"])
        for name, ts in times.items():
            m = statistics.median(ts)
            print(f"{cell:5s} {name:15s} {1e3 * m:8.2f} ms  {m / base:5.2f}x plain")


if __name__ == "__main__":
    main()
