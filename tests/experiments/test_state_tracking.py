"""state_tracking: the data generator (labels, lengths, no leak between training and test), a
tiny sweep, and a sweep resumed after a crash."""

from __future__ import annotations

import json
import shutil

import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import StateTrackingConfig
from experiments.core.args import parse_args
from experiments.core.checkpoint import Checkpointer
from experiments.core.errors import ConfigError
from experiments.tasks import state_tracking

TINY = ["--steps=4", "--hidden=8", "--layers=1", "--mlp_expansion=1", "--batch_size=4",
        "--test_size=6", "--eval_every=2", "--log_every=2", "--ckpt_every=2",
        "--progress=false"]  # fmt: skip
TINY_STATE = [*TINY, "--tasks=parity", "--train_max_len=6", "--test_lengths=6,12"]


@pytest.mark.parametrize("modulus", [2, 3])
def test_state_labels_are_the_running_sum_and_lengths_as_asked(modulus):
    symbols, labels, mask = state_tracking.make_batch(5, 0, 3, 200, modulus, 2, 40)
    assert symbols.shape == labels.shape == mask.shape == (200, 40)
    assert set(np.unique(symbols)) == set(range(modulus))
    for x, y in zip(symbols[:20], labels[:20]):  # the automaton, one symbol at a time
        state = 0
        for x_t, y_t in zip(x, y):
            state = (state + int(x_t)) % modulus
            assert y_t == state
    lengths = mask.sum(axis=1)
    assert lengths.min() == 2 and lengths.max() == 40  # uniform in [2, 40]: both ends drawn
    np.testing.assert_array_equal(mask, np.arange(40) < lengths[:, None])  # a prefix
    again = state_tracking.make_batch(5, 0, 3, 200, modulus, 2, 40)
    for a, b in zip(again, (symbols, labels, mask)):
        np.testing.assert_array_equal(a, b)  # a pure function of (seed, stream, index)


def test_state_test_sets_have_the_asked_lengths_and_do_not_leak():
    cfg = StateTrackingConfig(test_lengths=(40, 160), test_size=50)
    train_seqs = set()
    for step in range(100):
        symbols, _, mask = state_tracking.make_batch(cfg.seed, 0, step, 64, 2, 2, 40)
        train_seqs |= {row.tobytes() for row in symbols[mask.all(axis=1)]}
    for T in cfg.test_lengths:
        symbols, labels = state_tracking.held_out(cfg, "parity", T)
        assert symbols.shape == labels.shape == (50, T)
        np.testing.assert_array_equal(labels, np.cumsum(symbols, axis=1) % 2)
        if T == 40:
            assert not {row.tobytes() for row in symbols} & train_seqs
    assert state_tracking.held_out(cfg, "mod3", 40)[0].max() == 2


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--train_min_len=50"], r"--train_min_len: expected at most train_max_len=40, got 50"),
        (["--models=lstm,tcn"], r"--models: expected a comma list of rnn\|lstm"),
    ],
)
def test_bad_configs(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse_args(StateTrackingConfig, argv)


# ---- a tiny sweep and resume ----------------------------------------------------------


def _only_run(root):
    (run_dir,) = root.iterdir()
    return run_dir


STATE_ARGS = [*TINY_STATE, "--models=rnn", "--seeds=2"]


@pytest.fixture(scope="module")
def state_run(tmp_path_factory):
    """``(run directory, returned metrics)`` of one tiny state_tracking sweep."""
    root = tmp_path_factory.mktemp("runs")
    cfg, _ = parse_args(StateTrackingConfig, [*STATE_ARGS, f"--runs_dir={root}"])
    results = state_tracking.main(cfg)
    return _only_run(root / "state_tracking"), results


def test_state_tracking_runs_tiny(state_run):
    run_dir, results = state_run
    for rel in ["results.md", "accuracy_vs_length.png", "parity_rnn_seed0/metrics.jsonl",
                "parity_rnn_seed1/final.json", "parity_rnn_seed1/checkpoints"]:  # fmt: skip
        assert (run_dir / rel).exists(), rel
    out = json.loads((run_dir / "results.json").read_text())
    assert [(r["model"], r["seed"]) for r in out["runs"]] == [("rnn", 0), ("rnn", 1)]
    for row in out["summary"]:
        for T in (6, 12):
            k = f"acc_last_T{T}"
            seeds = [r[k] for r in out["runs"] if r["model"] == row["model"]]
            assert row[k] == pytest.approx(np.mean(seeds), abs=1e-4)
            assert row[f"{k}_min"] == min(seeds) and row[f"{k}_max"] == max(seeds)
            assert 0.0 <= row[k] <= 1.0
    assert set(results) == {"parity rnn"}
    assert "T=12" in (run_dir / "results.md").read_text()


def test_sweep_resumes_after_a_crash_to_the_same_results(state_run, tmp_path, capsys):
    """The last sub-run killed after its checkpoint at step 2 (no step-4 checkpoint, no
    final.json): the sweep resumes it from step 2, restores the finished ones (the RNN's empty
    readout ``V (0, d_h)`` inside the blocks included) and ends with the same results."""
    run_dir, _ = state_run
    crashed = tmp_path / "crashed"
    shutil.copytree(run_dir, crashed)
    last = crashed / "parity_rnn_seed1"
    shutil.rmtree(last / "checkpoints" / "4")
    (last / "final.json").unlink()
    (crashed / "results.json").unlink()
    assert Checkpointer(last / "checkpoints", 3).steps() == [2]
    cfg, resume = parse_args(StateTrackingConfig, ["--resume", str(crashed)])
    capsys.readouterr()
    state_tracking.main(cfg, resume=resume)
    assert "from step 2" in capsys.readouterr().err
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]  # noqa: E731
    a = json.loads((crashed / "results.json").read_text())
    b = json.loads((run_dir / "results.json").read_text())
    assert strip(a["runs"]) == strip(b["runs"])
    assert strip(a["summary"]) == strip(b["summary"])
    assert json.loads((last / "final.json").read_text())["steps"] == 4


def test_checkpoints_keep_zero_size_arrays(tmp_path):
    state = {"W": jnp.arange(3.0), "V": jnp.zeros((0, 4)), "b_o": (jnp.zeros((0,)),)}
    ckpt = Checkpointer(tmp_path, 1)
    ckpt.save(1, state)
    ckpt.wait()
    step, back = ckpt.restore_latest({"W": jnp.zeros(3), "V": jnp.zeros((0, 4)),
                                      "b_o": (jnp.zeros((0,)),)})  # fmt: skip
    ckpt.close()
    assert step == 1 and back["V"].shape == (0, 4) and back["b_o"][0].shape == (0,)
    np.testing.assert_array_equal(back["W"], np.arange(3.0))
