"""experiments.tasks.digits: views, fixed stratified split, one-to-one has no recurrent gradient."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import DigitsConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.models.sequence import final_logits, init_model
from experiments.tasks import digits

FF_TOL = 1e-6  # float32: T=1 RNN vs the same feed-forward network


def test_views_read_rows_and_pixels_in_order():
    img = np.arange(64, dtype=np.float32)[None]
    rows = digits.as_sequences(img, "rows")
    pixels = digits.as_sequences(img, "pixels")
    single = digits.as_sequences(img, "one_to_one")
    np.testing.assert_array_equal(rows[0, 2], np.arange(16, 24))
    np.testing.assert_array_equal(pixels[0, :, 0], np.arange(64))
    assert single.shape == (1, 1, 64)
    with pytest.raises(ValueError, match="view: expected one of rows, pixels, one_to_one"):
        digits.as_sequences(img, "columns")


def test_split_is_fixed_and_stratified():
    x_tr, y_tr, x_te, y_te = digits.load_split()
    again = digits.load_split()
    np.testing.assert_array_equal(y_te, again[3])
    assert len(y_tr) + len(y_te) == 1797 and len(y_te) == 450
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0
    frac = np.bincount(y_te, minlength=10) / np.bincount(y_tr, minlength=10)
    assert np.all(np.abs(frac - 1 / 3) < 0.02)  # 25% test in every class


@pytest.mark.parametrize("model", ["rnn", "lstm"])
def test_one_step_from_zero_state_gives_W_exactly_zero_gradient(model):
    params = init_model(jax.random.key(0), model, 64, 16, 10)
    xs = np.random.default_rng(1).uniform(size=(8, 1, 64)).astype(np.float32)
    y = np.arange(8, dtype=np.int32) % 10
    assert digits.recurrent_grad_max(params, xs, y) == 0.0
    xs2 = np.concatenate([xs, xs], axis=1)  # T=2: the recurrence is used
    assert digits.recurrent_grad_max(params, xs2, y) > 1e-4


def test_one_step_rnn_is_a_feed_forward_network():
    p = init_model(jax.random.key(0), "rnn", 64, 16, 10)["cell"]
    x = jnp.asarray(np.random.default_rng(1).uniform(size=(5, 64)), jnp.float32)
    ff = jnp.tanh(x @ p.U.T + p.b_s) @ p.V.T + p.b_o
    got = final_logits({"cell": p, "readout": {}}, x[:, None, :])
    np.testing.assert_allclose(got, ff, atol=FF_TOL)


def test_config_rejects_bad_views():
    with pytest.raises(ConfigError, match="--views: expected a comma list"):
        parse_args(DigitsConfig, ["--views=rows,columns"])
    with pytest.raises(ConfigError, match="--test_fraction"):
        parse_args(DigitsConfig, ["--test_fraction=1.5"])


def test_tiny_run_writes_results_and_plots(tmp_path):
    cfg = DigitsConfig(
        views=("rows", "one_to_one"),
        hidden=8,
        steps=4,
        batch_size=16,
        eval_every=2,
        log_every=2,
        ckpt_every=4,
        progress=False,
        runs_dir=str(tmp_path),
    )
    results = digits.main(cfg)
    assert set(results) == {"rows_rnn", "rows_lstm", "one_to_one_rnn", "one_to_one_lstm"}
    assert results["one_to_one_rnn"]["max_abs_dW"] == 0.0
    assert all(0.0 <= r["test_acc"] <= 1.0 and r["steps"] == 4 for r in results.values())
    (run,) = (tmp_path / "digits").iterdir()
    for name in ("curves_rows.png", "curves_one_to_one.png", "confusion_rows_lstm.png"):
        assert (run / name).stat().st_size > 0
    assert len(json.loads((run / "results.json").read_text())) == 4
    assert (run / "rows_lstm" / "params.npz").is_file()
