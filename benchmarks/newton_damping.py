"""Iterations of ``jaxrnn.newton_scan`` with and without ELK damping (not timed).

``python -m benchmarks.newton_damping`` prints a markdown table: for each case and
Jacobian, the iterations per example (B = 4, float64, default ``tol``) for each
``damping``, and the largest difference from the sequential loop. Cases: the vanilla RNN
(``d_h = 6``, ``T = 200``) with ``W = gain x`` an orthogonal matrix, gains 1 (the
initialisation), 2 (expanding) and 4 (chaotic); the long-memory LSTM (``d_h = 8``,
``T = 300``, forget bias +3, weights halved), which undamped Newton overshoots from a cold
start. ``--cases`` (``rnn<gain>`` or ``lstm``), ``--jacobians``, ``--dampings``,
``--seeds`` (offsets of the random keys) and ``--batch`` choose the runs; ``--T``, ``--d_h``
and ``--dtype`` replace the cases' sizes and float64 (the sequential loop runs in the same
dtype).
"""

from __future__ import annotations

import argparse
import itertools

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

newton = jax.jit(jaxrnn.newton_scan, static_argnums=0, static_argnames=("jacobian", "damping"))


def case(name: str, seed: int, B: int, T: int = 0, d_h: int = 0, dtype=jnp.float64):
    """``(step_fn, carry0, xs, sequential states)`` (``T``, ``d_h``: 0 keeps the case's)."""
    f64 = jnp.float64
    key = lambda i: jax.random.key(seed + i)  # noqa: E731
    if name.startswith("rnn"):
        d = d_h or 6
        p = jaxrnn.init_rnn_params(key(0), 3, d, 2, dtype=f64)
        W = jnp.linalg.qr(jax.random.normal(key(7), (d, d), f64))[0]
        p = jax.tree.map(lambda a: a.astype(dtype), p._replace(W=float(name[3:]) * W))
        xs = jax.random.normal(key(1), (B, T or 200, 3), f64).astype(dtype)
        return (
            (lambda s, x: jaxrnn.rnn_step(p, s, x)[0]),
            jnp.zeros((B, d), dtype),
            xs,
            (jaxrnn.rnn_scan(p, xs)[1]),
        )
    d = d_h or 8
    p = jaxrnn.init_lstm_params(key(2), 3, d, dtype=f64)
    p = p._replace(f=p.f._replace(b=p.f.b + 3.0))
    p = jax.tree.map(lambda a: (0.5 * a if a.ndim == 2 else a).astype(dtype), p)
    xs = jax.random.normal(key(3), (B, T or 300, 3), f64).astype(dtype)
    z = jnp.zeros((B, d), dtype)
    step = lambda c, x: jaxrnn.lstm_step(p, c, x)[0]  # noqa: E731
    return step, jaxrnn.LSTMState(h=z, C=z), xs, jaxrnn.lstm_scan(p, xs)[1]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="rnn1,rnn2,rnn4,lstm")
    ap.add_argument("--jacobians", default="full,diagonal")
    ap.add_argument("--dampings", default="0,1e-8,1e-4,1e-2,1")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--T", type=int, default=0, help="sequence length (0: the case's)")
    ap.add_argument("--d_h", type=int, default=0, help="state size (0: the case's)")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = ap.parse_args(argv)
    dampings = [float(v) for v in args.dampings.split(",")]
    rows = []
    heads = [f"damping {v:g}" for v in dampings]
    print("| case | seed | jacobian | " + " | ".join(heads) + " | max err |")
    print("|---" * (len(dampings) + 4) + "|")
    with jax.enable_x64(True):
        for name, seed in itertools.product(args.cases.split(","), args.seeds.split(",")):
            dtype = jnp.dtype(args.dtype)
            step, carry0, xs, want = case(name, int(seed), args.batch, args.T, args.d_h, dtype)
            for jac in args.jacobians.split(","):
                cells, err = [], 0.0
                for lam in dampings:
                    _, carries, info = newton(step, carry0, xs, jacobian=jac, damping=lam)
                    h = carries.h if isinstance(carries, jaxrnn.LSTMState) else carries
                    err = max(err, float(np.max(np.abs(np.asarray(h - want)))))
                    its = np.asarray(info.iterations).tolist()
                    row = {"case": name, "seed": int(seed), "jacobian": jac, "damping": lam}
                    rows.append({**row, "iterations": its})
                    cells.append(", ".join(map(str, its)))
                cells = [name, seed, jac, *cells, f"{err:.1e}"]
                print("| " + " | ".join(cells) + " |", flush=True)
    return rows


if __name__ == "__main__":
    main()
