"""Newton over time on a GPU: the issue's grid, DEER's headline configuration included.

``python -m benchmarks.gpu_newton`` on a CUDA machine runs :mod:`benchmarks.newton` over
B in {1, 16}, T in {1,000, 10,000, 100,000}, d_h in {8, 32, 128}, every cell (the GRU when
``jaxrnn.gru_scan`` exists; DEER, Lim et al. 2024: a GRU at B=16, T=10,000, 68x faster
than sequential on a V100), random and trained-like weights, full and diagonal
Jacobians, full Jacobians up to 16 GiB. Results: ``benchmarks/results/gpu_newton.json``
and ``.md``. ``--dry-run`` runs the same code on CPU at a tiny size; other arguments are
passed on to :mod:`benchmarks.newton` and override the grid.
"""

from __future__ import annotations

import sys

from benchmarks import newton

GPU_GRID = ["--B", "1,16", "--T", "1000,10000,100000", "--d-h", "8,32,128", "--max-gb", "100",
            "--max-call-s", "60", "--json", "benchmarks/results/gpu_newton.json"]  # fmt: skip
DRY_RUN = ["--B", "2", "--T", "20", "--d-h", "3", "--reps", "2", "--weights", "trained",
           "--jacobians", "full,diagonal"]  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--dry-run" in argv:
        argv.remove("--dry-run")
        return newton.main(DRY_RUN + argv)
    return newton.main(GPU_GRID + argv)


if __name__ == "__main__":
    main()
