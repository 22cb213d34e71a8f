"""Compile time, the Python-loop contrast, and memory with and without ``remat``.

``python -m benchmarks.extras pyloop T`` compiles forward+backward of a Python loop of
``lstm_step`` under ``jit`` and prints the seconds (run in a subprocess with a timeout).
"""

from __future__ import annotations

import subprocess
import sys
import time

import jax
import jax.numpy as jnp

import jaxrnn


def _lstm_loss(p, xs, remat=None):
    return jaxrnn.lstm_scan(p, xs, remat=remat)[1].sum()


def compile_seconds(T: int, B: int = 4, d_h: int = 128) -> dict:
    """First call minus a steady call of jitted forward+backward, at sequence length T."""
    p = jaxrnn.init_lstm_params(jax.random.key(0), d_h, d_h)
    xs = jnp.ones((B, T, d_h))
    fn = jax.jit(jax.grad(_lstm_loss))  # a fresh jit: nothing cached for this function
    start = time.perf_counter()
    jax.block_until_ready(fn(p, xs))
    first = time.perf_counter() - start
    steady = []
    for _ in range(3):
        start = time.perf_counter()
        jax.block_until_ready(fn(p, xs))
        steady.append(time.perf_counter() - start)
    steady_s = sorted(steady)[1]
    return {"T": T, "B": B, "d_h": d_h, "first_s": first, "steady_s": steady_s,
            "compile_s": first - steady_s}


def _pyloop_compile(T: int, d_h: int = 128) -> float:
    p = jaxrnn.init_lstm_params(jax.random.key(0), d_h, d_h)
    xs = jnp.ones((4, T, d_h))

    def loss(p, xs):
        zeros = jnp.zeros((xs.shape[0], d_h))
        state, total = jaxrnn.LSTMState(h=zeros, C=zeros), 0.0
        for t in range(xs.shape[1]):  # unrolled at trace time: the program grows with T
            state, h_t = jaxrnn.lstm_step(p, state, xs[:, t])
            total = total + h_t.sum()
        return total

    start = time.perf_counter()
    jax.jit(jax.grad(loss)).lower(p, xs).compile()
    return time.perf_counter() - start


def python_loop_compile(T: int, timeout_s: float) -> dict:
    """Compile seconds of the Python-loop contrast, in a subprocess capped at timeout_s."""
    cmd = [sys.executable, "-m", "benchmarks.extras", "pyloop", str(T)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=True)
        return {"T": T, "compile_s": float(out.stdout.strip().splitlines()[-1]),
                "timed_out": False}
    except subprocess.TimeoutExpired:
        return {"T": T, "compile_s": None, "timed_out": True, "timeout_s": timeout_s}


def memory(B: int, T: int, d_h: int, remat: int | None, run: bool) -> dict:
    """XLA's buffer assignment for jitted forward+backward (and optionally one timed run)."""
    p = jaxrnn.init_lstm_params(jax.random.key(0), d_h, d_h)
    xs = jnp.ones((B, T, d_h))
    compiled = jax.jit(jax.grad(_lstm_loss), static_argnums=2).lower(p, xs, remat).compile()
    stats = compiled.memory_analysis()
    result = {"B": B, "T": T, "d_h": d_h, "remat": remat,
              "temp_MiB": stats.temp_size_in_bytes / 2**20,
              "peak_MiB": (stats.temp_size_in_bytes + stats.argument_size_in_bytes
                           + stats.output_size_in_bytes) / 2**20}
    if run:
        start = time.perf_counter()
        jax.block_until_ready(compiled(p, xs))
        result["run_s"] = time.perf_counter() - start
    return result


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "pyloop":
        sys.exit("usage: python -m benchmarks.extras pyloop T")
    print(_pyloop_compile(int(sys.argv[2])))
