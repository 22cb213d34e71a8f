"""What a run shows while training: the bar's fields, process 0 only, TensorBoard files."""

from __future__ import annotations

import pytest

from experiments.core import progress
from experiments.core.config import TrainConfig
from experiments.core.progress import Progress
from experiments.core.run import Run
from experiments.core.train import train
from tests.experiments.test_experiments_framework import _cfg, _problem


def test_bar_shows_loss_latest_eval_rate_and_eta(tmp_path):
    bar = Progress(TrainConfig(steps=10, progress=True), Run(tmp_path), start=0)
    bar.step()
    bar.step()
    bar.log({"step": 2, "loss": 0.5, "grad_norm": 1.0, "n_skipped": 0, "test_acc": 0.75})
    bar.log({"step": 3, "loss": 0.25, "grad_norm": 1.0, "n_skipped": 0})  # no eval: keep 0.75
    assert bar.bar.postfix == "loss=0.25, test_acc=0.75"
    text = str(bar.bar)
    assert "step/s" in text and "<" in text  # rate and time left
    bar.close()


def test_bar_only_on_process_zero(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "is_primary", lambda: False)
    bar = Progress(TrainConfig(steps=10, progress=True, tensorboard=True), Run(tmp_path), 0)
    assert bar.bar.disable and bar.writer is None
    bar.close()


def test_tensorboard_event_files_beside_metrics(tmp_path):
    pytest.importorskip("tensorboardX")
    train(_cfg(tensorboard=True), _problem(), Run(tmp_path / "r"))
    events = list((tmp_path / "r").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    assert (tmp_path / "r" / "metrics.jsonl").exists()
