"""CPU dry run of the xLSTM benchmark script (tiny shapes, few calls)."""

from __future__ import annotations

import json


def test_xlstm_benchmark_quick_run(tmp_path):
    from benchmarks import xlstm

    impls = "jaxrnn chunkwise,jaxrnn parallel,mlstm_kernels chunkwise"
    results = xlstm.main(["--quick", "--reps", "2", "--impls", impls, "--out", str(tmp_path)])
    (m,) = results["mlstm"]
    assert {"jaxrnn chunkwise", "jaxrnn parallel"} <= set(m["ms"]), m
    # a peer that is installed must run
    assert "mlstm_kernels chunkwise" in m["ms"] or "mlstm_kernels" in m["errors"], m
    (s,) = results["slstm"]
    assert {"lstm", "slstm 1h", "slstm 4h"} == set(s["ms"])
    assert all(t > 0 for r in (m, s) for v in r["ms"].values() for t in v.values())
    data = json.loads((tmp_path / "xlstm.json").read_text())
    assert data["results"] == json.loads(json.dumps(results))
    assert "ref / impl fwd+bwd" in (tmp_path / "xlstm.md").read_text()
