"""GPU minGRU / minLSTM: the parallel scan against the sequential one and ``mingru-keras``.

``python -m benchmarks.gpu_minrnn [--json PATH]`` on a CUDA machine; ``--dry-run`` runs the
same code on CPU at a tiny size. The configurations, flags, timing and tables are those of
:mod:`benchmarks.gpu_lstm` (whose rows give the sequential LSTM at the same shapes): for
each cell, ``jaxrnn`` is ``mingru_scan`` / ``minlstm_scan`` with ``parallel=True`` (the
associative scan off CPU), ``jaxrnn parallel=False`` the ``lax.scan`` of the step, and for
the minGRU ``mingru-keras`` (Keras 3 on JAX) where installed. ``out_rel_err`` is against
the cell's equations in float64 NumPy, ``dU_rel_vs_jaxrnn`` compares the gradients of the
input matrices (``[U_z; U_h]`` or ``[U_f; U_i; U_h]``). Not run yet: no GPU was available
when it was written.
"""

from __future__ import annotations

import jax
import numpy as np

import jaxrnn
from benchmarks import gpu_harness
from benchmarks.gpu_harness import N_REF, Impl, f64, jax_impl, time_impls
from benchmarks.minrnn import _min_params

CELLS = {
    "minGRU": (jaxrnn.init_mingru_params, jaxrnn.mingru_scan, ("U_z", "U_h")),
    "minLSTM": (jaxrnn.init_minlstm_params, jaxrnn.minlstm_scan, ("U_f", "U_i", "U_h")),
}


def jaxrnn_impl(cell: str, p, xs, parallel: bool = True) -> Impl:
    _, scan, mats = CELLS[cell]
    name = "jaxrnn" if parallel else "jaxrnn parallel=False"

    def dU(g):
        return np.concatenate([f64(getattr(g, m)) for m in mats])

    return jax_impl(name, lambda w, x: scan(w, x, parallel=parallel)[1], p, xs, dU)


def keras_impl(p: jaxrnn.MinGRUParams, xs) -> Impl:
    from benchmarks.minrnn import keras_mingru

    peer = keras_mingru(p, xs)

    def dU(g):  # trainable variables: gate kernel, gate bias, candidate kernel, bias
        return np.concatenate([f64(g[0]).T, f64(g[2]).T])

    return Impl("mingru-keras", peer.forward, peer.grad, dU)


def min_f64(cell: str, p, xs) -> np.ndarray:
    """The cell's equations in float64 NumPy, ``hs (B, T, d_h)`` from a zero state."""
    q = {n: f64(a) for n, a in p._asdict().items()}
    x = f64(xs)
    h = np.zeros((x.shape[0], q["U_h"].shape[0]))
    hs = []
    for t in range(x.shape[1]):
        h_tilde = x[:, t] @ q["U_h"].T + q["b_h"]
        if cell == "minGRU":
            z = 1.0 / (1.0 + np.exp(-(x[:, t] @ q["U_z"].T + q["b_z"])))
            h = (1 - z) * h + z * h_tilde
        else:
            f = 1.0 / (1.0 + np.exp(-(x[:, t] @ q["U_f"].T + q["b_f"])))
            i = 1.0 / (1.0 + np.exp(-(x[:, t] @ q["U_i"].T + q["b_i"])))
            h = f / (f + i) * h + i / (f + i) * h_tilde
        hs.append(h)
    return np.stack(hs, axis=1)


def run_config(shape_name: str, dtype: str, on_gpu: bool, reps: int, budget_s: float,
               shapes: dict, unrolls: tuple[int, ...] = ()) -> list[dict]:
    """Build, check and time both cells' implementations on one shape and dtype."""
    B, T, d_h = shapes[shape_name]
    jdt = gpu_harness.jax_dtype(dtype)
    xs = jax.random.normal(jax.random.key(0), (B, T, d_h)).astype(jdt)
    rows = []
    for k, (cell, (init, _, _)) in enumerate(CELLS.items()):
        p = jax.tree.map(lambda a: a.astype(jdt), _min_params(init, jax.random.key(k), d_h))
        builders = {
            "jaxrnn": lambda p=p, cell=cell: jaxrnn_impl(cell, p, xs),
            "jaxrnn parallel=False": lambda p=p, cell=cell: jaxrnn_impl(cell, p, xs, False),
        }
        if cell == "minGRU" and dtype != "bfloat16":
            builders["mingru-keras"] = lambda p=p: keras_impl(p, xs)
        meta = {"shape": f"{shape_name} {cell}", "B": B, "T": T, "d_h": d_h, "dtype": dtype}
        rows += time_impls(builders, min_f64(cell, p, xs[:N_REF]), meta, reps, budget_s)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    return gpu_harness.main(argv, run=run_config, name="gpu_minrnn", doc=__doc__)


if __name__ == "__main__":
    main()
