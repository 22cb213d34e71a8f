"""Newton over time on a GPU: the CPU grid on a card, DEER's headline configuration first.

``python -m benchmarks.gpu_newton`` on a CUDA machine runs :mod:`benchmarks.newton` over
the issue's grid, the same as on CPU (B in {1, 16}, T in {1,000, 10,000, 100,000}, d_h in
{8, 32, 128}, full and diagonal Jacobians), for the GRU, the RNN and the LSTM, with random
and trained-like weights; the GRU comes first, so DEER's headline configuration (Lim et
al. 2024: a GRU at B=16, T=10,000, 68x faster than sequential on a V100) is among the
first rows. A card takes far larger full-Jacobian working sets (``--max-gb 100``) and
Newton calls up to 60 s. Results: ``benchmarks/results/gpu_newton.json`` and ``.md``.
Other arguments are passed on and override these (e.g. ``--trained adding=RUN_DIR`` for
the experiments' trained models, ``--max-gb 30`` for a smaller card). ``--dry-run`` runs
the same code on CPU at a tiny size.
"""

from __future__ import annotations

import sys

from benchmarks import newton

GRID = ["--cells", "gru,rnn,lstm", "--weights", "random,trained", "--B", "1,16",
        "--T", "1000,10000,100000", "--d-h", "8,32,128"]  # fmt: skip
CARD = ["--max-gb", "100", "--max-call-s", "60", "--json", "benchmarks/results/gpu_newton.json"]
DRY_RUN = ["--cells", "gru,rnn,lstm", "--weights", "trained", "--B", "2", "--T", "20",
           "--d-h", "3", "--reps", "2", "--max-gb", "1"]  # fmt: skip


def main(argv: list[str] | None = None) -> list[dict]:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--dry-run" in argv:
        argv.remove("--dry-run")
        return newton.main(DRY_RUN + argv)
    return newton.main(GRID + CARD + argv)


if __name__ == "__main__":
    main()
