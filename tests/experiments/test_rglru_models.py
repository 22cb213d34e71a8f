"""``--models=rglru,lru``: the Hawk block (model ``rglru``) and the LRU train in the
sequence-model tasks and run the deep recipe."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import pytest

import jaxrnn
from experiments.core.args import parse_args
from experiments.models.deep_min import deep_scan, init_deep
from experiments.models.registry import MODELS, cell_name
from experiments.models.sequence import apply, final_logits, init_model
from experiments.registry import EXPERIMENTS, load
from tests.experiments.test_experiments_smoke import TINY, TINY_ARGS


def test_rglru_trains_the_hawk_block_and_lru_is_the_lru():
    assert {"rglru", "lru"} <= set(MODELS)
    assert cell_name("rglru") == "hawk" and cell_name("lru") == "lru"
    params = init_model(jax.random.key(0), "rglru", 3, 5, 2)
    assert isinstance(params["cell"], jaxrnn.HawkParams)


@pytest.mark.parametrize("model", ["rglru", "lru"])
def test_sequence_model_logits_and_final_logits(model):
    params = init_model(jax.random.key(0), model, 3, 5, 2)
    xs, lengths = jnp.ones((2, 4, 3)), jnp.array([4, 2])
    logits = apply(params, xs, lengths)
    assert logits.shape == (2, 4, 2)
    assert jnp.allclose(final_logits(params, xs, lengths)[1], apply(params, xs[1:, :2])[0, -1],
                        atol=1e-6)  # fmt: skip
    blocks = init_deep(jax.random.key(1), model, 4, 2)
    states, out = deep_scan(blocks, jnp.ones((2, 5, 4)), lengths=jnp.array([5, 3]))
    assert out.shape == (2, 5, 4) and len(states) == 2


def test_adding_trains_rglru_and_lru(tmp_path):
    argv = ["--preset=quick", *TINY, *TINY_ARGS["adding"], "--models=rglru,lru",
            f"--runs_dir={tmp_path}"]  # fmt: skip
    cfg, _ = parse_args(EXPERIMENTS["adding"].config, argv)
    results = load("adding").main(cfg)
    (run_dir,) = (tmp_path / "adding").iterdir()
    rows = json.loads((run_dir / "results.json").read_text())
    assert len(rows) == len(results) == 2
    assert {row["model"] for row in rows} == {"rglru", "lru"}
    for row in rows:
        assert all(math.isfinite(v) for k, v in row.items() if isinstance(v, float)), row
