"""SST-2 sentiment (many-to-one): word embedding -> RNN or LSTM -> final state -> linear.

Each sentence ``w_1 .. w_n`` is embedded (``x_t = E[w_t]``, learned from scratch), read by
the cell, and classified from the state after its last word: ``p(y) = softmax(V s_n + b)``
(``h_n`` for the LSTM). Batches hold sentences of similar length, padded to a few bucket
lengths, and ``lengths`` makes the scans hold the state past each sentence's end, so padding
changes nothing and costs little. The vanilla RNN and the LSTM have the same sizes.
``--recipe=deep`` builds the minGRU, minLSTM, Hawk block and LRU as residual blocks
(:mod:`experiments.models.deep_min`), classified from the normalised stream at the last word.

Data: ``--data_dir``, else ``$JAXRNN_DATA/sst2``, else the cache, else the GLUE download
(see :mod:`experiments.data.locate`). The run directory keeps ``vocab.json`` (tokens and tokenizer)
and ``<model>/params.npz``, which the inference commands reload::

    python -m experiments sentiment predict --run RUN_DIR "a gorgeous, witty film"
    python -m experiments sentiment evaluate --run RUN_DIR --file sentences.tsv
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import SentimentConfig
from experiments.core.args import load_config
from experiments.core.errors import RunDirError
from experiments.core.plots import confusion_matrix, plot_confusion, plot_curves
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.data.locate import locate
from experiments.data.sst2 import SST2, encode
from experiments.data.text import (
    SST_TOKENIZER,
    Vocab,
    pad_batch,
    read_sentences,
    tokenize_sst,
)
from experiments.models.deep_min import DEEP_MODELS
from experiments.models.losses import cross_entropy
from experiments.models.params_io import load_params, save_params
from experiments.models.registry import MODELS
from experiments.models.sequence import final_logits, init_model

LABELS = ("negative", "positive")


def init_params(key: jax.Array, cfg: SentimentConfig, model: str, vocab_size: int) -> dict:
    """``{"embed": E (vocab, embed), "cell": ..., "readout": ...}`` with 2 outputs; the deep
    recipe: ``{"embed": E (vocab, hidden), "blocks": ..., "readout": ...}``, ``E`` at unit
    scale as the residual stream's first value (as in charlm)."""
    k_embed, k_model = jax.random.split(key)
    if cfg.recipe == "deep" and model in DEEP_MODELS:
        params = init_model(k_model, model, cfg.hidden, cfg.hidden, len(LABELS),
                            blocks=cfg.blocks, mlp_expansion=cfg.mlp_expansion)  # fmt: skip
        params["embed"] = jax.random.normal(k_embed, (vocab_size, cfg.hidden), jnp.float32)
        return params
    params = init_model(k_model, model, cfg.embed, cfg.hidden, len(LABELS))
    params["embed"] = 0.1 * jax.random.normal(k_embed, (vocab_size, cfg.embed), jnp.float32)
    return params


def _dropout(key: jax.Array, x: jax.Array, rate: float) -> jax.Array:
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


@jax.jit
def logits_fn(params: dict, ids: jax.Array, lengths: jax.Array) -> jax.Array:
    """Class logits ``(B, 2)`` of padded token ids ``(B, T)`` with true ``lengths (B,)``."""
    return final_logits(params, params["embed"][ids], lengths)


def make_loss(rate: float, word_rate: float = 0.0):
    """Training loss with (inverted) dropout of rate ``rate`` on the embedded words, after
    replacing each word by ``<unk>`` with probability ``word_rate`` (word dropout)."""

    def loss(params, batch) -> jax.Array:
        ids, lengths, labels, seed = batch
        k_word, k_embed = jax.random.split(jax.random.key(seed))
        if word_rate > 0:
            ids = jnp.where(jax.random.bernoulli(k_word, word_rate, ids.shape), Vocab.unk, ids)
        xs = params["embed"][ids]
        if rate > 0:
            xs = _dropout(k_embed, xs, rate)
        return cross_entropy(final_logits(params, xs, lengths), labels)

    return loss


def bucket_of(n: int, buckets: Sequence[int]) -> int:
    """The smallest bucket length that holds ``n`` tokens (the largest truncates)."""
    return next((b for b in buckets if n <= b), buckets[-1])


def predict_proba(params: dict, seqs: Sequence[Sequence[int]], buckets: Sequence[int]):
    """``p(positive)`` for each token-id sequence, evaluated bucket by bucket, input order."""
    out = np.zeros(len(seqs), np.float32)
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(seqs):
        groups.setdefault(bucket_of(len(s), buckets), []).append(i)
    for T, idx in groups.items():
        ids, lengths = pad_batch([seqs[i] for i in idx], T)
        out[idx] = np.asarray(jax.nn.softmax(logits_fn(params, ids, lengths), -1)[:, 1])
    return out


def problem(cfg: SentimentConfig, model: str, vocab: Vocab, train_set, dev_set) -> Problem:
    """Bucketed training batches (a pure function of ``(seed, step)``) and dev evaluation."""
    seqs, labels = train_set
    dev_seqs, dev_labels = dev_set
    members: dict[int, list[int]] = {}
    for i, s in enumerate(seqs):
        members.setdefault(bucket_of(len(s), cfg.buckets), []).append(i)
    sizes = sorted(members)
    by_bucket = {T: np.asarray(members[T]) for T in sizes}
    weights = np.array([len(by_bucket[T]) for T in sizes], np.float64)
    weights /= weights.sum()

    def batch(step: int):
        rng = np.random.default_rng([cfg.seed, step])
        T = sizes[rng.choice(len(sizes), p=weights)]
        pool = by_bucket[T]
        idx = rng.choice(pool, cfg.batch_size, replace=len(pool) < cfg.batch_size)
        ids, lengths = pad_batch([seqs[i] for i in idx], T)
        seed = np.uint32(rng.integers(0, 2**32 - 1))
        return ids, lengths, labels[idx], seed

    def evaluate(params) -> dict[str, float]:
        p = np.clip(predict_proba(params, dev_seqs, cfg.buckets), 1e-7, 1 - 1e-7)
        nll = -np.mean(np.where(dev_labels == 1, np.log(p), np.log1p(-p)))
        return {"dev_loss": float(nll), "dev_acc": float(np.mean((p > 0.5) == dev_labels))}

    return Problem(
        init=lambda key: init_params(key, cfg, model, len(vocab)),
        loss=make_loss(cfg.dropout, cfg.word_dropout),
        batch=batch,
        evaluate=evaluate,
        n_train=len(seqs),
    )


def load_sst2(cfg: SentimentConfig):
    """``(located, train examples, dev examples)``; ``train_limit > 0`` keeps that many."""
    located = locate(SST2, cfg.data_dir or None)
    train_ex = read_sentences(located.path / "train.tsv")
    dev_ex = read_sentences(located.path / "dev.tsv")
    if cfg.train_limit > 0:
        train_ex = train_ex[: cfg.train_limit]
    return located, train_ex, dev_ex


LOSS_KEY = "dev_loss"
"""The held-out loss :mod:`experiments.tasks.wallclock` compares."""


def prepare(cfg: SentimentConfig):
    """``(located, vocab, train set, dev set)``: the data read, the vocabulary built on the
    training sentences, both sets encoded."""
    located, train_ex, dev_ex = load_sst2(cfg)
    vocab = Vocab.build((tokenize_sst(e.sentence) for e in train_ex), cfg.min_count, SST_TOKENIZER)
    return located, vocab, encode(vocab, train_ex), encode(vocab, dev_ex)


def problems(cfg: SentimentConfig, models: Sequence[str]) -> dict[str, Problem]:
    """One :class:`Problem` per model, the data read and encoded once."""
    _, vocab, train_set, dev_set = prepare(cfg)
    return {m: problem(cfg, m, vocab, train_set, dev_set) for m in models}


def main(cfg: SentimentConfig, resume: str | None = None) -> dict:
    located, vocab, train_set, dev_set = prepare(cfg)
    run = Run.create("sentiment", cfg, resume)
    run.write_json("data.json", located.record())
    note = "matches GLUE sha256" if located.verified else "does NOT match the GLUE sha256"
    print(f"[sentiment] data {located.path} ({located.source}; {note})", flush=True)
    vocab.save(run.path / "vocab.json")
    print(
        f"[sentiment] {len(train_set[0])} train, {len(dev_set[0])} dev sentences; "
        f"vocab {len(vocab)}",
        flush=True,
    )
    results, histories = {}, {}
    for model in cfg.models:
        deep = cfg.recipe == "deep" and model in DEEP_MODELS
        sizes = f"{cfg.blocks} deep blocks" if deep else f"embed {cfg.embed}"
        print(f"[sentiment] {model}: {cfg.steps} steps, {sizes}, hidden {cfg.hidden}")
        t0 = time.perf_counter()
        out = train(cfg, problem(cfg, model, vocab, train_set, dev_set), run.sub(model))
        save_params(run.path / model / "params.npz", out.params)
        p = predict_proba(out.params, dev_set[0], cfg.buckets)
        pred = (p > 0.5).astype(np.int32)
        acc = float(np.mean(pred == dev_set[1]))
        plot_confusion(
            run.path / f"confusion_{model}.png",
            confusion_matrix(dev_set[1], pred, 2),
            LABELS,
            f"SST-2 dev, {model}: accuracy {acc:.3f}",
        )
        results[model] = {
            "model": model,
            "dev_acc": round(acc, 4),
            "steps": out.metrics["steps"],
            "wall_s": round(out.metrics.get("wall_s", time.perf_counter() - t0), 1),
            "params": sum(int(np.size(x)) for x in jax.tree.leaves(out.params)),
        }
        histories[model] = out.history
    plot_curves(run.path / "curves.png", histories, "dev_acc", "SST-2: RNN vs LSTM")
    run.report(list(results.values()), "SST-2 dev accuracy")
    print(f"run directory: {run.path}")
    return results


# ---- inference: predict / evaluate ------------------------------------------------------


def load_run(run_dir: str, model: str):
    """``(cfg, vocab, params)`` of a finished run directory.

    Raises:
        RunDirError: the directory lacks ``config.json``, ``vocab.json`` or the
            model's ``params.npz`` (the message names what is missing).
    """
    path = Path(run_dir)
    need = [path / "config.json", path / "vocab.json", path / model / "params.npz"]
    missing = [str(p) for p in need if not p.is_file()]
    if missing:
        raise RunDirError(
            f"--run: expected a finished sentiment run directory with {', '.join(missing)}; "
            f"got {path}. Train one with `python -m experiments sentiment` (models: "
            "--models) and pass the printed run directory."
        )
    cfg = load_config(SentimentConfig, path / "config.json")
    vocab = Vocab.load(path / "vocab.json")
    if vocab.tokenizer != SST_TOKENIZER:
        raise RunDirError(
            f"{path / 'vocab.json'}: expected tokenizer {SST_TOKENIZER!r}, got {vocab.tokenizer!r}"
        )
    like = init_params(jax.random.key(0), cfg, model, len(vocab))
    return cfg, vocab, load_params(path / model / "params.npz", like)


def command(argv: list[str]) -> int:
    """``predict`` / ``evaluate`` with a trained run: ``python -m experiments sentiment predict
    --run DIR SENTENCE...`` or ``... evaluate --run DIR --file FILE``."""
    parser = argparse.ArgumentParser(prog="python -m experiments sentiment")
    sub = parser.add_subparsers(dest="command", required=True)
    pred = sub.add_parser("predict", help="print label and probability of each sentence")
    pred.add_argument("sentences", nargs="+")
    ev = sub.add_parser("evaluate", help="accuracy on sentence<TAB>label lines")
    ev.add_argument("--file", required=True)
    for p in (pred, ev):
        p.add_argument("--run", required=True, help="a sentiment run directory")
        p.add_argument("--model", default="lstm", choices=MODELS)
    args = parser.parse_args(argv)
    cfg, vocab, params = load_run(args.run, args.model)
    if args.command == "predict":
        sentences, labels = args.sentences, None
    else:
        examples = read_sentences(args.file)
        sentences = [e.sentence for e in examples]
        labels = [e.label for e in examples]
    p = predict_proba(params, [vocab.encode(tokenize_sst(s)) for s in sentences], cfg.buckets)
    if labels is None or labels[0] is None:
        for s, q in zip(sentences, p):
            label = int(q > 0.5)
            print(f"{LABELS[label]}\t{q if label else 1 - q:.4f}\t{s}")
        return 0
    pred_labels = (p > 0.5).astype(np.int32)
    acc = float(np.mean(pred_labels == np.array(labels)))
    summary = {"file": args.file, "model": args.model, "n": len(labels), "accuracy": acc}
    print(f"accuracy {acc:.4f} on {len(labels)} sentences ({args.model}, {args.file})")
    print(json.dumps(summary))
    return 0
