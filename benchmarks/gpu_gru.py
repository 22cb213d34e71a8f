"""GPU GRU: jaxrnn against cuDNN's GRU (``torch.nn.GRU`` on CUDA) and Flax ``GRUCell``.

``python -m benchmarks.gpu_gru [--json PATH]`` on a CUDA machine; ``--dry-run`` runs the
same code on CPU at a tiny size. The configurations, flags, timing, checks and tables are
those of :mod:`benchmarks.gpu_lstm` (single layer, d_in = d_h, batch-first; float32 at
default and highest matmul precision, bfloat16); ``jax.experimental.rnn`` has no GRU, so
cuDNN's GRU is reached through PyTorch. ``out_rel_err`` is against a float64 NumPy GRU,
and ``dU_rel_vs_jaxrnn`` compares the gradients of the input weights (``3 d_h x d_in``,
gates ``r, z, n``). Not run yet: no GPU was available when it was written.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

import jaxrnn
from benchmarks import gpu_harness, peers_gru
from benchmarks.gpu_harness import N_REF, Impl, f64, jax_impl, time_impls


def _dU(p: jaxrnn.GRUParams) -> np.ndarray:
    return np.concatenate([f64(g.U) for g in (p.r, p.z, p.n)])  # r, z, n as PyTorch


def jaxrnn_impl(p: jaxrnn.GRUParams, xs, unroll: int = 1) -> Impl:
    name = "jaxrnn" if unroll == 1 else f"jaxrnn unroll={unroll}"
    return jax_impl(name, lambda w, x: jaxrnn.gru_scan(w, x, unroll=unroll)[1], p, xs, _dU)


def flax_impl(p: jaxrnn.GRUParams, xs) -> Impl:
    import flax.linen as nn

    from jaxrnn.interop import from_flax_gru_cell, to_flax_gru_cell

    model = nn.RNN(nn.GRUCell(p.z.W.shape[0]))
    weights = {"params": {"cell": to_flax_gru_cell(p)["params"]}}

    def dU(g):
        return _dU(from_flax_gru_cell(g["params"]["cell"]))

    return jax_impl("flax.linen", lambda w, x: model.apply(w, x), weights, xs, dU)


def torch_impl(p: jaxrnn.GRUParams, xs, on_gpu: bool) -> Impl:
    from jaxrnn.interop import to_torch_gru

    m = to_torch_gru(p)  # b_ih = [b_r, b_z, b_n], b_hh = [0, 0, b_hn]
    return gpu_harness.torch_module_impl(m, xs, on_gpu)


def gru_f64(p: jaxrnn.GRUParams, xs) -> np.ndarray:
    """The GRU equations (``reset_after=True``) in float64 NumPy, from zero states."""
    g = {k: tuple(f64(a) for a in getattr(p, k)) for k in "zrn"}  # (U, W, b)
    b_hn, x = f64(p.b_hn), f64(xs)
    h = np.zeros((x.shape[0], g["z"][1].shape[0]))
    hs = []
    for t in range(x.shape[1]):
        z, r = (1.0 / (1.0 + np.exp(-(x[:, t] @ U.T + h @ W.T + b)))
                for U, W, b in (g["z"], g["r"]))
        U_n, W_n, b_n = g["n"]
        n = np.tanh(x[:, t] @ U_n.T + b_n + r * (h @ W_n.T + b_hn))
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.stack(hs, axis=1)


def run_config(shape_name: str, dtype: str, on_gpu: bool, reps: int, budget_s: float,
               shapes: dict, unrolls: tuple[int, ...] = (8,)) -> list[dict]:
    """Build, check and time every GRU implementation on one shape and dtype."""
    B, T, d_h = shapes[shape_name]
    p32, xs32 = peers_gru.gru_inputs(B, T, d_h)
    p32 = p32._replace(b_hn=0.1 * jax.random.normal(jax.random.key(1), p32.b_hn.shape))
    p, xs = jax.tree.map(lambda a: a.astype(gpu_harness.jax_dtype(dtype)), (p32, xs32))
    builders = {
        "jaxrnn": lambda: jaxrnn_impl(p, xs),
        **{f"jaxrnn unroll={u}": functools.partial(jaxrnn_impl, p, xs, unroll=u) for u in unrolls},
        "flax.linen": lambda: flax_impl(p, xs),
        "torch": lambda: torch_impl(p, xs, on_gpu),
    }
    meta = {"shape": shape_name, "B": B, "T": T, "d_h": d_h, "dtype": dtype}
    return time_impls(builders, gru_f64(p, xs[:N_REF]), meta, reps, budget_s)


def main(argv: list[str] | None = None) -> list[dict]:
    return gpu_harness.main(argv, run=run_config, name="gpu_gru", doc=__doc__)


if __name__ == "__main__":
    main()
