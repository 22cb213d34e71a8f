"""``python -m benchmarks.variants [SHAPE ...]``: candidate LSTM speed-ups against ``lstm_scan``.

An A/B harness for ideas that are not (yet) in the library, timed interleaved call by call
in one process, forward+backward (gradient of the sum of the outputs w.r.t. the parameters
and the inputs), float32, on the shapes of :mod:`benchmarks.__main__`:

- ``unroll=k``: ``lstm_scan(..., unroll=k)``, the library's own flag.
- ``custom_vjp``: the cuDNN structure. The input projection of all steps is one GEMM before
  the loop; the reverse loop carries only ``(dh, dC)`` and emits ``dz_t``; afterwards
  ``dW = sum_t h_{t-1}^T dz_t``, ``dU = sum_t x_t^T dz_t`` and ``dx = dz U`` are single
  large GEMMs. It is not in the library because a ``jax.custom_vjp`` function cannot be
  differentiated in forward mode (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian`` would fail).

XLA's CPU options change every variant alike; compare them by running this script under
different ``XLA_FLAGS`` (e.g. ``--xla_cpu_use_onednn=true``), each a separate process.
"""

from __future__ import annotations

import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks.__main__ import SHAPES

CHECK_TOL = 1e-3  # float32 gradients of a variant against lstm_scan's


def _gates(z):
    z_f, z_i, z_c, z_o = jnp.split(z, 4, axis=-1)
    return jax.nn.sigmoid(z_f), jax.nn.sigmoid(z_i), jnp.tanh(z_c), jax.nn.sigmoid(z_o)


def _forward(U_T, W_T, b, xs, h0, C0, save: bool):
    """Time-major LSTM with the input projection hoisted; residuals when ``save``."""

    def body(carry, zx_t):
        h, C = carry
        f, i, g, o = _gates(zx_t + h @ W_T)
        C_new = f * C + i * g
        h_new = o * jnp.tanh(C_new)
        res = (h, C, jnp.concatenate([f, i, g, o], -1)) if save else None
        return (h_new, C_new), (h_new, res)

    (h_T, C_T), (hs, res) = jax.lax.scan(body, (h0, C0), xs @ U_T + b)
    return (h_T, C_T, hs), res


@jax.custom_vjp
def lstm_fused(U_T, W_T, b, xs, h0, C0):
    """``(h_T, C_T, hs)`` of the LSTM over time-major ``xs (T, B, d_in)``."""
    return _forward(U_T, W_T, b, xs, h0, C0, save=False)[0]


def _fused_fwd(U_T, W_T, b, xs, h0, C0):
    out, res = _forward(U_T, W_T, b, xs, h0, C0, save=True)
    return out, (U_T, W_T, xs, res)


def _fused_bwd(saved, cts):
    U_T, W_T, xs, (h_prev, C_prev, gates) = saved
    dh_T, dC_T, dhs = cts

    def body(carry, inp):
        dh, dC = carry
        dh_out, C_p, gt = inp
        f, i, g, o = jnp.split(gt, 4, axis=-1)
        tanh_C = jnp.tanh(f * C_p + i * g)
        dh = dh + dh_out
        dC = dC + dh * o * (1 - tanh_C**2)
        dz = jnp.concatenate(
            [dC * C_p * f * (1 - f), dC * g * i * (1 - i), dC * i * (1 - g**2),
             dh * tanh_C * o * (1 - o)], -1)  # fmt: skip
        return (dz @ W_T.T, dC * f), dz

    (dh0, dC0), dz = jax.lax.scan(body, (dh_T, dC_T), (dhs, C_prev, gates), reverse=True)
    T, B, four_h = dz.shape
    dz2 = dz.reshape(T * B, four_h)
    dW_T = h_prev.reshape(T * B, -1).T @ dz2
    dU_T = xs.reshape(T * B, -1).T @ dz2
    return dU_T, dW_T, dz2.sum(0), dz @ U_T.T, dh0, dC0


lstm_fused.defvjp(_fused_fwd, _fused_bwd)


def _loss_scan(p, xs, unroll=1):
    return jnp.sum(jaxrnn.lstm_scan(p, xs, unroll=unroll)[1])


def _loss_fused(p, xs):
    U_T = jnp.concatenate([g.U for g in p]).T
    W_T = jnp.concatenate([g.W for g in p]).T
    b = jnp.concatenate([g.b for g in p])
    zeros = jnp.zeros((xs.shape[0], W_T.shape[0]), xs.dtype)
    return jnp.sum(lstm_fused(U_T, W_T, b, jnp.moveaxis(xs, 1, 0), zeros, zeros)[2])


def variants() -> dict:
    grad = functools.partial(jax.grad, argnums=(0, 1))
    out = {f"unroll={k}": jax.jit(grad(functools.partial(_loss_scan, unroll=k))) for k in (1, 2, 4)}
    out["custom_vjp"] = jax.jit(grad(_loss_fused))
    return out


def bench(shape: tuple[int, int, int], budget_s: float = 10.0) -> dict[str, float]:
    """Median ms of forward+backward per variant; raises if a variant's gradient differs."""
    B, T, d_h = shape
    p = jaxrnn.init_lstm_params(jax.random.key(0), d_h, d_h)
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h))
    fns = variants()
    want = jax.tree.leaves(fns["unroll=1"](p, xs))
    for name, fn in fns.items():
        got = jax.tree.leaves(fn(p, xs))
        err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(got, want))
        if err > CHECK_TOL:
            raise ValueError(f"{name}: expected gradients within {CHECK_TOL}, got max |diff| {err}")
    times: dict[str, list[float]] = {name: [] for name in fns}
    end = time.perf_counter() + budget_s
    while time.perf_counter() < end or len(times["unroll=1"]) < 3:
        for name, fn in fns.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(p, xs))
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * float(np.median(t)) for name, t in times.items()}


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
