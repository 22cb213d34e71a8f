"""experiments.tasks.translation: tokenizer, attention, beam search equals teacher forcing, tiny run."""

from __future__ import annotations

import gzip

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.configs import TranslationConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.data.locate import DataNotFoundError
from experiments.data.text import Vocab, pad_batch, pad_targets
from experiments.models import nmt
from experiments.models.decoder import decoder_states
from experiments.tasks import translation as tr

ATT_TOL = 1e-5
PAIRS = [
    ("A man rides a bike.", "Ein Mann fährt Fahrrad."),
    ("Two dogs play in the snow.", "Zwei Hunde spielen im Schnee."),
    ("A woman (smiling) sings.", "Eine Frau (lächelnd) singt."),
    ("Children run on the beach.", "Kinder laufen am Strand."),
] * 3
TINY = [
    "--steps=4", "--hidden=8", "--embed=4", "--beam_size=2", "--max_len=8", "--min_count=1",
    "--buckets=8,16", "--eval_every=2", "--ckpt_every=2", "--log_every=2", "--batch_size=4",
    "--progress=false",
]  # fmt: skip


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "multi30k"
    folder.mkdir()
    for split in tr.SPLITS:
        for k, lang in enumerate(("en", "de")):
            with gzip.open(folder / f"{split}.{lang}.gz", "wt", encoding="utf-8") as f:
                f.write("\n".join(p[k] for p in PAIRS) + "\n")
    return folder


def test_tokenize_detokenize_round_trip():
    for _, de in PAIRS:
        assert tr.detokenize(tr.tokenize(de, lower=False)) == de
    assert tr.tokenize("A T-Shirt.", lower=True) == ["a", "t-shirt", "."]


def test_unicode_line_separators_keep_the_corpus_aligned(tmp_path):
    """U+0085 / U+2028 inside a sentence must not split it: that would shift every later
    line of one side and silently misalign source and target."""
    for lang, text in (("en", "a man\u2028rides .\nTwo dogs\x85play .\n"),
                       ("de", "ein Mann fährt .\nzwei Hunde spielen .\n")):  # fmt: skip
        with gzip.open(tmp_path / f"train.{lang}.gz", "wt", encoding="utf-8") as f:
            f.write(text)
    en, de = tr.read_split(tmp_path, "train")
    assert en == ["a man\u2028rides .", "Two dogs\x85play ."]
    assert de == ["ein Mann fährt .", "zwei Hunde spielen ."]


def test_read_split_rejects_misaligned_files(data_dir):
    en, de = tr.read_split(data_dir, "train")
    assert len(en) == len(de) == len(PAIRS)
    with gzip.open(data_dir / "val.de.gz", "wt", encoding="utf-8") as f:
        f.write("nur eine Zeile\n")
    with pytest.raises(ValueError, match=r"val\.\{en,de\}\.gz: expected aligned files"):
        tr.read_split(data_dir, "val")


def test_attention_ignores_padding_and_steps_like_the_sequence():
    cfg = TranslationConfig(attention=True, hidden=6, embed=3)
    params = tr.init_params(jax.random.key(0), cfg, 9, 7)
    src = jnp.array([[4, 5, 6, 0, 0]])
    _, memory = nmt.encode(params, src, jnp.array([3]), reverse=True)
    hs = jax.random.normal(jax.random.key(1), (1, 2, 6))
    out = nmt.attend(params["att"], hs, memory)
    # changing the encoder states at padded positions changes nothing
    es, keys, mask = memory
    noisy = (es.at[:, 3:].set(9.0), keys.at[:, 3:].set(-9.0), mask)
    np.testing.assert_allclose(out, nmt.attend(params["att"], hs, noisy), atol=ATT_TOL)
    np.testing.assert_allclose(out[:, 0], nmt.attend(params["att"], hs[:, 0], memory), atol=ATT_TOL)


@pytest.mark.parametrize("attention", [False, True])
def test_beam_width_one_equals_teacher_forced_argmax(attention):
    """Every token of a width-1 beam is the argmax of the teacher-forced model on its prefix."""
    cfg = TranslationConfig(attention=attention, hidden=6, embed=3)
    params = tr.init_params(jax.random.key(2), cfg, 9, 7)
    src, src_len = jnp.array([[4, 5, 6, 7], [8, 4, 0, 0]]), jnp.array([4, 2])
    kw = dict(reverse=True, beam_size=1, max_len=5)
    tokens = np.asarray(nmt.translate_ids(params, src, src_len, **kw))
    ys_in = jnp.concatenate([jnp.full((2, 1), Vocab.bos), jnp.asarray(tokens[:, :-1])], 1)
    state0, memory = nmt.encode(params, src, src_len, True)
    _, hs = decoder_states(params["dec"], state0, ys_in)
    if memory is not None:
        hs = nmt.attend(params["att"], hs, memory)
    argmax = np.asarray(jnp.argmax(hs @ params["dec"]["V"].T + params["dec"]["b"], -1))
    for row, best in zip(tokens, argmax):
        ends = np.flatnonzero(row == Vocab.eos)
        n = int(ends[0]) + 1 if len(ends) else len(row)
        # whether to end (</s>) is decided by the length-normalised score, not the argmax
        keep = (best[:n] != Vocab.eos) & (row[:n] != Vocab.eos)
        np.testing.assert_array_equal(best[:n][keep], row[:n][keep])


def test_config_rejects_bad_buckets():
    with pytest.raises(ConfigError, match="--buckets: expected a comma list of int >= 2, increasing"):
        TranslationConfig(buckets=(16, 8))


def test_missing_data_names_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError, match="--data_dir=.* must contain train.en.gz"):
        tr.main(TranslationConfig(data_dir=str(tmp_path), runs_dir=str(tmp_path / "runs")))


def test_translation_runs_tiny_and_translates(data_dir, tmp_path, capsys):
    args = [*TINY, "--attention", f"--data_dir={data_dir}", f"--runs_dir={tmp_path / 'runs'}"]
    cfg, _ = parse_args(TranslationConfig, args)
    results = tr.main(cfg)
    (run_dir,) = (tmp_path / "runs" / "translation").iterdir()
    for name in ("params.npz", "vocab.en.json", "examples.md", "test_translations.txt"):
        assert (run_dir / name).exists(), name
    assert 0.0 <= results["test_bleu"] <= 100.0 and results["attention"] is True
    capsys.readouterr()
    assert cli_main(["translation", "translate", "--run", str(run_dir), "a man rides a bike ."]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    assert cli_main(["translation", "translate", "--run", str(tmp_path / "nowhere"), "x"]) == 2


def test_dropout_masks_are_per_example_reproducible_and_absent_in_evaluation():
    x = jnp.ones((3, 400, 5))
    seeds = jnp.array([7, 7, 8], jnp.uint32)
    y = np.asarray(nmt.dropout(x, seeds, 0.25, salt=0))
    assert set(np.unique(y)) <= {np.float32(0.0), np.float32(1.0) / np.float32(0.75)}
    np.testing.assert_array_equal(y[0], y[1])  # same seed, same mask
    assert not np.array_equal(y[0], y[2])
    assert abs((y > 0).mean() - 0.75) < 0.02
    assert not np.array_equal(y[0], np.asarray(nmt.dropout(x, seeds, 0.25, salt=1))[0])
    np.testing.assert_array_equal(nmt.dropout(x, None, 0.25, salt=0), x)
    np.testing.assert_array_equal(nmt.dropout(x, seeds, 0.0, salt=0), x)


def test_loss_with_dropout_differs_only_in_training():
    cfg = TranslationConfig(attention=True, hidden=6, embed=3)
    params = tr.init_params(jax.random.key(0), cfg, 9, 7)
    src, src_len = pad_batch([[4, 5, 6], [7, 8]], 4)
    ys = tuple(map(jnp.asarray, pad_targets([[4, 5], [6]], 4)))
    batch = (jnp.asarray(src), jnp.asarray(src_len), *ys)
    seeds = jnp.array([1, 2], jnp.uint32)
    clean = nmt.loss_fn(params, batch, True)
    assert float(nmt.loss_fn(params, (*batch, seeds), True, 0.0)) == pytest.approx(float(clean))
    noisy = nmt.loss_fn(params, (*batch, seeds), True, 0.5)
    assert float(noisy) != pytest.approx(float(clean))
    assert float(nmt.loss_fn(params, (*batch, seeds), True, 0.5)) == float(noisy)


def test_dropout_flag_is_checked():
    with pytest.raises(ConfigError, match="--dropout"):
        TranslationConfig(dropout=1.0)
