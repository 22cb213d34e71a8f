"""experiments.tasks.charlm: data fallback, TBPTT gradient cut, step fn equals scan, tiny run."""

from __future__ import annotations

import functools
import shutil
import typing

import chex
import jax
import numpy as np
import pytest

import jaxrnn
from experiments.configs import CharLMConfig
from experiments.core.args import parse_args
from experiments.core.config import field_types
from experiments.core.errors import ConfigError
from experiments.data import chars, download
from experiments.data.locate import DataNotFoundError
from experiments.models.registry import MODELS
from experiments.tasks import charlm

STEP_TOL = 1e-5  # float32: stepped decoder vs scanned forward pass
GRAD_TOL = 1e-6
TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n" * 12
TINY = [
    "--steps=4", "--hidden=8", "--embed=4", "--chunk=4", "--chunks=2", "--val_streams=2",
    "--sample_chars=20", "--eval_every=2", "--ckpt_every=2", "--log_every=2",
    "--batch_size=3", "--progress=false",
]  # fmt: skip


@pytest.fixture
def text_dir(tmp_path):
    (tmp_path / "input.txt").write_text(TEXT)
    return tmp_path


def test_load_text_from_data_dir_and_offline_fallback(text_dir, tmp_path, monkeypatch):
    text, source = chars.load_text(str(text_dir))
    assert text == TEXT and "--data_dir" in source and "differs" in source
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    monkeypatch.setenv("JAXRNN_CACHE", str(tmp_path / "empty_cache"))

    def offline(*args, **kwargs):
        raise download.urllib.error.URLError("no network")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)  # also offline on a networked CI
    text, source = chars.load_text("")
    assert source.startswith("pydoc_data.topics") and len(text) > 100_000
    with pytest.raises(DataNotFoundError, match="must contain input.txt"):
        chars.load_text(str(tmp_path / "nowhere"))


def test_vocab_round_trip_and_unknown_characters():
    vocab = chars.CharVocab(TEXT)
    assert vocab.decode(vocab.encode(TEXT)) == TEXT
    with pytest.raises(ValueError, match="expected characters of the vocabulary"):
        vocab.encode("Z")


def test_ngram_baselines_order():
    ids = chars.CharVocab(TEXT).encode(TEXT)
    base = chars.ngram_baselines(ids[:500], ids[500:], int(ids.max()) + 1)
    assert base["bigram_val_nats"] < base["unigram_val_nats"] < np.log(ids.max() + 1)


def _tiny_params(layers=2, model="lstm"):
    cfg = CharLMConfig(layers=layers, hidden=6, embed=3, model=model)
    return charlm.init_params(jax.random.key(0), cfg, 11)


def test_every_model_name_is_a_charlm_model():
    """``--model`` (and so ``wallclock --models``) takes every name of the registry; the LSTM
    and GRU layers are the families' own inits, as before the stack became generic."""
    assert typing.get_args(field_types(CharLMConfig)["model"]) == MODELS
    params = _tiny_params(2, "lstm")
    keys = jax.random.split(jax.random.key(0), 4)
    for layer, k, d_in in zip(params["cells"], keys[2:], (3, 6)):
        chex.assert_trees_all_equal(layer, jaxrnn.init_lstm_params(k, d_in, 6))


@jax.jit
def _forward_and_stepped(params, ids):
    """The scanned forward pass's logits and the step function's, read token by token."""
    states = charlm.initial_state(params, ids.shape[0])
    _, logits = charlm.forward(params, states, ids)
    _, stepped = jax.lax.scan(charlm.step_fn(params), states, ids.T)  # (T, B, n_vocab)
    return logits, stepped.swapaxes(0, 1)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("layers", [1, 2])
def test_step_fn_equals_scanned_forward(layers, model):
    params = _tiny_params(layers, model)
    ids = np.random.default_rng(1).integers(0, 11, (2, 7)).astype(np.int32)
    logits, stepped = _forward_and_stepped(params, ids)
    for t in range(ids.shape[1]):
        np.testing.assert_allclose(logits[:, t], stepped[:, t], atol=STEP_TOL)


@functools.partial(jax.jit, static_argnames="chunks")
def _losses_and_grads(params, batch, chunks):
    """``tbptt_loss`` and its gradient at each chunk length, in one program."""
    return [jax.value_and_grad(charlm.tbptt_loss)(params, batch, c) for c in chunks]


@pytest.mark.parametrize("model", MODELS)
def test_tbptt_carries_state_but_cuts_gradient(model):
    params = _tiny_params(1, model)
    ids = np.random.default_rng(2).integers(0, 11, (2, 8)).astype(np.int32)
    batch = (ids, np.roll(ids, -1, axis=1))
    (full, g_full), (cut, g_cut) = _losses_and_grads(params, batch, chunks=(8, 4))
    np.testing.assert_allclose(full, cut, rtol=STEP_TOL)  # same value: the state is carried
    diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(g_full), jax.tree.leaves(g_cut))
               if a.size)  # fmt: skip  (the RNN layers' absent readout V (0, d_h) is empty)
    assert diff > GRAD_TOL  # different gradient: it stops at the chunk boundary


def test_sampling_is_reproducible():
    params = _tiny_params(2)
    vocab = chars.CharVocab("abcdefghijk")
    a = charlm.sample(params, vocab, "ab", 15, 0.8, jax.random.key(3))
    b = charlm.sample(params, vocab, "ab", 15, 0.8, jax.random.key(3))
    assert a == b and len(a) == 15


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="--temperatures: expected a comma list of float > 0"):
        CharLMConfig(temperatures=(0.0,))
    with pytest.raises(ConfigError, match="--chunk: expected an int >= 1"):
        CharLMConfig(chunk=0)
    with pytest.raises(ConfigError, match="--model: expected one of rnn\\|lstm\\|gru\\|mingru"):
        CharLMConfig(model="tcn")


def test_charlm_runs_tiny(text_dir, tmp_path):
    args = [*TINY, f"--data_dir={text_dir}", f"--runs_dir={tmp_path / 'runs'}"]
    cfg, _ = parse_args(CharLMConfig, args)
    results = charlm.main(cfg)
    (run_dir,) = (tmp_path / "runs" / "charlm").iterdir()
    for name in ("samples.txt", "params.npz", "data.json", "metrics.jsonl", "results.json"):
        assert (run_dir / name).exists(), name
    samples = (run_dir / "samples.txt").read_text()
    assert samples.count("--- temperature") == 2
    assert np.isfinite(results["val_nats"]) and results["data"] == "tinyshakespeare"


def test_deep_min_charlm_resumes_bit_exact_after_a_crash(text_dir, tmp_path):
    """Train 4 steps (checkpoints at 2 and 4); lose step 4 as if killed after step 3; resume."""
    args = [*TINY, "--model=minlstm", "--temperatures=1.0", "--sample_chars=5",
            f"--data_dir={text_dir}", f"--runs_dir={tmp_path / 'runs'}"]  # fmt: skip
    cfg, _ = parse_args(CharLMConfig, args)
    charlm.main(cfg)
    (run_dir,) = (tmp_path / "runs" / "charlm").iterdir()
    with np.load(run_dir / "params.npz") as f:
        full = dict(f)
    assert any("blocks" in k and "W_1" in k for k in full)  # the deep recipe ran
    shutil.rmtree(run_dir / "checkpoints" / "4")
    (run_dir / "final.json").unlink()
    cfg, resume = parse_args(CharLMConfig, ["--resume", str(run_dir)])
    charlm.main(cfg, resume=resume)
    with np.load(run_dir / "params.npz") as f:
        for name, value in f.items():
            np.testing.assert_array_equal(value, full[name], err_msg=name)
    assert "temperature 1.0" in (run_dir / "samples.txt").read_text()
