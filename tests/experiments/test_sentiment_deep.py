"""``sentiment --recipe=deep``: the deep minGRU / minLSTM (residual blocks of the cell and an
MLP) read padded sentences, classify from the last word and train end to end."""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.configs import SentimentConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.models.sequence import apply, final_logits, init_model
from experiments.tasks import sentiment
from tests.experiments.test_sentiment import _tiny_cfg, sst_dir  # noqa: F401  (fixture)

PAD_TOL = 1e-5  # float32: the same sentences padded to two lengths, padding full of words
MIN = ["mingru", "minlstm"]
DEEP = SentimentConfig(recipe="deep", blocks=2, mlp_expansion=2, embed=6, hidden=6)


def _batch(ids, lengths, seed=0):
    return ids, np.asarray(lengths, np.int32), np.array([0, 1, 1], np.int32), np.uint32(seed)


@functools.partial(jax.jit, static_argnames="lengths")
def _padded_and_alone(params, short, long, lengths):
    """Logits of ``short`` and ``long`` (the same sentences padded to two lengths) and of
    each sentence of ``short`` cut at its length, in one program."""
    n = np.asarray(lengths, np.int32)
    alone = [sentiment.logits_fn(params, short[b : b + 1, :k], n[b : b + 1])
             for b, k in enumerate(lengths)]  # fmt: skip
    return sentiment.logits_fn(params, short, n), sentiment.logits_fn(params, long, n), alone


@pytest.mark.parametrize("model", MIN)
def test_padding_past_lengths_does_not_change_the_logits(model):
    params = sentiment.init_params(jax.random.key(0), DEEP, model, 30)
    assert "blocks" in params and len(params["blocks"]) == 2
    rng = np.random.default_rng(0)
    lengths = np.array([5, 2, 1], np.int32)
    short = rng.integers(2, 30, (3, 5)).astype(np.int32)
    long = rng.integers(2, 30, (3, 12)).astype(np.int32)  # padding holds other words
    long[:, :5] = short
    short[np.arange(5)[None] >= lengths[:, None]] = 0
    ref, padded, alone = _padded_and_alone(params, short, long, tuple(lengths.tolist()))
    np.testing.assert_allclose(padded, ref, atol=PAD_TOL)
    # and the readout is the stream at the last word: the same as each sentence cut there
    for b in range(len(lengths)):
        np.testing.assert_allclose(alone[b][0], ref[b], atol=PAD_TOL)


_grad = jax.jit(jax.grad(sentiment.make_loss(0.0)))


@pytest.mark.parametrize("model", MIN)
def test_every_deep_parameter_gets_a_gradient(model):
    params = sentiment.init_params(jax.random.key(1), DEEP, model, 30)
    ids = np.arange(2, 26, dtype=np.int32).reshape(3, 8)
    grads = _grad(params, _batch(ids, [8, 5, 3]))
    for path, g in jax.tree_util.tree_leaves_with_path(grads):
        assert np.all(np.isfinite(g)), jax.tree_util.keystr(path)
        assert np.any(np.asarray(g) != 0), f"{jax.tree_util.keystr(path)} gets no gradient"


def test_the_recipe_applies_to_the_min_cells_only():
    cfg, _ = parse_args(SentimentConfig, ["--recipe=deep", "--blocks=3", "--mlp_expansion=2"])
    assert (cfg.recipe, cfg.blocks, cfg.mlp_expansion) == ("deep", 3, 2)
    assert SentimentConfig().recipe == "single"
    lstm = sentiment.init_params(jax.random.key(0), DEEP, "lstm", 30)
    assert "cell" in lstm and "blocks" not in lstm
    single = sentiment.init_params(
        jax.random.key(0), SentimentConfig(embed=4, hidden=6), "mingru", 30
    )
    assert "cell" in single and single["embed"].shape == (30, 4)
    deep = sentiment.init_params(jax.random.key(0), DEEP, "mingru", 30)
    assert deep["embed"].shape == (30, DEEP.hidden)
    with pytest.raises(ConfigError, match=r"--recipe: expected one of single\|deep, got 'wide'"):
        parse_args(SentimentConfig, ["--recipe=wide"])


@jax.jit
def _deep_outputs(params, lstm, xs, lengths):
    """``apply`` and ``final_logits`` of the deep minLSTM, ``apply`` of the deep LSTM."""
    return (apply(params, xs, lengths), final_logits(params, xs, lengths)[1],
            apply(params, xs[1:, :2])[0, -1], apply(lstm, xs, lengths))  # fmt: skip


def test_deep_sequence_model_and_its_errors():
    params = init_model(jax.random.key(0), "minlstm", 5, 5, 2, blocks=2)
    xs = np.random.default_rng(1).standard_normal((2, 4, 5)).astype(np.float32)
    lengths = np.array([4, 2], np.int32)
    # the deep recipe takes any registered cell (the LSTM's carry is LSTMState)
    lstm = init_model(jax.random.key(0), "lstm", 5, 5, 2, blocks=1)
    out, last, cut, out_lstm = _deep_outputs(params, lstm, xs, lengths)
    assert out.shape == (2, 4, 2)
    np.testing.assert_allclose(last, cut, atol=PAD_TOL)
    assert out_lstm.shape == (2, 4, 2)
    with pytest.raises(ValueError, match="model: expected cell to be one of"):
        init_model(jax.random.key(0), "no_such_cell", 5, 5, 2, blocks=1)
    with pytest.raises(ValueError, match="d_in: expected d_in == d_h == 5 for the deep recipe"):
        init_model(jax.random.key(0), "mingru", 3, 5, 2, blocks=1)


def test_tiny_deep_run_then_predict(tmp_path, sst_dir, capsys):  # noqa: F811
    cfg = _tiny_cfg(
        tmp_path, sst_dir, models=("mingru", "minlstm"), recipe="deep", blocks=1, buckets=(8,)
    )  # one bucket (the padding law is checked above); one block, not the default 2
    results = sentiment.main(cfg)
    assert set(results) == {"mingru", "minlstm"}
    assert all(0.0 <= r["dev_acc"] <= 1.0 for r in results.values())
    (run,) = (tmp_path / "runs" / "sentiment").iterdir()
    assert (run / "minlstm" / "params.npz").is_file()
    capsys.readouterr()
    argv = ["sentiment", "predict", "--run", str(run), "--model", "minlstm", "a great film"]
    assert cli_main(argv) == 0  # the run's config.json rebuilds the deep model
    label, prob, _ = capsys.readouterr().out.strip().split("\t")
    assert label in sentiment.LABELS and 0.5 <= float(prob) <= 1.0
