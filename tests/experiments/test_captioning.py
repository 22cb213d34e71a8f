"""experiments.tasks.captioning: number words, disjoint digit pools, decoder equivalence, tiny run."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.configs import CaptioningConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.data.text import Vocab
from experiments.models.decoder import decoder_logits, step_fn
from experiments.tasks import captioning as cap

STEP_TOL = 1e-5  # float32: scanned teacher forcing vs the decoder's step function
TINY = [
    "--steps=4", "--hidden=8", "--encoder=8", "--embed=4", "--test_size=12", "--grid=6",
    "--eval_every=2", "--ckpt_every=2", "--log_every=2", "--batch_size=4", "--progress=false",
]  # fmt: skip


@pytest.mark.parametrize(
    "n, text",
    [(0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (42, "forty-two"),
     (100, "one hundred"), (105, "one hundred five"), (342, "three hundred forty-two"),
     (999, "nine hundred ninety-nine"), (610, "six hundred ten")],
)  # fmt: skip
def test_number_words(n, text):
    assert cap.caption_text(cap.number_words(n)) == text


def test_every_caption_fits_and_uses_the_vocabulary():
    vocab = Vocab(cap.WORDS)
    lengths = [len(cap.number_words(n)) for n in range(1000)]
    assert max(lengths) == cap.MAX_WORDS
    assert all(vocab.unk not in vocab.encode(cap.number_words(n)) for n in range(1000))
    with pytest.raises(ValueError, match="expected 0 <= n <= 999"):
        cap.number_words(1000)


def test_test_images_use_unseen_digit_samples():
    train_pool, test_pool = cap.load_pools(0.25, 0)
    seen = {a.tobytes() for pool in train_pool for a in pool}
    assert not any(a.tobytes() in seen for pool in test_pool for a in pool)
    images, numbers = cap.compose(np.random.default_rng(0), test_pool, 64)
    assert images.shape == (64, 8, 24) and numbers.min() >= 0 and numbers.max() <= 999
    # slots right of the number's last digit are blank
    n_digits = np.char.str_len(numbers.astype(str))
    for img, k in zip(images, n_digits):
        assert np.all(img[:, 8 * k :] == 0) and np.any(img[:, 8 * (k - 1) : 8 * k] > 0)


def test_teacher_forcing_equals_the_decoding_step():
    cfg = CaptioningConfig(hidden=6, encoder=5, embed=3)
    vocab = Vocab(cap.WORDS)
    params = cap.init_params(jax.random.key(0), cfg, len(vocab))
    x, ys_in, _, lengths, _ = cap.make_batch(np.random.default_rng(1), cap.load_pools(0.25, 0)[0],
                                             3, vocab)  # fmt: skip
    state = cap.encode_images(params["enc"], jnp.asarray(x))
    scanned = decoder_logits(params["dec"], state, jnp.asarray(ys_in))
    step = step_fn(params["dec"])
    for t in range(ys_in.shape[1]):
        state, logits_t = step(state, jnp.asarray(ys_in[:, t]))
        np.testing.assert_allclose(scanned[:, t], logits_t, atol=STEP_TOL)


def test_exact_match_needs_the_end_token():
    vocab = Vocab(cap.WORDS)
    ids = vocab.encode(["forty", "two"])
    tokens = np.array([[*ids, vocab.eos, 0, 0], [*ids, ids[1], vocab.eos, 0]])
    assert cap.exact_match(tokens, np.array([42, 42]), vocab).tolist() == [True, False]


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="--test_fraction: expected a float in"):
        CaptioningConfig(test_fraction=1.5)
    with pytest.raises(ConfigError, match="--beam_size: expected an int >= 1"):
        CaptioningConfig(beam_size=0)


@pytest.mark.parametrize("beam", [1, 2])
def test_captioning_runs_tiny(beam, tmp_path):
    cfg, _ = parse_args(CaptioningConfig, [*TINY, f"--beam_size={beam}", f"--runs_dir={tmp_path}"])
    results = cap.main(cfg)
    (run_dir,) = (tmp_path / "captioning").iterdir()
    for name in ("test_captions.png", "params.npz", "examples.json", "metrics.jsonl", "loss.png"):
        assert (run_dir / name).exists(), name
    assert 0.0 <= results["test_exact_match"] <= 1.0 and results["test_images"] == 12
    examples = json.loads((run_dir / "examples.json").read_text())
    assert len(examples) == 12 and {"number", "caption", "correct"} <= set(examples[0])
