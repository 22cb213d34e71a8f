"""GPU LSTM: jaxrnn against cuDNN (``torch.nn.LSTM``, ``jax.experimental.rnn.lstm``) and Flax.

``python -m benchmarks.gpu_lstm [--json PATH]`` on a CUDA machine; ``--dry-run`` runs the
same code on CPU at a tiny size (there ``jax.experimental.rnn`` has no kernel, so its
pure-JAX ``lstm_ref`` stands in for it). Single-layer LSTM, d_in = d_h, batch-first.

Configurations (``CONFIGS``): the issue's large shape (B=64, T=512, d_h=1024) in float32 at
each framework's default matmul precision (on NVIDIA GPUs since Ampere both JAX and
cuDNN then use TF32 products), in float32 at the highest precision (true float32
products: ``jax.default_matmul_precision("highest")``, ``torch.backends.cudnn.allow_tf32
= False``) and in bfloat16; and the CPU benchmark's medium shape (32, 200, 256) in
float32, where per-step launch overhead dominates.

For every implementation and configuration it reports
- the median ms per call of the forward pass and of forward+backward (gradient of the sum
  of all outputs w.r.t. every weight), timed interleaved call by call with a rotating
  order after a warm-up, each call ending in a device synchronisation;
- ``out_rel_err``: ``||h - h_ref|| / ||h_ref||`` for the first ``N_REF`` sequences against
  a float64 NumPy LSTM run on the same (rounded) weights and inputs;
- ``dU_rel_vs_jaxrnn``: the same relative difference between its gradient of the input
  weights (4 d_h x d_in, gate order i, f, g, o) and jaxrnn's, a cross-check of the
  backward passes.

Measured on an NVIDIA H200 (README, "On a GPU"): ``python -m benchmarks.gpu_lstm --unrolls
4,8,16`` took 120-148 s. There ``jax.experimental.rnn.lstm`` does not lower in bfloat16, and
``torch.nn.LSTM`` in bfloat16 compacts its weights on every call (``flatten_parameters``
accepts only float16/32/64).

Every implementation starts from the same weights. One that fails to build or run is
reported with its error, not fatal. Results go to ``--json`` (default
``benchmarks/results/gpu_lstm.json``) after each configuration, and a markdown table to the
same name with ``.md``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from benchmarks import gpu_harness, peers
from benchmarks.gpu_harness import (
    N_REF,
    Impl,
    f64,
    jax_dtype,
    jax_impl,
    time_impls,
    torch_module_impl,
)
from benchmarks.harness import inputs
from jaxrnn import interop


def jaxrnn_impl(p: jaxrnn.LSTMParams, xs, unroll: int = 1) -> Impl:
    name = "jaxrnn" if unroll == 1 else f"jaxrnn unroll={unroll}"
    return jax_impl(name, lambda w, x: jaxrnn.lstm_scan(w, x, unroll=unroll)[1], p, xs,
                     lambda g: f64(peers.fused(g)[0]))


def cudnn_weights(p: jaxrnn.LSTMParams):
    """``p`` as the flat cuDNN weight vector of ``jax.experimental.rnn``: W_ih, W_hh, b_ih, b_hh."""
    Wx, Wh, b = (jnp.asarray(a) for a in peers.fused(p))
    return jnp.concatenate([Wx.ravel(), Wh.ravel(), b, jnp.zeros_like(b)])


def jax_cudnn_impl(p: jaxrnn.LSTMParams, xs, on_gpu: bool) -> Impl:
    from jax.experimental import rnn

    d_h, d_in = p.f.U.shape
    B = xs.shape[0]
    zeros = jnp.zeros((1, B, d_h), xs.dtype)
    lengths = jnp.full((B,), xs.shape[1], jnp.int32)

    def apply(w, x):
        if on_gpu:
            return rnn.lstm(x, zeros, zeros, w, lengths, d_in, d_h, 1, 0.0, False)[0]
        W_ih, W_hh, b_ih, b_hh = rnn.unpack_lstm_weights(w, d_in, d_h, 1, False)
        return rnn.lstm_ref(x, zeros, zeros, W_ih, W_hh, b_ih, b_hh, lengths, d_in, d_h, 1,
                            0.0, False)[0]

    def dU(g):
        return f64(rnn.unpack_lstm_weights(g, d_in, d_h, 1, False)[0][0])

    return jax_impl("jax.experimental.rnn", apply, cudnn_weights(p), xs, dU)


def flax_impl(p: jaxrnn.LSTMParams, xs) -> Impl:
    apply, weights = peers.flax_linen_lstm_parts(p)

    def dU(g):
        cell = g["params"]["cell"]
        return np.concatenate([f64(cell[f"i{s}"]["kernel"]).T for s in "ifgo"])

    return jax_impl("flax.linen", apply, weights, xs, dU)


def torch_impl(p: jaxrnn.LSTMParams, xs, on_gpu: bool) -> Impl:
    return torch_module_impl(interop.to_torch_lstm(p), xs, on_gpu)  # bias_ih = b, bias_hh = 0


def lstm_f64(p: jaxrnn.LSTMParams, xs) -> np.ndarray:
    """The LSTM equations in float64 NumPy: hs (B, T, d_h) from zero initial states."""
    g = {k: tuple(f64(a) for a in getattr(p, k)) for k in "ifco"}  # (U, W, b)
    x = f64(xs)
    B, T, _ = x.shape
    h = c = np.zeros((B, g["f"][1].shape[0]))
    hs = []
    for t in range(T):
        z = {k: x[:, t] @ U.T + h @ W.T + b for k, (U, W, b) in g.items()}
        sig = {k: 1.0 / (1.0 + np.exp(-z[k])) for k in "ifo"}
        c = sig["f"] * c + sig["i"] * np.tanh(z["c"])
        h = sig["o"] * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1)


def run_config(shape_name: str, dtype: str, on_gpu: bool, reps: int, budget_s: float,
               shapes: dict, unrolls: tuple[int, ...] = (8,)) -> list[dict]:
    """Build, check and time every implementation on one shape and dtype."""
    B, T, d_h = shapes[shape_name]
    p32, xs32 = inputs("lstm", B, T, d_h)
    p, xs = jax.tree.map(lambda a: a.astype(jax_dtype(dtype)), (p32, xs32))
    builders = {
        "jaxrnn": lambda: jaxrnn_impl(p, xs),
        **{f"jaxrnn unroll={u}": functools.partial(jaxrnn_impl, p, xs, unroll=u) for u in unrolls},
        "jax.experimental.rnn": lambda: jax_cudnn_impl(p, xs, on_gpu),
        "flax.linen": lambda: flax_impl(p, xs),
        "torch": lambda: torch_impl(p, xs, on_gpu),
    }
    meta = {"shape": shape_name, "B": B, "T": T, "d_h": d_h, "dtype": dtype}
    return time_impls(builders, lstm_f64(p, xs[:N_REF]), meta, reps, budget_s)


def main(argv: list[str] | None = None) -> list[dict]:
    return gpu_harness.main(argv, run=run_config, name="gpu_lstm", doc=__doc__)


if __name__ == "__main__":
    main()
