"""recall (MQAR): the data generator (the layout, pairs as asked, no leak between training and
test) and a tiny sweep."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from experiments.configs import RecallConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.tasks import recall

TINY_RECALL = ["--steps=4", "--hidden_sizes=4,8", "--seeds=1", "--layers=1", "--mlp_expansion=1",
               "--batch_size=4", "--test_size=6", "--eval_every=2", "--log_every=2",
               "--ckpt_every=2", "--progress=false", "--vocab=16", "--train_min_pairs=1",
               "--train_max_pairs=3", "--test_pairs=1,3"]  # fmt: skip


def test_recall_examples_follow_the_mqar_layout():
    vocab, half = 32, 16
    tokens, targets, mask = recall.make_batch(2, 0, 1, 100, vocab, 2, 8)
    assert tokens.shape == targets.shape == mask.shape == (100, 24)
    ns = mask.sum(axis=1)
    assert ns.min() == 2 and ns.max() == 8
    for tok, tgt, msk, n in zip(tokens, targets, mask, ns):
        keys, values, queries = tok[0 : 2 * n : 2], tok[1 : 2 * n : 2], tok[2 * n : 3 * n]
        assert len(set(keys)) == n and (keys < half).all()  # distinct keys, first half
        assert ((values >= half) & (values < vocab)).all()  # values, second half
        assert sorted(queries) == sorted(keys)  # every key queried once, after the pairs
        assert (tok[3 * n :] == vocab).all()  # then padding
        assert np.flatnonzero(msk).tolist() == list(range(2 * n, 3 * n))
        value_of = dict(zip(keys.tolist(), (values - half).tolist()))
        assert tgt[2 * n : 3 * n].tolist() == [value_of[int(q)] for q in queries]


def test_recall_test_sets_have_the_asked_pairs_and_do_not_leak():
    cfg = RecallConfig(vocab=32, train_min_pairs=2, train_max_pairs=4, test_pairs=(2, 4),
                       test_size=40)  # fmt: skip
    train_pairs = set()
    for step in range(200):
        tokens, _, mask = recall.make_batch(cfg.seed, 0, step, 16, 32, 2, 4)
        for tok, n in zip(tokens, mask.sum(axis=1)):
            train_pairs.add(tok[: 2 * n].tobytes())
    for n in cfg.test_pairs:
        tokens, targets, mask = recall.held_out(cfg, n)
        assert tokens.shape == (40, 3 * n) and (mask.sum(axis=1) == n).all()
        assert not {tok[: 2 * n].tobytes() for tok in tokens} & train_pairs


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--vocab=64", "--test_pairs=4,40"], r"--vocab: expected an even number of at least 2 \* 40"),
        (["--vocab=129"], r"--vocab: expected an even number"),
        (["--train_min_pairs=9"], r"--train_min_pairs: expected at most train_max_pairs=8"),
    ],
)
def test_bad_configs(argv, match):
    with pytest.raises(ConfigError, match=match):
        parse_args(RecallConfig, argv)


def test_recall_runs_tiny(tmp_path):
    cfg, _ = parse_args(RecallConfig, [*TINY_RECALL, "--models=mingru", f"--runs_dir={tmp_path}"])
    results = recall.main(cfg)
    (run_dir,) = (tmp_path / "recall").iterdir()
    for rel in ["results.md", "accuracy_vs_pairs.png", "mingru_h4_seed0/final.json",
                "mingru_h8_seed0/loss.png"]:  # fmt: skip
        assert (run_dir / rel).exists(), rel
    rows = json.loads((run_dir / "results.json").read_text())["summary"]
    assert [(r["model"], r["hidden"]) for r in rows] == [("mingru", 4), ("mingru", 8)]
    assert all(math.isfinite(r["acc_n3"]) and 0 <= r["acc_n1"] <= 1 for r in rows)
    assert set(results) == {"mingru h=4", "mingru h=8"}
