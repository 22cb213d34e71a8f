"""GPU LSTM: torch cuDNN vs ``jax.experimental.rnn.lstm`` (cuDNN) vs jaxrnn.

``python -m benchmarks.gpu_lstm`` (B=64, T=512, d_h=1024, float32 and bfloat16) on a
CUDA machine; ``--dry-run`` runs the same code path on CPU at a tiny size (there
``jax.experimental.rnn`` has no kernel, so its float64-free reference ``lstm_ref`` runs).
Prints median ms for forward and forward+backward (gradient of the sum of outputs w.r.t.
every weight); all three start from the same weights and their outputs are compared.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn

ORDER = "ifco"  # cuDNN / torch gate order [i, f, g, o]; jaxrnn's candidate is "c"


def _median_ms(fn, sync, reps: int) -> float:
    sync(fn())
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        sync(fn())
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _from_cudnn(w_ih, w_hh, b, d_h) -> jaxrnn.LSTMParams:
    gates = {g: jaxrnn.Gate(U=w_ih[k * d_h:(k + 1) * d_h], W=w_hh[k * d_h:(k + 1) * d_h],
                            b=b[k * d_h:(k + 1) * d_h]) for k, g in enumerate(ORDER)}
    return jaxrnn.LSTMParams(**gates)


def run(B: int, T: int, d_h: int, dtype: str, reps: int, on_gpu: bool) -> list[dict]:
    from jax.experimental import rnn

    jdt = jnp.dtype(dtype)
    weights = rnn.init_lstm_weight(jax.random.key(0), d_h, d_h, 1, False)
    W_ih, W_hh, b_ih, b_hh = rnn.unpack_lstm_weights(weights, d_h, d_h, 1, False)
    b = b_ih[0] + b_hh[0]
    params = jax.tree.map(lambda a: a.astype(jdt), _from_cudnn(W_ih[0], W_hh[0], b, d_h))
    xs = jax.random.normal(jax.random.key(1), (B, T, d_h), jdt)
    zeros = jnp.zeros((1, B, d_h), jdt)
    lengths = jnp.full((B,), T, jnp.int32)

    def jax_rnn(w, x):
        if on_gpu:
            return rnn.lstm(x, zeros, zeros, w, lengths, d_h, d_h, 1, 0.0, False)[0]
        return rnn.lstm_ref(x, zeros, zeros, {0: w[0]}, {0: w[1]}, {0: w[2]},
                            {0: jnp.zeros_like(w[2])}, lengths, d_h, d_h, 1, 0.0, False)[0]

    jr_weights = weights.astype(jdt) if on_gpu else (W_ih[0], W_hh[0], b)
    jax_impls = {
        "jaxrnn": (lambda p, x: jaxrnn.lstm_scan(p, x)[1], params),
        "jax.experimental.rnn": (jax_rnn, jr_weights),
    }
    rows, outs = [], {}
    for name, (apply, w) in jax_impls.items():
        fwd = jax.jit(apply)
        grad = jax.jit(jax.grad(lambda w, x, apply=apply: apply(w, x).astype(jnp.float32).sum()))
        outs[name] = np.asarray(fwd(w, xs), np.float32)
        rows.append({"impl": name, "mode": "fwd", "ms": _median_ms(
            lambda fwd=fwd, w=w: fwd(w, xs), jax.block_until_ready, reps)})
        rows.append({"impl": name, "mode": "fwd+bwd", "ms": _median_ms(
            lambda grad=grad, w=w: grad(w, xs), jax.block_until_ready, reps)})
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        dev = "cuda" if on_gpu else "cpu"
        tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        m = torch.nn.LSTM(d_h, d_h, batch_first=True).to(dev, tdt)
        t = lambda a: torch.from_numpy(np.array(a, np.float32)).to(dev, tdt)  # noqa: E731
        with torch.no_grad():
            m.weight_ih_l0.copy_(t(W_ih[0]))
            m.weight_hh_l0.copy_(t(W_hh[0]))
            m.bias_ih_l0.copy_(t(b))
            m.bias_hh_l0.zero_()
        x = t(xs.astype(jnp.float32))
        sync = torch.cuda.synchronize if on_gpu else (lambda: None)

        def t_fwd():
            with torch.no_grad():
                return m(x)[0]

        def t_grad():
            m.zero_grad(set_to_none=True)
            m(x)[0].float().sum().backward()

        outs["torch"] = t_fwd().float().cpu().numpy()
        rows.append({"impl": "torch", "mode": "fwd", "ms": _median_ms(t_fwd, lambda _: sync(),
                                                                      reps)})
        rows.append({"impl": "torch", "mode": "fwd+bwd", "ms": _median_ms(
            t_grad, lambda _: sync(), reps)})
    tol = 1e-4 if dtype == "float32" else 5e-2
    for name, out in outs.items():
        err = float(np.max(np.abs(out - outs["jaxrnn"])))
        for r in rows:
            if r["impl"] == name:
                r["max_abs_diff_vs_jaxrnn"] = err
        if not err <= tol:
            print(f"warning: {name} differs from jaxrnn by {err:.2e} (tolerance {tol})")
    for r in rows:
        r.update(B=B, T=T, d_h=d_h, dtype=dtype)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_lstm", description=__doc__)
    ap.add_argument("--dry-run", action="store_true", help="tiny size on CPU")
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args(argv)
    on_gpu = not args.dry_run and jax.default_backend() == "gpu"
    if not args.dry_run and not on_gpu:
        raise SystemExit("no GPU backend: run on a CUDA machine, or use --dry-run")
    B, T, d_h = (2, 5, 8) if args.dry_run else (64, 512, 1024)
    dtypes = ["float32"] if args.dry_run else ["float32", "bfloat16"]
    print(f"device: {jax.devices()[0].device_kind}")
    rows = []
    for dtype in dtypes:
        rows += run(B, T, d_h, dtype, 2 if args.dry_run else args.reps, on_gpu)
    for r in rows:
        print(f"{r['dtype']:9s} {r['impl']:22s} {r['mode']:8s} {r['ms']:9.2f} ms "
              f"(max |diff| vs jaxrnn {r.get('max_abs_diff_vs_jaxrnn', float('nan')):.1e})")
    return rows


if __name__ == "__main__":
    main()
