"""What every benchmark shares: the shapes, the inputs, and interleaved timing.

Implementations are timed in one process, interleaved call by call (so load on a shared
machine hits them alike), in an order that rotates every round (:func:`round_order`): a
call that came right after PyTorch's ran 4-9% slower than one after a JAX peer's (medium
and long LSTM forward, 2 cores), PyTorch's OpenMP threads still spinning, and a fixed
order made that the same peer every time.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import jax

import jaxrnn

SHAPES = {  # name: (B, T, d_h), d_in = d_h, float32
    "small": (1, 1000, 128),
    "medium": (32, 200, 256),
    "large": (128, 100, 512),
    "long": (16, 2000, 128),
}
QUICK_SHAPES = {"tiny": (2, 12, 8)}
MODES = ("fwd", "grad")  # forward; forward+backward


def inputs(kind: str, B: int, T: int, d_h: int) -> tuple[Any, jax.Array]:
    """Parameters (``"lstm"`` or ``"rnn"``, non-zero biases) and inputs ``(B, T, d_h)``."""
    k_p, k_b, k_x = jax.random.split(jax.random.key(0), 3)
    if kind == "lstm":
        p = jaxrnn.init_lstm_params(k_p, d_h, d_h)
        kb = jax.random.split(k_b, 4)
        p = jaxrnn.LSTMParams(
            *(g._replace(b=g.b + 0.1 * jax.random.normal(k, g.b.shape)) for g, k in zip(p, kb))
        )
    else:
        p = jaxrnn.init_rnn_params(k_p, d_h, d_h, 1)
        p = p._replace(b_s=0.1 * jax.random.normal(k_b, p.b_s.shape))
    return p, jax.random.normal(k_x, (B, T, d_h))


def round_order(items: list, r: int) -> list:
    """``items`` rotated by ``r``: over ``len(items)`` rounds each leads, and follows, once."""
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


def call_seconds(impl: Any, mode: str) -> float:
    """Seconds of one call of ``impl.forward`` (``"fwd"``) or ``impl.grad``, synchronised."""
    fn = impl.forward if mode == "fwd" else impl.grad
    start = time.perf_counter()
    impl.sync(fn())
    return time.perf_counter() - start


def timed_rounds(impls: list, reps: int, budget_s: float, modes: tuple = MODES) -> dict:
    """Seconds per call of each ``(name, mode)``: ``reps`` rounds of every implementation's
    calls in ``modes``, in :func:`round_order`; stops early (after at least 3 rounds) once
    ``budget_s`` is spent. Implementations need ``name``, ``forward``, ``grad``, ``sync``.
    """
    times: dict = {(impl.name, m): [] for impl in impls for m in modes}
    start = time.perf_counter()
    for r in range(reps):
        for impl in round_order(impls, r):
            for mode in modes:
                times[(impl.name, mode)].append(call_seconds(impl, mode))
        if r >= 2 and time.perf_counter() - start > budget_s:
            break
    return times


def run_meta(started: float, **extra: Any) -> dict:
    """The conditions of a run that began at ``started`` (``time.time()``), for the ``meta``
    block of a results file: versions, machine, start (UTC), wall seconds, load average."""
    return {
        "jax": jax.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "backend": jax.default_backend(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "wall_s": time.time() - started,
        "loadavg_end": os.getloadavg(),
        **extra,
    }
