r"""Translation (many-to-many): Multi30k English -> German, LSTM encoder-decoder.

The encoder reads the (lowercased, tokenized) English sentence, last word first by default
(``--reverse_source``, Sutskever et al. 2014); its final state starts the decoder, which is
trained with teacher forcing and decoded with ``jaxrnn.beam_search``. ``--attention`` adds
Luong "general" attention over the encoder states ``e_s``:

.. math::

    a_{ts} = \mathrm{softmax}_s(h_t^\top W_a e_s), \quad c_t = \sum_s a_{ts} e_s, \quad
    \tilde h_t = \tanh(W_c [c_t; h_t]), \quad p(y_t) = \mathrm{softmax}(V \tilde h_t + b)

For beam search the encoder states, their projections and the source mask live in the
carry, so the search can tile them per beam. The metric is corpus BLEU (sacrebleu, cased,
detokenized) on test_2016_flickr.

Data: ``--data_dir``, else ``$JAXRNN_DATA/translation/multi30k``, else the cache, else a
download from the multi30k/dataset repository checked against the sha256s (see
:mod:`experiments.data.locate`; files ``{train,val,test_2016_flickr}.{en,de}.gz``). Inference::

    python -m experiments translation translate --run RUN_DIR "a man rides a bike ."
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import jax
import numpy as np

from experiments.configs import TranslationConfig
from experiments.core.args import load_config
from experiments.core.errors import DataFileError, RunDirError
from experiments.core.run import Run, format_table
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.data.dataset import Dataset
from experiments.data.files import read_text, split_lines
from experiments.data.locate import locate
from experiments.data.text import Vocab, pad_batch, pad_targets
from experiments.models import nmt
from experiments.models.nmt import loss_fn, translate_ids
from experiments.models.params_io import load_params, save_params

MULTI30K = Dataset(
    name="translation/multi30k",  # the layout of shared/data: $JAXRNN_DATA/translation/multi30k
    files={
        "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
        "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
        "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
        "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
        "test_2016_flickr.en.gz": (
            "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"
        ),
        "test_2016_flickr.de.gz": (
            "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"
        ),
    },
    file_urls={
        f"{split}.{lang}.gz": "https://raw.githubusercontent.com/multi30k/dataset/"
        f"a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/{split}.{lang}.gz"
        for split in ("train", "val", "test_2016_flickr")
        for lang in ("en", "de")
    },
)
SPLITS = ("train", "val", "test_2016_flickr")
_TOKEN = re.compile(r"[\w'-]+|[^\w\s]")
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:)])")


def tokenize(text: str, lower: bool) -> list[str]:
    """Words (keeping ``'`` and ``-`` inside) and single punctuation marks.

    Example:
        >>> tokenize("A man's T-Shirt, (red).", lower=True)
        ['a', "man's", 't-shirt', ',', '(', 'red', ')', '.']
    """
    return _TOKEN.findall(text.lower() if lower else text)


def detokenize(words: list[str]) -> str:
    """Join tokens, with no space before ``.,!?;:)`` or after ``(``.

    Example:
        >>> detokenize(["Ein", "Mann", "(", "alt", ")", "fährt", "."])
        'Ein Mann (alt) fährt.'
    """
    return _NO_SPACE_BEFORE.sub(r"\1", " ".join(words)).replace("( ", "(")


def read_split(folder: Path, split: str, limit: int = 0) -> tuple[list[str], list[str]]:
    """``(english, german)`` sentences of a split (the first ``limit`` if ``limit > 0``)."""
    pair = [split_lines(read_text(folder / f"{split}.{lang}.gz")) for lang in ("en", "de")]
    if len(pair[0]) != len(pair[1]):
        raise DataFileError(
            f"{folder / split}.{{en,de}}.gz: expected aligned files (one sentence per line), got "
            f"{len(pair[0])} en / {len(pair[1])} de lines"
        )
    if limit:
        pair = [p[:limit] for p in pair]
    return pair[0], pair[1]


def build_vocab(sentences: list[str], lower: bool, min_count: int) -> Vocab:
    """The vocabulary of the tokenized ``sentences`` (words seen ``min_count`` times)."""
    name = "multi30k-lower" if lower else "multi30k-cased"
    return Vocab.build((tokenize(s, lower) for s in sentences), min_count, name)


def init_params(key: jax.Array, cfg: TranslationConfig, n_src: int, n_tgt: int) -> dict:
    """:func:`experiments.models.nmt.init_params` with the sizes of ``cfg``."""
    return nmt.init_params(key, n_src, n_tgt, embed=cfg.embed, hidden=cfg.hidden,
                           attention=cfg.attention)  # fmt: skip


class Translator:
    """Vocabularies, parameters and a jitted beam search: ``translate(sentences)``."""

    def __init__(self, cfg: TranslationConfig, src_vocab: Vocab, tgt_vocab: Vocab, params) -> None:
        self.cfg, self.src_vocab, self.tgt_vocab, self.params = cfg, src_vocab, tgt_vocab, params
        kw = dict(reverse=cfg.reverse_source, beam_size=cfg.beam_size, max_len=cfg.max_len)
        self._search = jax.jit(lambda p, src, src_len: translate_ids(p, src, src_len, **kw))

    def translate(self, sentences: list[str], batch: int = 100) -> list[str]:
        S = max(self.cfg.buckets)
        out = []
        for i in range(0, len(sentences), batch):
            chunk = [
                self.src_vocab.encode(tokenize(s, lower=True)) for s in sentences[i : i + batch]
            ]
            n = len(chunk)
            src, src_len = pad_batch(chunk + [[]] * (batch - n), S)
            ids = np.asarray(self._search(self.params, src, src_len))[:n]
            out += [detokenize(self.tgt_vocab.decode(row)) for row in ids]
        return out


def bleu(hyps: list[str], refs: list[str]) -> float:
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hyps, [refs]).score)


def make_problem(cfg: TranslationConfig, vocabs, train_src, train_tgt, val_batch) -> Problem:
    """Bucketed batches: a step draws a bucket (by its share of sentences), then sentences."""
    B = cfg.buckets
    need = np.array([max(len(s), len(t) + 1) for s, t in zip(train_src, train_tgt)])
    bucket = np.minimum(np.searchsorted(B, need), len(B) - 1)
    members = [np.flatnonzero(bucket == k) for k in range(len(B))]
    share = np.array([len(m) for m in members], float) / len(need)
    reverse = cfg.reverse_source

    def batch(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        k = rng.choice(len(B), p=share)
        idx = rng.choice(members[k], cfg.batch_size)
        src, src_len = pad_batch([train_src[i] for i in idx], B[k])
        ys = pad_targets([train_tgt[i] for i in idx], B[k])
        seeds = rng.integers(0, 2**31, cfg.batch_size, dtype=np.uint32)  # dropout masks
        return (src, src_len, *ys, seeds)

    val_loss = jax.jit(lambda p: loss_fn(p, val_batch, reverse))
    return Problem(
        init=lambda key: init_params(key, cfg, len(vocabs[0]), len(vocabs[1])),
        loss=lambda p, b: loss_fn(p, b, reverse, cfg.dropout),
        batch=batch,
        evaluate=lambda p: {"val_nll": val_loss(p)},
        n_train=len(train_src),
    )


def encode_pairs(vocabs, en: list[str], de: list[str]):
    src = [vocabs[0].encode(tokenize(s, lower=True)) for s in en]
    tgt = [vocabs[1].encode(tokenize(s, lower=False)) for s in de]
    return src, tgt


def main(cfg: TranslationConfig, resume: str | None = None) -> dict:
    located = locate(MULTI30K, cfg.data_dir or None)
    run = Run.create("translation", cfg, resume)
    run.write_json("data.json", located.record())
    data = {
        split: read_split(
            located.path, split, cfg.train_limit if split == "train" else cfg.eval_limit
        )
        for split in SPLITS
    }
    vocabs = (
        build_vocab(data["train"][0], True, cfg.min_count),
        build_vocab(data["train"][1], False, cfg.min_count),
    )
    for name, v in zip(("en", "de"), vocabs):
        v.save(run.path / f"vocab.{name}.json")
    print(f"[translation] data {located.path} ({located.source}); "
          f"{len(data['train'][0])} train pairs; vocab en {len(vocabs[0])}, de {len(vocabs[1])}; "
          f"attention={cfg.attention}", flush=True)  # fmt: skip
    train_src, train_tgt = encode_pairs(vocabs, *data["train"])
    val_src, val_tgt = encode_pairs(vocabs, *data["val"])
    S = max(cfg.buckets)
    val_batch = (*pad_batch(val_src, S), *pad_targets(val_tgt, S))
    out = train(cfg, make_problem(cfg, vocabs, train_src, train_tgt, val_batch), run)
    save_params(run.path / "params.npz", out.params)
    translator = Translator(cfg, *vocabs, out.params)
    results = {"val_nll": round(float(out.metrics["val_nll"]), 4)}
    for split, key in (("val", "val_bleu"), ("test_2016_flickr", "test_bleu")):
        en, de = data[split]
        hyps = translator.translate(en)
        results[key] = round(bleu(hyps, de), 2)
        if split == "test_2016_flickr":
            (run.path / "test_translations.txt").write_text("\n".join(hyps) + "\n")
            rows = [{"source": s, "reference": r, "output": h}
                    for s, r, h in list(zip(en, de, hyps))[:8]]  # fmt: skip
            table = format_table(rows)
            (run.path / "examples.md").write_text(table + "\n")
            print(table)
    results.update(steps=out.metrics["steps"], wall_s=round(out.metrics.get("wall_s", 0.0), 1),
                   attention=cfg.attention, beam_size=cfg.beam_size)  # fmt: skip
    run.write_json("results.json", results)
    print(f"run directory: {run.path}")
    return results


# ---- inference: translate -----------------------------------------------------------------


def load_translator(run_dir: str) -> Translator:
    """The :class:`Translator` of a finished run directory.

    Raises:
        RunDirError: a file of the run is missing (the message names it).
    """
    path = Path(run_dir)
    need = [path / n for n in ("config.json", "vocab.en.json", "vocab.de.json", "params.npz")]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        raise RunDirError(
            f"--run: expected a finished translation run directory with {', '.join(missing)}; "
            f"got {path}. Train one with `python -m experiments translation`."
        )
    cfg = load_config(TranslationConfig, path / "config.json")
    vocabs = [Vocab.load(path / f"vocab.{n}.json") for n in ("en", "de")]
    like = init_params(jax.random.key(0), cfg, len(vocabs[0]), len(vocabs[1]))
    return Translator(cfg, *vocabs, load_params(path / "params.npz", like))


def command(argv: list[str]) -> int:
    """``translate --run DIR SENTENCE...``: ``python -m experiments translation translate ...``."""
    parser = argparse.ArgumentParser(prog="python -m experiments translation")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("translate", help="print the German translation of each sentence")
    tr.add_argument("--run", required=True, help="a translation run directory")
    tr.add_argument("sentences", nargs="+", help="English sentences")
    args = parser.parse_args(argv)
    for line in load_translator(args.run).translate(args.sentences):
        print(line)
    return 0
