"""The damping benchmark at a tiny size: one row per case and Jacobian, exact results."""

from __future__ import annotations

from benchmarks import newton_damping

ATOL = 1e-4  # float32, T = 12: measured <= 1e-6


def test_newton_damping_runs_every_case_and_reports_iterations(capsys):
    argv = ["--cases", "rnn1.5,lstm", "--jacobians", "diagonal", "--dampings", "0.1",
            "--T", "12", "--d_h", "3", "--batch", "2", "--dtype", "float32"]  # fmt: skip
    rows = newton_damping.main(argv)
    assert len(rows) == 2  # cases x dampings
    assert all(len(r["iterations"]) == 2 and max(r["iterations"]) <= 12 for r in rows)
    table = capsys.readouterr().out
    assert table.count("\n| rnn1.5 | 0 | diagonal |") == 1 and "| damping 0.1 | max err |" in table
    errs = [float(line.rsplit("|", 2)[1]) for line in table.splitlines()[2:]]
    assert max(errs) < ATOL
