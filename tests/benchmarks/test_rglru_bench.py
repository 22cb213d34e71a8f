"""CPU dry run of the RG-LRU benchmark script (tiny shape, few calls)."""

from __future__ import annotations

import json

import pytest


def test_rglru_benchmark_quick_run_times_every_implementation(tmp_path):
    from benchmarks import rglru

    results = rglru.main(["--quick", "--reps", "2", "--out", str(tmp_path)])
    (r,) = results
    assert {"rglru", "lstm", "mingru"} <= set(r["ms"]), r
    assert all(t > 0 for m in r["ms"].values() for t in m.values())
    assert r["checks"]["rglru_vs_float64_loop"] < 1e-5, r
    for peer in rglru.PEERS:  # RecurrentGemma, where installed, runs and agrees
        if "ModuleNotFoundError" in r["errors"].get(peer, ""):
            continue
        assert peer in r["ms"] and r["checks"][f"{peer}_vs_rglru"] < 1e-5, r
    data = json.loads((tmp_path / "rglru.json").read_text())
    assert data["results"] == json.loads(json.dumps(results))
    assert "rglru / rg-linear" in (tmp_path / "rglru.md").read_text()


def test_rglru_benchmark_rejects_unknown_shapes():
    from benchmarks import rglru

    with pytest.raises(KeyError):
        rglru.main(["--shapes", "no-such-shape"])
