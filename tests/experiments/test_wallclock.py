"""experiments.tasks.wallclock: the step plan, reading the curves, a tiny comparison, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.configs import WallclockConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.tasks import wallclock
from tests.experiments.test_charlm import TEXT


def test_plan_fills_the_budget_and_evaluates_at_common_steps():
    steps, eval_every = wallclock.plan({"lstm": 0.3, "mingru": 0.1}, 30.0, 4, 10_000)
    assert steps == {"lstm": 100, "mingru": 300} and eval_every == 25
    steps, _ = wallclock.plan({"lstm": 10.0, "mingru": 1e-6}, 30.0, 4, 500)
    assert steps == {"lstm": 4, "mingru": 500}  # at least `evals` steps, at most max_steps


def test_first_reach_interpolates_and_says_never():
    xs, ys = np.array([1.0, 2.0, 4.0]), np.array([3.0, 2.0, 1.0])
    assert wallclock.first_reach(xs, ys, 1.5) == 3.0
    assert wallclock.first_reach(xs, ys, 5.0) == 1.0
    assert np.isnan(wallclock.first_reach(xs, ys, 0.5))


def test_config_sends_training_keys_to_the_task():
    with pytest.raises(ConfigError, match="--lr: expected it in --task_args"):
        WallclockConfig(lr=0.1)
    with pytest.raises(ConfigError, match="--task: expected one of charlm\\|sentiment"):
        WallclockConfig(task="adding")


def test_wallclock_compares_tiny_charlm_and_resumes(tmp_path):
    (tmp_path / "input.txt").write_text(TEXT)
    task_args = (f"--data_dir={tmp_path} --hidden=4 --embed=2 --chunk=4 --chunks=1 "
                 "--batch_size=2 --val_streams=2 --schedule=constant")  # fmt: skip
    argv = ["--models=lstm,mingru", "--budget_s=0.001", "--evals=2", "--timing_rounds=2",
            "--timing_steps=1", "--progress=false", f"--runs_dir={tmp_path / 'runs'}",
            f"--lock={tmp_path / 'bench.lock'}", f"--task_args={task_args}"]  # fmt: skip
    cfg, _ = parse_args(WallclockConfig, argv)
    rows = wallclock.main(cfg)
    (run_dir,) = (tmp_path / "runs" / "wallclock").iterdir()
    for name in ("timing.json", "results.md", "loss_vs_wall.png", "loss_vs_step.png"):
        assert (run_dir / name).exists(), name
    timing = json.loads((run_dir / "timing.json").read_text())
    assert {m: len(r) for m, r in timing["rounds_s"].items()} == {"lstm": 2, "mingru": 2}
    assert rows["mingru"]["steps"] == 2 and "val_nats@0.001s" in rows["lstm"]
    assert rows["lstm"]["val_nats@0.001s"] == rows["lstm"]["val_nats@2steps"]
    cfg, resume = parse_args(WallclockConfig, ["--resume", str(run_dir)])
    assert wallclock.main(cfg, resume) == rows  # timing and loads read back, runs restored
