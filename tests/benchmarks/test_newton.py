"""The Newton benchmark and its GPU script, dry-run on CPU at a tiny size."""

from __future__ import annotations

import json


def test_gpu_newton_dry_run_writes_results(tmp_path):
    from benchmarks import gpu_newton

    out = tmp_path / "newton.json"
    rows = gpu_newton.main(["--dry-run", "--cells", "rnn,lstm", "--json", str(out)])
    assert {(r["cell"], r["jacobian"]) for r in rows} == {
        (c, j) for c in ("rnn", "lstm") for j in ("full", "diagonal")
    }
    assert all(r["max_abs_err"] < 1e-4 and 0 < r["iterations"] <= 20 for r in rows)
    assert len(json.loads(out.read_text())["results"]) == 4
    assert "| newton / seq |" in out.with_suffix(".md").read_text()


def test_what_does_not_fit_is_said_with_its_memory_or_estimated_time():
    from benchmarks import newton

    # LSTM, d_h = 128 (D = 256), B = 16, T = 100,000: 390.6 GiB of full Jacobians
    row = newton.why_not("full", 16, 100000, 256, 6.0, 15.0, None)
    assert row["skipped"].startswith("needs ~1187.1 GiB (full Jacobians 390.6 GiB, limit 6 GiB)")
    ref = {"B": 1, "T": 1000, "d_h": 8, "newton_ms": 10.0}  # 10 ms measured at B=1, T=1000
    row = newton.why_not("diagonal", 16, 10000, 8, 6.0, 1.0, ref, D_ref=8)
    assert abs(row["est_newton_s"] - 1.6) < 1e-9  # scaled by B·T·D²: 160x
    assert row["skipped"].startswith("est. 1.6 s per call (> 1 s; from B=1 T=1000 d_h=8")
    assert newton.why_not("diagonal", 16, 10000, 8, 6.0, 2.0, ref, D_ref=8) == {}
