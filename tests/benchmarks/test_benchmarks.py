"""Smoke tests of the benchmark scripts at tiny shapes (those that run PyTorch need torch)."""

from __future__ import annotations

import json
import sys

import pytest


def test_quick_benchmark_checks_every_peer_and_writes_results(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from benchmarks import compare as bench

    monkeypatch.setattr(sys, "argv", ["benchmarks", "--quick", "--no-extras", "--reps", "2",
                                      "--out", str(tmp_path)])
    bench.main()
    data = json.loads((tmp_path / "bench.json").read_text())
    by_kind = {r["kind"]: r for r in data["results"]}
    assert set(by_kind["lstm"]["ms"]) == {"jaxrnn", "flax.linen", "flax.nnx", "equinox", "haiku",
                                          "torch"}
    assert set(by_kind["rnn"]["ms"]) == {"jaxrnn", "flax.linen", "torch"}
    assert set(by_kind["gru"]["ms"]) == {"jaxrnn", "flax.linen", "flax.nnx", "equinox", "torch"}
    assert all(not r["errors"] for r in data["results"])
    assert all(t > 0 for r in data["results"] for m in r["ms"].values() for t in m.values())
    assert "ratio jaxrnn / peer" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "bench.png").stat().st_size > 0


def test_call_order_rotates_so_no_peer_always_follows_the_same_one():
    from benchmarks.harness import round_order

    peers = ["jaxrnn", "flax", "torch"]
    rounds = [round_order(peers, r) for r in range(len(peers))]
    assert all(sorted(o) == sorted(peers) for o in rounds)
    assert {o[0] for o in rounds} == set(peers)  # each leads once
    # who runs right before jaxrnn, the previous round's last call included
    calls = [p for o in rounds * 2 for p in o]
    before = {calls[i - 1] for i in range(1, len(calls)) if calls[i] == "jaxrnn"}
    assert before == {"flax", "torch"}
    assert round_order([], 3) == []


def test_full_runs_rewrite_the_readme_table_between_the_markers(tmp_path):
    from benchmarks import report

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_START}\nold table\n{report.README_END}\nrest\n")
    assert report.update_readme(readme, "| new | table |\n")
    assert report.update_readme(readme, "| new | table |\n")  # idempotent
    assert readme.read_text() == (
        f"intro\n{report.README_START}\n\n| new | table |\n\n{report.README_END}\nrest\n"
    )
    bare = tmp_path / "BARE.md"
    bare.write_text("no markers\n")
    assert not report.update_readme(bare, "x") and bare.read_text() == "no markers\n"


def test_gpu_script_dry_run_on_cpu(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import gpu_lstm

    out = tmp_path / "gpu.json"
    configs = "large:float32-highest,medium:bfloat16"
    rows = gpu_lstm.main(["--dry-run", "--configs", configs, "--json", str(out)])
    want = {"jaxrnn", "jaxrnn unroll=8", "jax.experimental.rnn", "flax.linen", "torch"}
    assert {(r["shape"], r["dtype"]) for r in rows} == {("large", "float32-highest"),
                                                       ("medium", "bfloat16")}
    for r in rows:
        assert "error" not in r and r["impl"] in want, r
        assert r["fwd_ms"] > 0 and r["fwd_bwd_ms"] > 0 and r["ok"], r
        # every implementation computes the same LSTM: outputs against float64, and the
        # gradient of the input weights against jaxrnn's
        assert r["out_rel_err"] < (1e-6 if r["dtype"] == "float32-highest" else 2e-2), r
        assert r["dU_rel_vs_jaxrnn"] < (1e-6 if r["dtype"] == "float32-highest" else 3e-2), r
    assert {r["impl"] for r in rows} == want
    data = json.loads(out.read_text())
    assert data["rows"] == rows and data["environment"]["backend"] == "cpu"
    table = out.with_suffix(".md").read_text()
    assert table.count("\n") == 2 + len(rows) and "jax.experimental.rnn" in table


def test_gpu_script_flags_a_wrong_implementation(monkeypatch):
    pytest.importorskip("torch")
    from benchmarks import gpu_harness, gpu_lstm

    real = gpu_lstm.jaxrnn_impl

    def broken(p, xs, unroll=1):  # the output gate's bias off by 0.5: a different LSTM
        return real(p._replace(o=p.o._replace(b=p.o.b + 0.5)), xs, unroll)

    monkeypatch.setattr(gpu_lstm, "jaxrnn_impl", broken)
    rows = gpu_lstm.run_config("medium", "float32", False, 2, 1.0, gpu_harness.DRY_SHAPES, ())
    mine = next(r for r in rows if r["impl"] == "jaxrnn")
    assert not mine["ok"] and mine["out_rel_err"] > 1e-2
    assert all(r["ok"] for r in rows if r["impl"] != "jaxrnn")
    assert "over tolerance" in gpu_harness.markdown(rows)


def test_gpu_script_rejects_unknown_configs():
    from benchmarks import gpu_lstm

    with pytest.raises(SystemExit):
        gpu_lstm.main(["--dry-run", "--configs", "large:float64"])


def test_gpu_gru_script_dry_run_on_cpu(tmp_path):
    pytest.importorskip("torch")
    from benchmarks import gpu_gru

    out = tmp_path / "gpu_gru.json"
    configs = "large:float32-highest,medium:bfloat16"
    rows = gpu_gru.main(["--dry-run", "--configs", configs, "--json", str(out)])
    assert {r["impl"] for r in rows} == {"jaxrnn", "jaxrnn unroll=8", "flax.linen", "torch"}
    for r in rows:  # every implementation computes the same GRU
        assert "error" not in r and r["ok"], r
        assert r["out_rel_err"] < (1e-6 if r["dtype"] == "float32-highest" else 2e-2), r
        assert r["dU_rel_vs_jaxrnn"] < (1e-6 if r["dtype"] == "float32-highest" else 3e-2), r
    assert json.loads(out.read_text())["rows"] == rows
