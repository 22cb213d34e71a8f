"""CPU dry runs of the minGRU/minLSTM benchmark scripts (tiny shapes, few calls)."""

from __future__ import annotations

import json

import pytest


def test_minrnn_benchmark_quick_run_times_every_implementation(tmp_path):
    pytest.importorskip("torch")  # the script sets torch's threads
    from benchmarks import minrnn

    results = minrnn.main(["--quick", "--reps", "2", "--out", str(tmp_path)])
    (r,) = results
    want = {"mingru", "minlstm", "mingru seq", "lstm", "rnn", "gru"}
    assert want <= set(r["ms"]), r
    assert all(t > 0 for m in r["ms"].values() for t in m.values())
    for peer in ("mingru-keras", "mingru-pytorch"):  # a peer that is installed must run
        assert peer in r["ms"] or "ModuleNotFoundError" in r["errors"].get(peer, ""), r
    data = json.loads((tmp_path / "minrnn.json").read_text())
    assert data["results"] == json.loads(json.dumps(results))
    assert "LSTM / impl fwd+bwd" in (tmp_path / "minrnn.md").read_text()


def test_gpu_minrnn_script_dry_run_on_cpu(tmp_path):
    from benchmarks import gpu_minrnn

    out = tmp_path / "gpu_minrnn.json"
    rows = gpu_minrnn.main(["--dry-run", "--configs", "medium:float32-highest,large:bfloat16",
                            "--json", str(out)])  # fmt: skip
    assert {r["shape"] for r in rows} == {"medium minGRU", "medium minLSTM", "large minGRU",
                                          "large minLSTM"}  # fmt: skip
    for r in rows:
        assert "error" not in r and r["ok"], r
        assert r["fwd_ms"] > 0 and r["fwd_bwd_ms"] > 0, r
        tight = r["dtype"] == "float32-highest"
        assert r["out_rel_err"] < (1e-5 if tight else 5e-2), r
        assert r["dU_rel_vs_jaxrnn"] < (1e-5 if tight else 5e-2), r
    assert json.loads(out.read_text())["rows"] == rows
