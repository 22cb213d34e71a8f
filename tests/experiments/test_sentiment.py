"""experiments.tasks.sentiment and experiments.data.text: files, tokenizer, buckets, CLI, tiny runs."""

from __future__ import annotations

import re

import jax
import numpy as np
import pytest

from experiments.cli import main as cli_main
from experiments.configs import SentimentConfig
from experiments.core.args import parse_args
from experiments.core.errors import ConfigError
from experiments.data import download
from experiments.data.locate import DataNotFoundError
from experiments.data.text import FileFormatError, Vocab, read_sentences, tokenize_sst
from experiments.tasks import sentiment

PAD_TOL = 1e-5  # float32: the same sentence padded to two bucket lengths

POS = ["a great fun film", "wonderful and moving", "great acting , great story", "a joy"]
NEG = ["a dull boring mess", "awful and tedious", "boring , boring , boring", "a chore"]


def _tsv(path, pairs, header=True):
    lines = (["sentence\tlabel"] if header else []) + [f"{s} \t{y}" for s, y in pairs]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def sst_dir(tmp_path):
    folder = tmp_path / "sst2"
    folder.mkdir()
    pairs = [(s, 1) for s in POS] + [(s, 0) for s in NEG]
    _tsv(folder / "train.tsv", pairs * 4)
    _tsv(folder / "dev.tsv", pairs)
    return folder


def _tiny_cfg(tmp_path, sst_dir, **kw):
    base = dict(
        data_dir=str(sst_dir),
        embed=8,
        hidden=8,
        buckets=(4, 8),
        steps=4,
        batch_size=8,
        eval_every=2,
        log_every=2,
        ckpt_every=4,
        progress=False,
        runs_dir=str(tmp_path / "runs"),
    )
    return SentimentConfig(**{**base, **kw})


# ---- text files and tokenizer -------------------------------------------------------------


def test_read_labelled_and_plain_files(tmp_path):
    ex = read_sentences(_tsv(tmp_path / "a.tsv", [("good", 1), ("bad", 0)]))
    assert [(e.line, e.sentence, e.label) for e in ex] == [(2, "good", 1), (3, "bad", 0)]
    plain = tmp_path / "p.txt"
    plain.write_text("a fine film\nterrible .\n")
    assert [(e.line, e.label) for e in read_sentences(plain)] == [(1, None), (2, None)]


def test_malformed_lines_are_reported_with_line_numbers(tmp_path):
    f = tmp_path / "bad.tsv"
    f.write_text("sentence\tlabel\ngood\t1\nbad\tneg\nno label here\n\t0\nok\t0\n")
    with pytest.raises(FileFormatError) as err:
        read_sentences(f)
    assert [n for n, _ in err.value.problems] == [3, 4, 5]
    msg = str(err.value)
    assert f"{f}:3: label must be one of 0, 1, got 'neg'" in msg
    assert f"{f}:4: missing <TAB>label" in msg
    assert f"{f}:5: empty sentence" in msg


def test_tokenizer_matches_sst2_and_vocab_round_trips(tmp_path):
    assert tokenize_sst("It's NOT good, is it?") == ["it", "'s", "not", "good", ",", "is", "it", "?"]
    assert tokenize_sst("it 's not good , is it ?") == tokenize_sst("It's NOT good, is it?")
    vocab = Vocab.build([tokenize_sst("a b b"), tokenize_sst("b c")], min_count=2)
    assert vocab.tokens == ["<pad>", "<unk>", "<s>", "</s>", "b"]
    vocab.save(tmp_path / "v.json")
    again = Vocab.load(tmp_path / "v.json")
    assert again.tokens == vocab.tokens and again.encode(tokenize_sst("b zzz")) == [4, 1]


# ---- batching and the model ---------------------------------------------------------------


def test_batches_are_bucketed_and_deterministic(tmp_path, sst_dir):
    cfg = _tiny_cfg(tmp_path, sst_dir, buckets=(2, 4, 8), batch_size=5)
    _, train_ex, dev_ex = sentiment.load_sst2(cfg)
    vocab = Vocab.build(tokenize_sst(e.sentence) for e in train_ex)
    train_set = sentiment.encode(vocab, train_ex)
    prob = sentiment.problem(cfg, "lstm", vocab, train_set, sentiment.encode(vocab, dev_ex))
    seen = set()
    for step in range(12):
        ids, lengths, labels, seed = prob.batch(step)
        T = ids.shape[1]
        seen.add(T)
        lower = max([b for b in cfg.buckets if b < T], default=0)
        assert T in cfg.buckets and ids.shape == (5, T) and labels.shape == (5,)
        assert np.all((lengths > lower) & (lengths <= T))  # each sentence in its own bucket
        assert np.all(ids[np.arange(T)[None, :] >= lengths[:, None]] == 0)
        np.testing.assert_array_equal(prob.batch(step)[0], ids)
    assert len(seen) > 1


def test_padding_to_a_longer_bucket_changes_nothing():
    cfg = SentimentConfig(embed=6, hidden=5)
    for model in ("rnn", "lstm", "gru"):
        params = sentiment.init_params(jax.random.key(0), cfg, model, 20)
        seqs = [[3, 4, 5], [7, 8, 9, 10, 11, 2]]
        short = sentiment.predict_proba(params, seqs, (8,))
        long = sentiment.predict_proba(params, seqs, (64,))
        np.testing.assert_allclose(short, long, atol=PAD_TOL)


def test_config_errors():
    with pytest.raises(
        ConfigError, match=r"--models: expected a comma list of rnn\|lstm\|gru\|mingru\|minlstm\|rglru\|lru\|slstm\|mlstm, got 'tanh'"
    ):
        parse_args(SentimentConfig, ["--models=tanh"])
    with pytest.raises(ConfigError, match="--buckets: expected a comma list of int >= 1, increasing"):
        parse_args(SentimentConfig, ["--buckets=16,8"])
    assert cli_main(["sentiment", "--no_such_key=1"]) == 2


def test_missing_data_stops_with_the_places_it_looked(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise download.urllib.error.URLError("offline")

    monkeypatch.setattr(download.urllib.request, "urlopen", offline)
    monkeypatch.delenv("JAXRNN_DATA", raising=False)
    monkeypatch.setenv("JAXRNN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError, match=r"(?s)\$JAXRNN_DATA: not set.*SST-2\.zip"):
        sentiment.main(SentimentConfig(runs_dir=str(tmp_path / "runs"), progress=False))


# ---- a tiny run, then predict / evaluate ---------------------------------------------------


def test_tiny_run_then_predict_and_evaluate(tmp_path, sst_dir, capsys):
    results = sentiment.main(_tiny_cfg(tmp_path, sst_dir))
    assert {r["model"] for r in results.values()} == {"rnn", "lstm"}
    (run,) = (tmp_path / "runs" / "sentiment").iterdir()
    for name in ("vocab.json", "data.json", "curves.png", "confusion_lstm.png", "results.md"):
        assert (run / name).is_file()
    capsys.readouterr()

    assert cli_main(["sentiment", "predict", "--run", str(run), "A great film!", "boring"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    label, prob, text = lines[0].split("\t")
    assert label in ("positive", "negative") and 0.5 <= float(prob) <= 1.0
    assert text == "A great film!"

    labelled = _tsv(tmp_path / "eval.tsv", [("great fun", 1), ("dull mess", 0)], header=False)
    assert cli_main(["sentiment", "evaluate", "--run", str(run), "--file", str(labelled)]) == 0
    assert "accuracy" in capsys.readouterr().out

    plain = tmp_path / "plain.txt"
    plain.write_text("great fun\ndull mess\n")
    assert cli_main(["sentiment", "evaluate", "--run", str(run), "--model", "rnn", "--file", str(plain)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2

    bad = tmp_path / "bad.tsv"
    bad.write_text("great fun\t1\ndull mess\tmaybe\n")
    assert cli_main(["sentiment", "evaluate", "--run", str(run), "--file", str(bad)]) == 2
    assert f"{bad}:2: label must be one of 0, 1" in capsys.readouterr().err

    assert cli_main(["sentiment", "predict", "--run", str(tmp_path / "nope"), "x"]) == 2
    assert "expected a finished sentiment run directory" in capsys.readouterr().err


def test_unicode_line_separators_stay_inside_sentences(tmp_path):
    """U+0085 and U+2028 inside a sentence do not end its line (``str.splitlines`` would)."""
    f = tmp_path / "odd.tsv"
    f.write_text("sentence\tlabel\na witty\x85film\t1\nslow\u2028and dull\t0\r\nfine\t1\n")
    ex = read_sentences(f)
    assert [(e.line, e.sentence, e.label) for e in ex] == [
        (2, "a witty\x85film", 1), (3, "slow\u2028and dull", 0), (4, "fine", 1)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("data not found", r"error: sst2: --data_dir=.* must contain train\.tsv"),
        ("bad data file", r"error: .*train\.tsv: 1 malformed line\(s\)"),
        ("batch larger than the data", r"error: --batch_size: expected at most the 32 training"),
        ("devices", r"error: --devices: expected an int in \[1, \d+\]"),
    ],
)
def test_user_errors_exit_2_with_one_error_line(case, match, tmp_path, sst_dir, capsys):
    args = ["--embed=4", "--hidden=4", "--steps=2", "--batch_size=8", f"--runs_dir={tmp_path / 'runs'}",
            "--progress=false", f"--data_dir={sst_dir}"]  # fmt: skip
    if case == "data not found":
        args[-1] = f"--data_dir={tmp_path / 'nowhere'}"
    elif case == "bad data file":
        (sst_dir / "train.tsv").write_text("good\t1\nbad\tneg\n")
    elif case == "batch larger than the data":
        args[3] = "--batch_size=33"
    else:
        args.append("--devices=999")
    assert cli_main(["sentiment", *args]) == 2
    err = capsys.readouterr().err
    assert re.match(match, err), err
    assert "Traceback" not in err


def test_word_dropout_is_seeded_and_changes_the_loss():
    cfg = SentimentConfig(embed=6, hidden=5)
    params = sentiment.init_params(jax.random.key(0), cfg, "lstm", 20)
    ids = np.arange(2, 18, dtype=np.int32).reshape(2, 8)
    batch = (ids, np.array([8, 5], np.int32), np.array([0, 1], np.int32), np.uint32(7))
    plain = sentiment.make_loss(0.0)(params, batch)
    dropped = sentiment.make_loss(0.0, 0.5)
    assert float(dropped(params, batch)) == float(dropped(params, batch))
    assert float(dropped(params, batch)) != float(plain)
    with pytest.raises(ConfigError, match=r"--word_dropout: expected a float in \[0, 1\)"):
        parse_args(SentimentConfig, ["--word_dropout=1.0"])


def test_non_utf8_file_is_reported_with_its_line(tmp_path):
    f = tmp_path / "latin1.tsv"
    f.write_bytes(b"fine\t1\ncaf\xe9\t0\n")
    with pytest.raises(ValueError, match=r"latin1\.tsv:2: not UTF-8"):
        read_sentences(f)
