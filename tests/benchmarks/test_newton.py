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


def test_full_jacobians_over_the_memory_limit_are_skipped():
    from benchmarks import newton

    row = newton.run_config("lstm", "random", "full", 16, 100000, 128, 1, 1.0, 1.0)
    assert row["skipped"] == "full Jacobians need 390.6 GiB"
