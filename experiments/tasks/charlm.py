r"""Character language model (many-to-many, synchronised): Tiny Shakespeare, any cell, TBPTT.

At every step the model reads character ``c_{t-1}`` and predicts ``c_t``:

.. math::

    x_t = E[c_{t-1}], \quad h^{(l)}_t = \mathrm{Cell}^{(l)}(h^{(l-1)}_t, h^{(l)}_{t-1}), \quad
    p(c_t \mid c_{<t}) = \mathrm{softmax}(V h^{(L)}_t + b)

Training: each example is a window of ``chunks * chunk`` characters read by truncated
backpropagation through time: the state is carried from chunk to chunk, its gradient cut at
chunk boundaries (``jaxrnn.detach``). Validation: the last 10% of the text, read as
``val_streams`` long streams with the state carried through the whole stream; the metric
is the mean negative log-likelihood in nats per character. The run ends by sampling
``sample_chars`` characters at each temperature (``jaxrnn.sample_decode``) into
``samples.txt``.

Data: ``--data_dir``, else ``$JAXRNN_DATA/tinyshakespeare``, else the cache, else a download
from karpathy/char-rnn checked against its sha256 (see :mod:`experiments.data.locate`); if none of
these works (offline), the default is the text of Python's own documentation
(``pydoc_data.topics``), and the run says so.
"""

from __future__ import annotations

import dataclasses
import json
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments.configs import CharLMConfig
from experiments.core.errors import ConfigError
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.data.chars import CharVocab, load_text, ngram_baselines
from experiments.models.deep_min import (
    BLOCK_MODELS,
    MIN_MODELS,
    deep_scan,
    deep_step,
    init_deep,
    zero_states,
)
from experiments.models.losses import token_nll
from experiments.models.params_io import save_params
from experiments.models.registry import cell_name

VAL_FRACTION = 0.1


def init_params(key: jax.Array, cfg: CharLMConfig, n_vocab: int) -> dict:
    """A stack of any registered cell: ``{"E" (n_vocab, embed), "cells", "V", "b"}``, each
    layer the cell's own init (``cells`` holds every layer's parameters); minGRU/minLSTM (the
    deep recipe, :mod:`experiments.models.deep_min`): ``{"E" (n_vocab, hidden), "blocks", "V",
    "b"}``, the embedding being the residual stream's first value (unit scale)."""
    keys = jax.random.split(key, cfg.layers + 2)
    head = {
        "V": jax.nn.initializers.glorot_uniform()(keys[1], (n_vocab, cfg.hidden), jnp.float32),
        "b": jnp.zeros((n_vocab,), jnp.float32),
    }
    if cfg.model in MIN_MODELS + BLOCK_MODELS:
        E = jax.random.normal(keys[0], (n_vocab, cfg.hidden), jnp.float32)
        blocks = init_deep(keys[2], cfg.model, cfg.hidden, cfg.layers, cfg.mlp_expansion)
        return {"E": E, "blocks": blocks, **head}
    cell = jaxrnn.get_cell(cell_name(cfg.model), "--model")
    d_ins = [cfg.embed] + [cfg.hidden] * (cfg.layers - 1)
    return {
        "E": jax.random.normal(keys[0], (n_vocab, cfg.embed), jnp.float32) / np.sqrt(cfg.embed),
        "cells": tuple(cell.init(k, d, cfg.hidden) for k, d in zip(keys[2:], d_ins)),
        **head,
    }


def initial_state(params: dict, batch: int) -> tuple:
    """Every layer's initial carry (zeros; ``LSTMState(h, C)`` for the LSTM)."""
    if "blocks" in params:
        return zero_states(params["blocks"], batch)
    out = []
    for layer in params["cells"]:
        cell = jaxrnn.cell_for(layer)
        out.append(cell.initial_carry(cell.dims(layer), (batch,), jnp.float32))
    return tuple(out)


def forward(params: dict, states: tuple, ids: jax.Array):
    """``(states_T, logits (B, T, n_vocab))`` reading ``ids (B, T)`` from ``states``."""
    x = params["E"][ids]
    if "blocks" in params:
        new, x = deep_scan(params["blocks"], x, states)
        return new, x @ params["V"].T + params["b"]
    new = []
    for layer, state in zip(params["cells"], states):
        method = "parallel" if jaxrnn.cell_for(layer).coefficients is not None else "sequential"
        state_T, x = jaxrnn.cell_scan(layer, x, state, method=method)
        new.append(state_T)
    return tuple(new), x @ params["V"].T + params["b"]


def tbptt_loss(params: dict, batch, chunk: int) -> jax.Array:
    """Mean NLL of ``targets`` over windows read chunk by chunk, state carried, gradient cut.

    ``batch = (inputs, targets)``, both ``(B, n * chunk)``.
    """
    inputs, targets = batch
    B, T = inputs.shape
    n = T // chunk
    split = lambda a: a.reshape(B, n, chunk).swapaxes(0, 1)  # noqa: E731  (n, B, chunk)

    def body(states, xy):
        states, logits = forward(params, jaxrnn.detach(states), xy[0])
        return states, token_nll(logits, xy[1])

    _, losses = jax.lax.scan(body, initial_state(params, B), (split(inputs), split(targets)))
    return jnp.mean(losses)


def val_streams(val_ids: np.ndarray, streams: int, limit: int = 0) -> tuple[np.ndarray, ...]:
    """``(inputs, targets)`` of shape ``(streams, L)``: the validation text cut in streams."""
    ids = val_ids[: limit + 1] if limit else val_ids
    L = (len(ids) - 1) // streams
    if L < 1:
        raise ConfigError(
            f"--val_streams: expected at most {len(ids) - 1} streams for the {len(ids)} validation "
            f"characters, got {streams}"
        )
    x = ids[: streams * L].reshape(streams, L)
    y = ids[1 : streams * L + 1].reshape(streams, L)
    return x, y


def step_fn(params: dict) -> jaxrnn.StepFn:
    """``(states, c_prev (B,)) -> (states, logits)`` for the library decoders."""

    def step(states, c_prev):
        x = params["E"][c_prev]
        if "blocks" in params:
            new, x = deep_step(params["blocks"], states, x)
            return new, x @ params["V"].T + params["b"]
        new = []
        for layer, state in zip(params["cells"], states):
            state, x = jaxrnn.cell_for(layer).step(layer, state, x)
            new.append(state)
        return tuple(new), x @ params["V"].T + params["b"]

    return step


def sample(params: dict, vocab: CharVocab, prompt: str, n: int, temperature: float, key) -> str:
    """``n`` characters sampled after ``prompt`` (the state reads the prompt first)."""
    ids = jnp.asarray(vocab.encode(prompt))[None]
    states, _ = forward(params, initial_state(params, 1), ids[:, :-1])
    out = jaxrnn.sample_decode(
        step_fn(params), states, ids[:, -1], key,
        max_len=n, end_token=None, temperature=temperature,
    )  # fmt: skip
    return vocab.decode(np.asarray(out.tokens[0]))


class CharData(NamedTuple):
    """The text split for training: ``source`` says where it came from."""

    source: str
    vocab: CharVocab
    train_ids: np.ndarray
    val_ids: np.ndarray


def load_data(cfg: CharLMConfig) -> CharData:
    """The text of ``cfg.data_dir``, encoded and split, after checking the window and prompt."""
    text, source = load_text(cfg.data_dir)
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    n_train = int(len(ids) * (1 - VAL_FRACTION))
    window = cfg.chunk * cfg.chunks
    if n_train <= window + 1:
        raise ConfigError(
            f"--chunk, --chunks: expected a window chunk*chunks under the {n_train} training "
            f"characters, got {cfg.chunk}*{cfg.chunks} = {window}"
        )
    unknown = sorted(set(cfg.prompt) - set(vocab.chars))
    if unknown:
        raise ConfigError(f"--prompt: expected characters of the text, got {''.join(unknown)!r}")
    return CharData(source, vocab, ids[:n_train], ids[n_train:])


def make_problem(cfg: CharLMConfig, data: CharData) -> Problem:
    """Random training windows (a pure function of ``(seed, step)``) and validation nats/char."""
    val_x, val_y = val_streams(data.val_ids, cfg.val_streams, cfg.val_chars)
    window, n_train = cfg.chunk * cfg.chunks, len(data.train_ids)

    @jax.jit
    def evaluate(params):
        _, logits = forward(params, initial_state(params, val_x.shape[0]), val_x)
        return {"val_nats": token_nll(logits, val_y)}

    def batch(step: int):
        starts = np.random.default_rng([cfg.seed, step]).integers(
            0, n_train - window - 1, cfg.batch_size
        )
        idx = starts[:, None] + np.arange(window)
        return data.train_ids[idx], data.train_ids[idx + 1]

    return Problem(
        init=lambda key: init_params(key, cfg, len(data.vocab)),
        loss=lambda params, b: tbptt_loss(params, b, cfg.chunk),
        batch=batch,
        evaluate=evaluate,
        n_train=n_train - window - 1,
    )


LOSS_KEY = "val_nats"
"""The held-out loss :mod:`experiments.tasks.wallclock` compares."""


def problems(cfg: CharLMConfig, models: tuple[str, ...]) -> dict[str, Problem]:
    """One :class:`Problem` per model (``cfg.model`` replaced), the data read once."""
    data = load_data(cfg)
    return {m: make_problem(dataclasses.replace(cfg, model=m), data) for m in models}


def main(cfg: CharLMConfig, resume: str | None = None) -> dict:
    data = load_data(cfg)
    source, vocab, train_ids, val_ids = data
    n_train, n_chars, window = len(train_ids), len(train_ids) + len(val_ids), cfg.chunk * cfg.chunks
    run = Run.create("charlm", cfg, resume)
    print(f"[charlm] data: {source}; {n_chars:,} characters", flush=True)
    (run.path / "vocab.json").write_text(json.dumps({"chars": vocab.chars}) + "\n")
    baselines = ngram_baselines(train_ids, val_ids, len(vocab))
    run.write_json("data.json", {"source": source, "chars": n_chars, "vocab": len(vocab),
                                 "train_chars": n_train, **baselines})  # fmt: skip
    print(f"[charlm] vocab {len(vocab)}; {n_train:,} train / {len(val_ids):,} val characters; "
          f"unigram {baselines['unigram_val_nats']:.3f}, bigram "
          f"{baselines['bigram_val_nats']:.3f} nats/char", flush=True)  # fmt: skip
    out = train(cfg, make_problem(cfg, data), run)
    save_params(run.path / "params.npz", out.params)
    samples = []
    for i, tau in enumerate(cfg.temperatures):
        s = sample(out.params, vocab, cfg.prompt, cfg.sample_chars, tau, jax.random.key(i))
        samples.append(f"--- temperature {tau} ({cfg.sample_chars} characters) ---\n{s}\n")
    (run.path / "samples.txt").write_text(f"data: {source}\n\n" + "\n".join(samples))
    print("\n".join(samples))
    results = {
        "val_nats": round(float(out.metrics["val_nats"]), 4),
        **{k: round(v, 4) for k, v in baselines.items()},
        "steps": out.metrics["steps"],
        "train_chars_seen": out.metrics["steps"] * cfg.batch_size * window,
        "wall_s": round(out.metrics.get("wall_s", 0.0), 1),
        "data": "tinyshakespeare" if "pydoc" not in source else "pydoc_data.topics",
    }
    run.write_json("results.json", results)
    print(f"run directory: {run.path}")
    return results
