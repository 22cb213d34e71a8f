"""``--models=mingru,minlstm``: the minGRU and minLSTM train in the sequence-model tasks."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import pytest

from experiments.core.args import parse_args
from experiments.models.registry import DEFAULT_MODELS, MODELS
from experiments.models.sequence import apply, final_logits, init_model
from experiments.registry import EXPERIMENTS, load
from tests.experiments.test_experiments_smoke import TINY, TINY_ARGS


def test_min_cells_are_valid_models_but_not_run_by_default():
    assert {"mingru", "minlstm"} <= set(MODELS)
    assert DEFAULT_MODELS == ("rnn", "lstm")


@pytest.mark.parametrize("model", ["mingru", "minlstm"])
def test_sequence_model_logits_and_final_logits(model):
    params = init_model(jax.random.key(0), model, 3, 5, 2)
    xs, lengths = jnp.ones((2, 4, 3)), jnp.array([4, 2])
    logits = apply(params, xs, lengths)
    assert logits.shape == (2, 4, 2)
    # many-to-one: the final state is the state after the last valid step
    assert jnp.allclose(final_logits(params, xs, lengths)[1], apply(params, xs[1:, :2])[0, -1])


@pytest.mark.parametrize("name", ["adding", "copy"])
def test_tasks_train_the_min_cells(name, tmp_path):
    argv = ["--preset=quick", *TINY, *TINY_ARGS[name], "--models=mingru,minlstm",
            f"--runs_dir={tmp_path}"]  # fmt: skip
    cfg, _ = parse_args(EXPERIMENTS[name].config, argv)
    results = load(name).main(cfg)
    (run_dir,) = (tmp_path / name).iterdir()
    rows = json.loads((run_dir / "results.json").read_text())
    assert len(rows) == len(results) == 2
    assert {row["model"] for row in rows} == {"mingru", "minlstm"}
    for row in rows:
        assert all(math.isfinite(v) for k, v in row.items() if isinstance(v, float)), row
