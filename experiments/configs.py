"""The configuration of every experiment: one frozen dataclass per task, each a
:class:`~experiments.core.config.TrainConfig` with the task's own fields.

They live together, apart from the task code, so that listing the experiments and
``--help`` import no JAX. Each field's type is its check (see
:mod:`experiments.core.config`) and its line under ``Attributes`` is its ``--help`` text.
``PRESETS["quick"]`` finishes in under two minutes on two CPU cores and still shows the
experiment's point.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Annotated, Literal

from experiments.core.config import (
    Fraction,
    Increasing,
    Length,
    NonEmpty,
    NonNegative,
    Positive,
    PositiveFloat,
    Range,
    Rate,
    Schedule,
    TrainConfig,
)
from experiments.core.errors import ConfigError
from experiments.models.registry import DEFAULT_MODELS, MODELS, Model

View = Literal["rows", "pixels", "one_to_one"]
StateTask = Literal["parity", "mod3"]
VIEWS: tuple[str, ...] = typing.get_args(View)
Models = tuple[Model, ...]


@dataclasses.dataclass(frozen=True)
class SweepConfig(TrainConfig):
    """Training plus a sweep over models and sequence lengths.

    Attributes:
        T_values: sequence lengths of the sweep.
        models: the recurrent cells compared.
        hidden: hidden units of every model.
        test_size: examples in the fixed test set.
    """

    T_values: tuple[Length, ...] = (50, 100)
    models: Models = DEFAULT_MODELS
    hidden: Positive = 128
    test_size: Positive = 500
    batch_size: Positive = 20


@dataclasses.dataclass(frozen=True)
class VanishingGradientsConfig(TrainConfig):
    """Gradient norms against distance, at initialisation and after training on adding.

    Attributes:
        T: length of the adding problem the models are trained on.
        probe_T: length of the probe sequences the gradient norms are measured on.
        hidden: hidden units of every model.
        models: the recurrent cells compared.
        probe_size: sequences in the probe batch.
        test_size: examples in the adding test set.
    """

    PRESETS = {"quick": {"steps": "800", "probe_size": "50", "test_size": "200"}}

    T: Length = 50
    probe_T: Length = 200
    hidden: Positive = 128
    models: Models = DEFAULT_MODELS
    probe_size: Positive = 100
    test_size: Positive = 500
    steps: Positive = 2500
    batch_size: Positive = 20
    eval_every: Positive = 100


@dataclasses.dataclass(frozen=True)
class AddingConfig(SweepConfig):
    """The adding problem at T = 50, 100, 200, 400, 5000 steps per (model, T)."""

    PRESETS = {"quick": {"T_values": "50", "steps": "3000", "test_size": "200"}}

    T_values: tuple[Length, ...] = (50, 100, 200, 400)
    steps: Positive = 5000


@dataclasses.dataclass(frozen=True)
class CopyConfig(SweepConfig):
    """The copy-memory task at T = 50, 100, 10000 steps per (model, T)."""

    PRESETS = {"quick": {"T_values": "10", "steps": "2500", "test_size": "200"}}

    steps: Positive = 10000


@dataclasses.dataclass(frozen=True)
class DigitsConfig(TrainConfig):
    """Digits read by rows, by pixels and in one step, RNN vs LSTM.

    Attributes:
        views: how an image is read as a sequence.
        models: the recurrent cells compared.
        hidden: hidden units of every model.
        test_fraction: share of the images held out for testing (stratified).
        split_seed: seed of the train/test split.
    """

    PRESETS = {"quick": {"steps": "300", "eval_every": "150"}}

    views: tuple[View, ...] = VIEWS
    models: Models = DEFAULT_MODELS
    hidden: Positive = 128
    test_fraction: Fraction = 0.25
    split_seed: NonNegative = 0
    steps: Positive = 2000
    batch_size: Positive = 64
    lr: PositiveFloat = 3e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 200
    log_every: Positive = 20
    ckpt_every: Positive = 1000


@dataclasses.dataclass(frozen=True)
class SentimentConfig(TrainConfig):
    """SST-2 sentiment, RNN vs LSTM (``--word_dropout=0.15`` was tried: worse, kept off).

    Attributes:
        data_dir: folder holding train.tsv and dev.tsv (empty: $JAXRNN_DATA/sst2, the
            cache, or a download).
        models: the recurrent cells compared.
        recipe: how mingru, minlstm, rglru and lru are built: single is one layer of the cell
            read by a linear classifier, like the LSTM; deep is the minGRU paper's residual
            blocks of the cell and a per-step MLP (see blocks, mlp_expansion).
        blocks: residual blocks of the deep recipe (mingru/minlstm/rglru/lru, recipe=deep).
        mlp_expansion: hidden units of the per-step MLP, times hidden (recipe=deep).
        embed: word embedding size (the deep recipe embeds into hidden, its stream's width).
        hidden: hidden units of every model.
        min_count: keep words seen at least this often in training.
        dropout: dropout rate on the embedded words.
        word_dropout: rate at which words are replaced by <unk> in training.
        buckets: padded lengths a batch is cut to (longer sentences are truncated).
        train_limit: use only the first this many training sentences (0: all).
    """

    PRESETS = {"quick": {"steps": "400", "eval_every": "200", "ckpt_every": "400"}}

    data_dir: str = ""
    models: Models = DEFAULT_MODELS
    recipe: Literal["single", "deep"] = "single"
    blocks: Positive = 2
    mlp_expansion: Positive = 4
    embed: Positive = 128
    hidden: Positive = 128
    min_count: Positive = 1
    dropout: Rate = 0.5
    word_dropout: Rate = 0.0
    buckets: Annotated[tuple[Positive, ...], Increasing()] = (8, 16, 32, 64)
    train_limit: NonNegative = 0
    steps: Positive = 3000
    batch_size: Positive = 128
    lr: PositiveFloat = 2e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 500
    log_every: Positive = 25
    ckpt_every: Positive = 1000


@dataclasses.dataclass(frozen=True)
class CaptioningConfig(TrainConfig):
    """Images of 1-3 digit numbers captioned in words by an LSTM decoder.

    Attributes:
        hidden: decoder LSTM units.
        embed: word embedding size.
        encoder: units of the two-layer image encoder.
        test_fraction: share of the digit samples held out for test images (stratified).
        split_seed: seed of the train/test split.
        test_size: test images composed.
        beam_size: beam width of decoding (1: greedy).
        grid: test images drawn in test_captions.png.
    """

    PRESETS = {"quick": {"steps": "1500", "eval_every": "500", "test_size": "500"}}

    hidden: Positive = 256
    embed: Positive = 32
    encoder: Positive = 256
    test_fraction: Fraction = 0.25
    split_seed: NonNegative = 0
    test_size: Positive = 1000
    beam_size: Positive = 1
    grid: Positive = 40
    steps: Positive = 4000
    batch_size: Positive = 64
    lr: PositiveFloat = 2e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 500
    log_every: Positive = 50
    ckpt_every: Positive = 1000


@dataclasses.dataclass(frozen=True)
class CharLMConfig(TrainConfig):
    """Character-level LSTM (any cell; deep minGRU/minLSTM) on Tiny Shakespeare, truncated BPTT.

    Attributes:
        data_dir: folder holding input.txt (empty: $JAXRNN_DATA/tinyshakespeare, the cache,
            a download, or offline Python's own docs).
        model: the recurrent cell; mingru and minlstm run the paper's deep recipe (residual
            blocks of the cell and a per-step MLP), the others a stack of layers.
        layers: stacked layers (blocks for mingru/minlstm).
        hidden: units per layer (the residual stream's width for mingru/minlstm).
        embed: character embedding size (lstm/gru; mingru/minlstm embed into hidden).
        mlp_expansion: hidden units of the per-step MLP, times hidden (mingru/minlstm).
        chunk: characters per truncated-backpropagation chunk.
        chunks: chunks per training window (the state is carried across them).
        val_streams: parallel streams the validation text is cut into.
        val_chars: validate on the first this many characters (0: all).
        temperatures: sampling temperatures of samples.txt.
        sample_chars: characters sampled at each temperature.
        prompt: text the samples continue.
    """

    PRESETS = {
        "quick": {"hidden": "256", "steps": "300", "eval_every": "150", "ckpt_every": "300",
                  "val_chars": "20000", "sample_chars": "200"},
    }  # fmt: skip

    data_dir: str = ""
    model: Model = "lstm"
    layers: Positive = 1
    hidden: Positive = 512
    embed: Positive = 64
    mlp_expansion: Positive = 4
    chunk: Positive = 64
    chunks: Positive = 2
    val_streams: Positive = 64
    val_chars: NonNegative = 0
    temperatures: tuple[PositiveFloat, ...] = (0.7, 1.0)
    sample_chars: Positive = 500
    prompt: Annotated[str, NonEmpty()] = "\n"
    steps: Positive = 1800
    batch_size: Positive = 32
    lr: PositiveFloat = 3e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 300
    log_every: Positive = 25
    ckpt_every: Positive = 300


@dataclasses.dataclass(frozen=True)
class TranslationConfig(TrainConfig):
    """Multi30k English -> German with an LSTM encoder-decoder, optionally with attention.

    Attributes:
        data_dir: folder holding the Multi30k .gz files (empty: $JAXRNN_DATA/translation/
            multi30k, the cache, or a download).
        attention: add Luong attention over the encoder states.
        reverse_source: read the English sentence last word first.
        dropout: dropout rate on embeddings and decoder outputs.
        embed: word embedding size.
        hidden: LSTM units of encoder and decoder.
        min_count: keep words seen at least this often in training.
        buckets: padded lengths a batch is cut to.
        beam_size: beam width of decoding.
        max_len: longest translation generated.
        train_limit: use only the first this many training pairs (0: all).
        eval_limit: evaluate BLEU on the first this many pairs (0: all).
    """

    PRESETS = {
        "quick": {"attention": "true", "train_limit": "6000", "eval_limit": "100",
                  "embed": "96", "hidden": "96", "buckets": "12,20", "batch_size": "32",
                  "steps": "400", "eval_every": "200", "ckpt_every": "400", "beam_size": "1",
                  "max_len": "20"},
    }  # fmt: skip

    data_dir: str = ""
    attention: bool = False
    reverse_source: bool = True
    dropout: Rate = 0.2
    embed: Positive = 256
    hidden: Positive = 256
    min_count: Positive = 2
    buckets: Annotated[tuple[Length, ...], Increasing()] = (16, 24, 32)
    beam_size: Positive = 5
    max_len: Positive = 40
    train_limit: NonNegative = 0
    eval_limit: NonNegative = 0
    steps: Positive = 6000
    batch_size: Positive = 64
    lr: PositiveFloat = 2e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 1000
    log_every: Positive = 50
    ckpt_every: Positive = 1000


@dataclasses.dataclass(frozen=True)
class WallclockConfig(TrainConfig):
    """Held-out loss at equal training wall time and at equal steps, model against model.

    The task's config (its defaults, then ``task_args``) sets every training hyperparameter
    but ``steps``, which follows from ``budget_s``, and ``seed``, which is this config's; of
    the other keys shared by all experiments this one reads only runs_dir, progress and
    host_devices.

    Attributes:
        task: the experiment whose models are compared.
        models: the recurrent cells compared.
        task_args: the task's --key=value overrides, space-separated; a constant learning
            rate makes the curves comparable at every step.
        budget_s: seconds of training (steps times the measured time per step) per model.
        evals: held-out evaluations within the slowest model's run (the faster models
            evaluate at the same steps, and so more times).
        timing_rounds: interleaved rounds timing every model's training step.
        timing_steps: training steps timed per model and round.
        max_steps: at most this many steps per model.
        lock: file held locked (flock) while timing, e.g. /tmp/bench.lock (empty: none).
    """

    PRESETS = {"quick": {"budget_s": "20", "evals": "4", "timing_rounds": "3",
                         "task_args": "--preset=quick --schedule=constant"}}  # fmt: skip

    task: Literal["charlm", "sentiment"] = "charlm"
    models: Models = ("lstm", "mingru", "minlstm")
    task_args: str = "--schedule=constant"
    budget_s: PositiveFloat = 120.0
    evals: Positive = 10
    timing_rounds: Positive = 5
    timing_steps: Positive = 5
    max_steps: Positive = 50_000
    lock: str = ""

    def check(self) -> None:
        own = {"seed", "runs_dir", "progress", "host_devices"}
        for f in dataclasses.fields(TrainConfig):
            if f.name not in own and getattr(self, f.name) != f.default:
                raise ConfigError(
                    f"--{f.name}: expected it in --task_args (the task's training keys are "
                    f"used), got --{f.name}={getattr(self, f.name)} for the comparison itself"
                )


@dataclasses.dataclass(frozen=True)
class StateTrackingConfig(TrainConfig):
    """Parity and sum-mod-3 of a symbol stream, labelled at every step: every cell, same size.

    Attributes:
        tasks: parity of a bit stream, or the sum modulo 3 of a trit stream.
        models: the recurrent cells compared (default: every one --help lists).
        seeds: training runs per (task, model), seeded seed to seed+seeds-1.
        hidden: width of every model (the residual stream and each cell's state).
        layers: residual blocks of the cell and a per-step MLP.
        mlp_expansion: hidden units of the per-step MLP, times hidden.
        train_min_len: shortest training stream.
        train_max_len: longest training stream (lengths are uniform in between).
        test_lengths: lengths of the test streams (those above train_max_len test length
            generalisation).
        test_size: test streams per length.
    """

    PRESETS = {"quick": {"tasks": "parity", "models": "lstm,mingru", "seeds": "1",
                         "steps": "600", "test_lengths": "40,160", "test_size": "200",
                         "eval_every": "300", "ckpt_every": "600"}}  # fmt: skip

    tasks: tuple[StateTask, ...] = ("parity", "mod3")
    models: Models = MODELS
    seeds: Positive = 3
    hidden: Positive = 64
    layers: Positive = 2
    mlp_expansion: Positive = 2
    train_min_len: Length = 2
    train_max_len: Length = 40
    test_lengths: Annotated[tuple[Length, ...], Increasing()] = (40, 160, 640)
    test_size: Positive = 500
    steps: Positive = 1500
    batch_size: Positive = 64
    lr: PositiveFloat = 2e-3
    schedule: Schedule = "cosine"
    eval_every: Positive = 500
    log_every: Positive = 50
    ckpt_every: Positive = 500

    def check(self) -> None:
        if self.train_min_len > self.train_max_len:
            raise ConfigError(
                f"--train_min_len: expected at most train_max_len={self.train_max_len}, "
                f"got {self.train_min_len}"
            )


@dataclasses.dataclass(frozen=True)
class RecallConfig(TrainConfig):
    """Multi-query associative recall (MQAR) against the number of pairs, at two widths.

    The defaults fit the whole sweep (5 cells, 2 widths, 3 seeds) in about an hour on two CPU
    cores; Zoology's sizes (vocab 256, 4 to 64 pairs, widths 32 and 128) are flags away.

    Attributes:
        models: the recurrent cells compared (default: every one --help lists).
        seeds: training runs per (model, width), seeded seed to seed+seeds-1.
        hidden_sizes: widths compared (the residual stream and each cell's state).
        layers: residual blocks of the cell and a per-step MLP.
        mlp_expansion: hidden units of the per-step MLP, times hidden.
        conv: tokens each step reads: the current one and the conv-1 before it, a causal
            convolution of the embeddings (as before the recurrence of the Mamba, Griffin and
            xLSTM blocks); 2 lets a value's step see its key.
        vocab: tokens; keys are the first half, values the second (even, at least
            2 * train_max_pairs and 2 * the largest of test_pairs).
        train_min_pairs: fewest key-value pairs of a training example.
        train_max_pairs: most key-value pairs of a training example (log-uniform in between; every
            example is padded to 3 * train_max_pairs tokens).
        test_pairs: pairs of the test sets, one set per value.
        test_size: test examples per number of pairs.
    """

    PRESETS = {"quick": {"models": "lstm,mingru", "hidden_sizes": "64", "seeds": "1",
                         "train_max_pairs": "4", "test_pairs": "2,4", "steps": "2500",
                         "eval_every": "2500", "ckpt_every": "2500"}}  # fmt: skip

    models: Models = MODELS
    seeds: Positive = 3
    hidden_sizes: Annotated[tuple[Positive, ...], Increasing()] = (16, 64)
    layers: Positive = 2
    mlp_expansion: Positive = 2
    conv: Positive = 2
    vocab: Annotated[int, Range(4)] = 64
    train_min_pairs: Positive = 2
    train_max_pairs: Positive = 8
    test_pairs: Annotated[tuple[Positive, ...], Increasing()] = (2, 4, 8)
    test_size: Positive = 256
    steps: Positive = 5000
    batch_size: Positive = 32
    lr: PositiveFloat = 3e-3
    eval_every: Positive = 1000
    log_every: Positive = 100
    ckpt_every: Positive = 1000

    def check(self) -> None:
        if self.train_min_pairs > self.train_max_pairs:
            raise ConfigError(
                f"--train_min_pairs: expected at most train_max_pairs={self.train_max_pairs}, "
                f"got {self.train_min_pairs}"
            )
        most = max(self.train_max_pairs, self.test_pairs[-1])
        if self.vocab % 2 or self.vocab < 2 * most:
            raise ConfigError(
                f"--vocab: expected an even number of at least 2 * {most} tokens (the keys of "
                f"an example are distinct), got {self.vocab}"
            )
