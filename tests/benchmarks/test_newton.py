"""The Newton benchmark and its GPU script, dry-run on CPU at a tiny size."""

from __future__ import annotations

import json

import jax
import pytest


def test_gpu_newton_dry_run_writes_results(tmp_path):
    from benchmarks import gpu_newton

    out = tmp_path / "newton.json"
    rows = gpu_newton.main(["--dry-run", "--json", str(out)])
    assert {(r["cell"], r["jacobian"]) for r in rows} == {
        (c, j) for c in ("gru", "rnn", "lstm") for j in ("full", "diagonal")
    }
    assert all(r["max_abs_err"] < 1e-4 and 0 < r["iterations"] <= 20 for r in rows)
    assert len(json.loads(out.read_text())["results"]) == 6
    assert "| newton / seq |" in out.with_suffix(".md").read_text()


def test_the_gpu_grid_is_the_cpu_grid_with_the_gru_and_deers_configuration():
    from benchmarks import gpu_newton, newton

    gpu = newton.parser().parse_args(gpu_newton.GRID + gpu_newton.CARD)
    cpu = newton.parser().parse_args([])
    assert (gpu.B, gpu.T, gpu.d_h, gpu.jacobians) == (cpu.B, cpu.T, cpu.d_h, cpu.jacobians)
    assert set(cpu.cells) < set(gpu.cells) and gpu.cells[0] == "gru"  # DEER: GRU first
    assert 16 in gpu.B and 10000 in gpu.T


def test_what_does_not_fit_is_said_with_its_memory_or_estimated_time():
    from benchmarks import newton

    # LSTM, d_h = 128 (D = 256), B = 16, T = 100,000: 390.6 GiB of full Jacobians
    row = newton.why_not("full", 16, 100000, 256, 6.0, 15.0, None)
    assert row["skipped"].startswith("needs ~1187.1 GiB (full Jacobians 390.6 GiB, limit 6 GiB)")
    # 10 ms measured at B=1, T=1000
    ref = {"B": 1, "T": 1000, "d_h": 8, "newton_ms": 10.0, "iterations": 30}
    row = newton.why_not("diagonal", 16, 10000, 8, 6.0, 1.0, ref, D_ref=8)
    assert abs(row["est_newton_s"] - 1.6) < 1e-9  # scaled by B·T·D²: 160x
    assert row["skipped"].startswith("est. 1.6 s per call (> 1 s; from B=1 T=1000 d_h=8")
    assert newton.why_not("diagonal", 16, 10000, 8, 6.0, 2.0, ref, D_ref=8) == {}
    slow = {**ref, "iterations": 400}  # iterations near T: assumed to grow with T
    assert newton.why_not("diagonal", 16, 10000, 8, 6.0, 1.0, slow, D_ref=8)["est_newton_s"] > 15


def test_trained_models_get_an_iteration_cap_instead_of_a_time_estimate():
    from benchmarks import newton

    ref = {"B": 1, "T": 1000, "d_h": 8, "newton_ms": 10.0, "iterations": 10}  # 1 ms/iteration
    assert newton.why_not("full", 1, 2000, 8, 6.0, 1.0, ref, D_ref=8, cap=True) == {
        "max_iters": 500  # 2 ms per iteration at twice the length: 500 fit in 1 s
    }
    assert newton.why_not("full", 1, 400, 8, 6.0, 1.0, ref, D_ref=8, cap=True) == {}  # T fit
    row = newton.why_not("full", 1, 2000, 8, 6.0, 1e-3, ref, D_ref=8, cap=True)
    assert row["skipped"] == "est. 0.002 s per iteration (> 0.001 s)"


def test_a_capped_newton_call_says_it_did_not_converge():
    from benchmarks import newton

    c = newton.Cell("rnn")
    p = c.params("random", 3, 3)
    xs = jax.random.normal(jax.random.key(0), (2, 30, 3))
    row = newton.measure(c, p, xs, "diagonal", 1, 1.0, max_iters=2)
    assert (row["iterations"], row["converged"], row["max_iters"]) == (2, False, 2)
    assert "> 2 (capped)" in newton.markdown([{**row, "cell": "rnn", "weights": "random",
                                               "jacobian": "diagonal", "B": 2, "T": 30, "d_h": 3}])  # fmt: skip


def _args(**kw):
    import argparse

    base = dict(B=[2], T=[12], jacobians=["full", "diagonal"], reps=1, budget_s=1.0,
                max_gb=1.0, max_call_s=None, json=None)  # fmt: skip
    return argparse.Namespace(**{**base, **kw})


def test_trained_adding_models_are_loaded_and_measured_on_adding_sequences(tmp_path):
    from benchmarks import newton_trained
    from experiments.configs import AddingConfig
    from experiments.tasks import adding

    cfg = AddingConfig(T_values=(6,), models=("gru",), hidden=3, steps=2, test_size=4,
                       batch_size=2, eval_every=2, log_every=1, ckpt_every=2, progress=False,
                       runs_dir=str(tmp_path))  # fmt: skip
    adding.main(cfg)
    (run,) = (tmp_path / "adding").iterdir()
    ((model, params, final, T),) = newton_trained.trained_models(run, "adding")
    assert (model, T, params["cell"].z.W.shape) == ("gru", 6, (3, 3)) and "test_mse" in final
    assert newton_trained.adding_inputs(run, 2, 7).shape == (2, 7, 2)
    rows = newton_trained.rows_for("adding", str(run), _args(jacobians=["diagonal"]))
    assert [r["T"] for r in rows] == [6, 12]  # the trained length, then --T
    assert all(r["converged"] and r["max_abs_err"] < 1e-4 for r in rows)
    assert all(0 < r["iterations"] <= r["T"] for r in rows)


def test_trained_sentiment_model_runs_on_dev_sentences_of_one_length(tmp_path):
    from benchmarks import newton_trained
    from experiments.configs import SentimentConfig
    from experiments.tasks import sentiment

    data = tmp_path / "sst2"
    data.mkdir()
    lines = ["sentence\tlabel", "a great fun film\t1", "a dull boring mess\t0",
             "great acting , great story\t1", "boring , boring , boring\t0", "a joy\t1"]  # fmt: skip
    for name in ("train.tsv", "dev.tsv"):
        (data / name).write_text("\n".join(lines) + "\n")
    cfg = SentimentConfig(data_dir=str(data), models=("lstm",), embed=4, hidden=3, buckets=(8,),
                          steps=2, batch_size=4, eval_every=2, log_every=1, ckpt_every=2,
                          progress=False, runs_dir=str(tmp_path / "runs"))  # fmt: skip
    sentiment.main(cfg)
    (run,) = (tmp_path / "runs" / "sentiment").iterdir()
    assert newton_trained.sentence_ids(run, 2).shape == (2, 5)  # the two 5-word sentences
    rows = newton_trained.rows_for("sentiment", str(run), _args(max_gb=1e-9))
    assert [r["T"] for r in rows] == [5, 5] and rows[0]["metric"].startswith("dev acc")
    assert all(r["skipped"].startswith("needs ~") for r in rows)  # said, not dropped


def test_an_unknown_trained_task_is_refused(tmp_path):
    from benchmarks import newton_trained

    with pytest.raises(ValueError, match="expected a task in"):
        newton_trained.trained_models(tmp_path, "copy")
