"""Every experiment end to end at tiny size, the CLI in a subprocess, SIGINT and resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.configs import AddingConfig
from experiments.core.args import parse_args
from experiments.core.checkpoint import Checkpointer
from experiments.core.optim import make_optimizer
from experiments.core.run import Run
from experiments.core.step import initial_state
from experiments.core.train import train
from experiments.registry import EXPERIMENTS, load
from experiments.tasks import adding

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--steps=6",
    "--hidden=4",
    "--eval_every=3",
    "--ckpt_every=3",
    "--log_every=3",
    "--batch_size=4",
    "--test_size=8",
    "--progress=false",
]
TINY_ARGS = {
    "adding": ["--T_values=6"],
    "copy": ["--T_values=3"],
    "vanishing_gradients": ["--T=12", "--probe_T=16", "--probe_size=4"],
}
EXPECTED_FILES = {
    "adding": ["results.md", "test_mse.png", "rnn_T6/metrics.jsonl", "lstm_T6/final.json"],
    "copy": ["results.md", "test_ce.png", "lstm_T3/checkpoints", "rnn_T3/loss.png"],
    "vanishing_gradients": ["results.md", "grad_norms.png", "rnn_grad_norms.json"],
}
STARTUP_TIMEOUT_S = 240  # subprocess import + compile on a loaded 2-core machine


def test_long_term_dependency_experiments_are_registered():
    assert set(TINY_ARGS) <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(TINY_ARGS))
def test_experiment_runs_tiny(name, tmp_path, capsys):
    module = load(name)
    argv = ["--preset=quick", *TINY, *TINY_ARGS[name], f"--runs_dir={tmp_path}"]
    cfg, _ = parse_args(EXPERIMENTS[name].config, argv)
    results = module.main(cfg)
    (run_dir,) = (tmp_path / name).iterdir()
    for rel in EXPECTED_FILES[name]:
        assert (run_dir / rel).exists(), rel
    assert json.loads((run_dir / "config.json").read_text())["steps"] == 6
    rows = json.loads((run_dir / "results.json").read_text())
    assert len(rows) == len(results) >= 2
    for row in rows:
        finite = [v for k, v in row.items() if isinstance(v, float) and k != "test_mse"]
        assert all(math.isfinite(v) for v in finite), row
    assert "run directory" in capsys.readouterr().out


def test_adding_data_is_pure_and_correct():
    from experiments.tasks.adding import make_batch

    xs, y = make_batch(3, 0, 7, 5, 10)
    xs2, y2 = make_batch(3, 0, 7, 5, 10)
    np.testing.assert_array_equal(xs, xs2)
    assert xs.shape == (5, 10, 2) and y.shape == (5,)
    assert (xs[..., 1].sum(axis=1) == 2).all()
    assert (xs[:, :5, 1].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose(y, (xs[..., 0] * xs[..., 1]).sum(axis=1))
    assert not np.array_equal(make_batch(3, 0, 8, 5, 10)[0], xs)


def test_copy_data_and_baseline():
    from experiments.tasks.copy_memory import DELIM, baseline, make_batch

    xs, ys = make_batch(0, 0, 0, 3, 5)
    assert xs.shape == (3, 25, 10) and ys.shape == (3, 25)
    tokens = xs.argmax(-1)
    np.testing.assert_array_equal(ys[:, -10:], tokens[:, :10])
    assert (tokens[:, 14] == DELIM).all() and (ys[:, :15] == 0).all()
    assert baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_vanishing_decay_fit():
    from experiments.tasks.vanishing_gradients import decay_per_100

    distance = np.arange(200.0)[::-1]
    assert decay_per_100(10.0 ** (-0.03 * distance)) == pytest.approx(3.0)
    assert decay_per_100(np.ones(50)) == pytest.approx(0.0, abs=1e-9)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "experiments", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_sigint_saves_checkpoint_and_resume_matches(tmp_path, capsys):
    """Ctrl-C mid-run saves a checkpoint; --resume reaches the uninterrupted parameters.

    The interrupted run is a subprocess (a real SIGINT); the resume and the uninterrupted run
    run in this process (the same CLI entry point, without a second interpreter start)."""
    args = [
        "adding",
        "--T_values=5",
        "--models=rnn",
        "--hidden=4",
        "--batch_size=4",
        "--test_size=8",
        "--steps=400000",
        "--ckpt_every=100000",
        "--log_every=1",
        "--eval_every=100000",
        "--progress=false",
    ]
    proc = subprocess.Popen(
        _cli(*args, f"--runs_dir={tmp_path / 'a'}"),
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = tmp_path / "a"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and not list(metrics.rglob("metrics.jsonl")):
        time.sleep(0.1)
    time.sleep(0.25)  # mid-run: some hundreds of steps past the first logged one
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=STARTUP_TIMEOUT_S)
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and "--resume" in err
    (run_dir,) = (tmp_path / "a" / "adding").iterdir()
    ckpts = [
        int(p.name) for p in (run_dir / "rnn_T5" / "checkpoints").iterdir() if p.name.isdigit()
    ]
    assert len(ckpts) == 1
    stopped = ckpts[0]
    assert 0 < stopped < 400000
    # finish the interrupted run at a nearby step count, then compare with a fresh run
    total = stopped + 7
    capsys.readouterr()
    assert cli_main(["adding", "--resume", str(run_dir), f"--steps={total}"]) == 0  # in process
    assert "rnn T=5" in capsys.readouterr().out
    # the same run, uninterrupted, in this process: parameters must match bit for bit
    cfg, _ = parse_args(AddingConfig, [*args[1:], f"--steps={total}"])
    prob = adding.problem(cfg, "rnn", 5, cfg.hidden, cfg.test_size)
    fresh = train(cfg, prob, Run(tmp_path / "fresh"))
    like = initial_state(cfg, prob, make_optimizer(cfg))
    step, resumed = Checkpointer(run_dir / "rnn_T5" / "checkpoints", 1).restore_latest(like)
    assert step == total
    for x, y in zip(jax.tree.leaves(fresh.params), jax.tree.leaves(resumed.params)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_cli_help(capsys):
    assert cli_main(["adding", "--help"]) == 0
    assert "--T_values=50,100,200,400 " in capsys.readouterr().out
