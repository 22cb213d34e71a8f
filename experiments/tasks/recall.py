r"""Multi-query associative recall (MQAR; Arora et al. 2023, Zoology): how many key-value
pairs a recurrence's state holds.

Keys and values are disjoint halves of a vocabulary of ``vocab`` tokens: keys
:math:`\{0, \dots, V/2 - 1\}`, values :math:`\{V/2, \dots, V - 1\}`. An example of :math:`n`
pairs reads :math:`n` distinct keys, each followed by its value (values may repeat), then
the same keys again in a random order, the queries; after each query the model must name
its value:

.. math::

    k_1\, v_1\, k_2\, v_2 \dots k_n\, v_n \;\; k_{\pi(1)} \dots k_{\pi(n)}
    \quad\longrightarrow\quad \hat y_{2n+j} = v_{\pi(j)}

so the state must hold all :math:`n` pairs by the first query. The claim under test (Arora
et al. 2023; Beck et al. 2024, the xLSTM paper): a matrix memory (mLSTM) recalls many more
pairs than a vector state of the same width (LSTM, GRU, minGRU). Accuracy is over the query
positions; guessing a value seen in the example is right :math:`1/n` of the time.

Training examples have :math:`n` log-uniform in ``[train_min_pairs, train_max_pairs]``, padded to
``3 train_max_pairs`` tokens (the loss reads the query positions only); the test sets have
exactly each :math:`n` of ``test_pairs``, drawn from their own random stream. Every cell gets
the same model at each width of ``hidden_sizes``: an embedding of the tokens into the
residual stream, ``layers`` residual blocks of the cell and a per-step MLP
(:mod:`experiments.models.deep_min`), and a per-step linear classifier over the values.
Runs are ``<model>_h<width>_seed<k>/``; the run directory gets ``results.json`` (mean, min
and max over seeds, and every run), ``results.md`` and ``accuracy_vs_pairs.png`` (every
cell on one figure, one panel per width).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.configs import RecallConfig
from experiments.core.plots import plot_mean_spread
from experiments.core.run import Run, format_table
from experiments.core.step import Problem
from experiments.core.sweep import mean_spread, train_seeds
from experiments.models.losses import token_nll
from experiments.models.sequence import apply, init_model

TRAIN_STREAM, TEST_STREAM = 0, 1  # rng stream ids: training batches never share a test draw


def make_batch(
    seed: int, stream: int, index: int, batch: int, vocab: int, min_pairs: int, max_pairs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, targets, mask)``, each ``(batch, 3 max_pairs)``, pure in ``(seed, stream,
    index)``.

    Example ``b`` has ``n_b`` pairs, log-uniform in ``[min_pairs, max_pairs]`` (as many
    examples of 4-8 pairs as of 32-64, so that the short ones, where learning starts, are
    not rare): ``tokens`` holds
    ``k_1 v_1 .. k_n v_n`` and then the queries ``k_{pi(1)} .. k_{pi(n)}``, then the padding
    token ``vocab``; ``targets`` is the queried value's class (``v - vocab/2``) at each query
    position and 0 elsewhere; ``mask`` is true at the query positions only.

    Example:
        >>> tokens, targets, mask = make_batch(0, 0, 0, 1, 16, 2, 2)
        >>> keys, values, queries = tokens[0, 0:4:2], tokens[0, 1:4:2], tokens[0, 4:]
        >>> bool(set(queries) == set(keys)), bool((values >= 8).all()), mask[0].tolist()
        (True, True, [False, False, False, False, True, True])
    """
    rng = np.random.default_rng([seed, stream, index])
    half, L = vocab // 2, 3 * max_pairs
    n = np.floor(2.0 ** rng.uniform(np.log2(min_pairs), np.log2(max_pairs + 1), size=batch))
    n = np.clip(n.astype(np.int64), min_pairs, max_pairs)
    tokens = np.full((batch, L), vocab, np.int32)
    targets = np.zeros((batch, L), np.int32)
    mask = np.zeros((batch, L), bool)
    for b in range(batch):
        keys = rng.choice(half, size=n[b], replace=False)
        values = rng.integers(0, half, size=n[b])
        order = rng.permutation(n[b])
        tokens[b, 0 : 2 * n[b] : 2] = keys
        tokens[b, 1 : 2 * n[b] : 2] = half + values
        tokens[b, 2 * n[b] : 3 * n[b]] = keys[order]
        targets[b, 2 * n[b] : 3 * n[b]] = values[order]
        mask[b, 2 * n[b] : 3 * n[b]] = True
    return tokens, targets, mask


def held_out(cfg: RecallConfig, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cfg.test_size`` examples of exactly ``n`` pairs (``3 n`` tokens), the same for every
    model, width and seed (drawn from ``cfg.seed`` and the test stream)."""
    return make_batch(cfg.seed, TEST_STREAM, n, cfg.test_size, cfg.vocab, n, n)


def init_params(key: jax.Array, model: str, vocab: int, hidden: int, layers: int,
                mlp_expansion: int, conv: int) -> dict[str, Any]:  # fmt: skip
    """``{"E": (conv, vocab + 1, hidden) token embeddings, one per offset (the last row pads),
    "net": the deep model of the cell with vocab/2 outputs}``."""
    k_E, k_net = jax.random.split(key)
    return {
        "E": jax.random.normal(k_E, (conv, vocab + 1, hidden), jnp.float32) / np.sqrt(conv),
        "net": init_model(k_net, model, hidden, hidden, vocab // 2, blocks=layers,
                          mlp_expansion=mlp_expansion),
    }  # fmt: skip


def embed(E: jax.Array, tokens: jax.Array) -> jax.Array:
    """``x_t = sum_j E[j, tokens_{t-j}]`` (``(B, T, hidden)``): a causal convolution of width
    ``E.shape[0]`` over the one-hot tokens; before the first token it reads the padding row.

    Example:
        >>> E = jnp.arange(2 * 3 * 1.0).reshape(2, 3, 1)  # width 2, vocab 2 (+ padding)
        >>> embed(E, jnp.array([[0, 1]]))[0, :, 0].tolist()  # [E0[0] + E1[pad], E0[1] + E1[0]]
        [5.0, 4.0]
    """
    pad = E.shape[1] - 1
    x = E[0][tokens]
    for j in range(1, E.shape[0]):
        shifted = jnp.pad(tokens, ((0, 0), (j, 0)), constant_values=pad)[:, : tokens.shape[1]]
        x = x + E[j][shifted]
    return x


def logits(params: dict[str, Any], tokens: jax.Array) -> jax.Array:
    """``(B, T, vocab/2)`` logits of the value classes at every step."""
    return apply(params["net"], embed(params["E"], tokens))


def loss(params: dict[str, Any], batch) -> jax.Array:
    tokens, targets, mask = batch
    return token_nll(logits(params, tokens), targets, mask)


@jax.jit
def accuracy(params: dict[str, Any], tokens: jax.Array, targets: jax.Array, mask: jax.Array):
    """The share of query positions whose value is named (argmax) correctly."""
    hit = (jnp.argmax(logits(params, tokens), axis=-1) == targets) & mask
    return jnp.sum(hit) / jnp.sum(mask)


def problem(cfg: RecallConfig, model: str, hidden: int, seed: int | None = None) -> Problem:
    """MQAR for one cell and width: training batches from ``seed`` (default ``cfg.seed``),
    the test sets from ``cfg.seed``."""
    seed = cfg.seed if seed is None else seed
    tests = {n: held_out(cfg, n) for n in cfg.test_pairs}

    def evaluate(params) -> dict[str, float]:
        return {f"acc_n{n}": float(accuracy(params, *t)) for n, t in tests.items()}

    return Problem(
        init=lambda key: init_params(
            key, model, cfg.vocab, hidden, cfg.layers, cfg.mlp_expansion, cfg.conv
        ),
        loss=loss,
        batch=lambda step: make_batch(
            seed,
            TRAIN_STREAM,
            step,
            cfg.batch_size,
            cfg.vocab,
            cfg.train_min_pairs,
            cfg.train_max_pairs,
        ),  # fmt: skip
        evaluate=evaluate,
    )


def main(cfg: RecallConfig, resume: str | None = None) -> dict:
    run = Run.create("recall", cfg, resume)
    keys = [f"acc_n{n}" for n in cfg.test_pairs]
    rows, runs = [], []
    for hidden in cfg.hidden_sizes:
        for model in cfg.models:
            row, per_seed = train_seeds(
                cfg, run, f"{model}_h{hidden}", functools.partial(problem, cfg, model, hidden),
                keys, {"model": model, "hidden": hidden},
            )  # fmt: skip
            rows.append(row)
            runs.extend(per_seed)
    run.write_json("results.json", {"summary": rows, "runs": runs})
    table = format_table([
        {"model": r["model"], "hidden": r["hidden"],
         **{f"n={n}": mean_spread(r, f"acc_n{n}") for n in cfg.test_pairs}}
        for r in rows
    ])  # fmt: skip
    (run.path / "results.md").write_text(
        f"# recall: accuracy at the query positions against the number of pairs n, mean "
        f"(min-max) over {cfg.seeds} seeds; trained on n = {cfg.train_min_pairs}-"
        f"{cfg.train_max_pairs}, vocabulary {cfg.vocab}\n\n{table}\n"
    )
    panels = {
        f"width {h}": {r["model"]: (list(cfg.test_pairs),
                                    [[p[k] for k in keys] for p in runs
                                     if p["hidden"] == h and p["model"] == r["model"]])
                       for r in rows if r["hidden"] == h}
        for h in cfg.hidden_sizes
    }  # fmt: skip
    plot_mean_spread(
        run.path / "accuracy_vs_pairs.png", panels, logx=True, xlabel="key-value pairs n",
        ylabel="accuracy at the query positions",
        reference={p: (cfg.test_pairs, [1 / n for n in cfg.test_pairs]) for p in panels},
        reference_label="1/n (a value of the example at random)",
    )  # fmt: skip
    print(table)
    print(f"run directory: {run.path}")
    return {f"{r['model']} h={r['hidden']}": {f"n={n}": r[f"acc_n{n}"] for n in cfg.test_pairs}
            for r in rows}  # fmt: skip
