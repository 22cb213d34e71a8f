"""Dry runs of the benchmarks written for every registered cell (tiny shape, few calls)."""

from __future__ import annotations

import json

import pytest

from benchmarks import own_step, resets


def test_own_step_times_both_paths_of_every_cell(tmp_path):
    out = own_step.main(["--shapes", "tiny", "--budget", "0", "--cells", "lstm,mingru",
                         "--out", str(tmp_path)])  # fmt: skip
    assert [r["cell"] for r in out["rows"]] == ["lstm", "mingru"]
    assert all(r["fwd ratio"] > 0 and r["grad ratio"] > 0 for r in out["rows"])
    assert json.loads((tmp_path / "own_step.json").read_text())["rows"][0]["shape"] == "tiny"
    assert "fwd jaxrnn / plain" in (tmp_path / "own_step.md").read_text()


def test_resets_benchmark_times_three_variants(tmp_path):
    out = resets.main(["--shapes", "tiny", "--budget", "0", "--cells", "gru",
                       "--out", str(tmp_path)])  # fmt: skip
    (row,) = out["rows"]
    assert {"resets grad ratio", "carries grad ratio"} <= set(row)
    # paired ratios: the median lies between its quartiles, over at least 3 rounds
    assert row["rounds"] >= 3
    for key in ("resets grad ratio", "carries fwd ratio"):
        assert row[key + " q25"] <= row[key] <= row[key + " q75"]
    assert "return_carries" in (tmp_path / "resets.md").read_text()


def test_unknown_names_are_errors(capsys):
    for main in (own_step.main, resets.main):
        with pytest.raises(SystemExit) as e:
            main(["--shapes", "huge"])
        assert e.value.code == 2
    assert "unknown shapes or cells ['huge']" in capsys.readouterr().err
