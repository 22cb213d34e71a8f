r"""Captioning (one-to-many): images of 1-3 digit numbers -> the number in English words.

Images are scikit-learn's 8x8 digits placed side by side, left-aligned in an 8x24 canvas
(``42`` is two digit samples and an empty slot). The caption is the number in words,
``"three hundred forty-two"``; the vocabulary is the 29 words plus ``<pad> <unk> <s> </s>``
(``forty-two`` is the two tokens ``forty two``, re-joined with a hyphen for display).

The 1,797 digit samples are split once, stratified by digit (``--test_fraction``): test
images are composed only of samples never seen in training. The model:

.. math::

    z = \mathrm{relu}(W_2\, \mathrm{relu}(W_1 x + b_1) + b_2), \quad
    h_0 = \tanh(W_h z + b_h), \quad C_0 = W_C z + b_C

then the LSTM decoder of :mod:`experiments.models.decoder` generates the words, trained with
teacher forcing and decoded greedily (``jaxrnn.greedy_decode``; ``--beam_size > 1`` uses
``jaxrnn.beam_search``). The metric is exact-match accuracy of the whole caption.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from experiments.configs import CaptioningConfig
from experiments.core.run import Run
from experiments.core.step import Problem
from experiments.core.train import train
from experiments.data.text import Vocab, pad_targets
from experiments.models.decoder import decoder_logits, init_decoder, step_fn
from experiments.models.losses import length_mask, token_nll
from experiments.models.params_io import save_params

ONES = "zero one two three four five six seven eight nine".split()
TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
WORDS = [*ONES, *TEENS, *TENS[2:], "hundred"]
MAX_DIGITS = 3
MAX_WORDS = 4  # "seven hundred seventy seven"
TEST_STREAM = 1


def number_words(n: int) -> list[str]:
    """The English words of ``0 <= n <= 999`` (``forty-two`` as two tokens).

    Example:
        >>> " ".join(number_words(342)), " ".join(number_words(17)), " ".join(number_words(900))
        ('three hundred forty two', 'seventeen', 'nine hundred')
    """
    if not 0 <= n <= 999:
        raise ValueError(f"number_words: expected 0 <= n <= 999, got {n}")
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        words.append(TENS[rest // 10])
        if rest % 10:
            words.append(ONES[rest % 10])
    elif rest >= 10:
        words.append(TEENS[rest - 10])
    elif rest or not hundreds:
        words.append(ONES[rest])
    return words


def caption_text(words: list[str]) -> str:
    """Join tokens for display, hyphenating tens and units: ``forty two`` -> ``forty-two``.

    Example:
        >>> caption_text(["three", "hundred", "forty", "two"])
        'three hundred forty-two'
    """
    out: list[str] = []
    for w in words:
        if out and out[-1] in TENS[2:] and w in ONES[1:]:
            out[-1] += "-" + w
        else:
            out.append(w)
    return " ".join(out)


def load_pools(test_fraction: float, split_seed: int):
    """Per-digit sample pools ``(train, test)``: ``pool[d]`` is an ``(n_d, 8, 8)`` array."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    idx_tr, idx_te = train_test_split(
        np.arange(len(x)), test_size=test_fraction, random_state=split_seed, stratify=data.target
    )
    pool = lambda idx: [x[idx[data.target[idx] == d]] for d in range(10)]  # noqa: E731
    return pool(idx_tr), pool(idx_te)


def compose(rng: np.random.Generator, pools, batch: int):
    """``(images (B, 8, 24), numbers (B,))``: a digit count uniform in 1..3, then a number
    with that many digits (no leading zero), drawn from ``pools`` digit by digit."""
    n_digits = rng.integers(1, MAX_DIGITS + 1, size=batch)
    low = np.where(n_digits == 1, 0, 10 ** (n_digits - 1))
    numbers = rng.integers(low, 10**n_digits)
    images = np.zeros((batch, 8, 8 * MAX_DIGITS), np.float32)
    for b in range(batch):
        for slot, ch in enumerate(str(numbers[b])):
            d = int(ch)
            images[b, :, 8 * slot : 8 * slot + 8] = pools[d][rng.integers(len(pools[d]))]
    return images, numbers


def make_batch(rng, pools, batch: int, vocab: Vocab):
    images, numbers = compose(rng, pools, batch)
    caps = [vocab.encode(number_words(int(n))) for n in numbers]
    ys_in, ys_out, lengths = pad_targets(caps, MAX_WORDS + 1)
    return images.reshape(batch, -1), ys_in, ys_out, lengths, numbers


def init_params(key: jax.Array, cfg: CaptioningConfig, n_vocab: int) -> dict:
    k1, k2, kh, kc, kd = jax.random.split(key, 5)
    dense = jax.nn.initializers.he_uniform()
    d_x, d_z, d_h = 64 * MAX_DIGITS, cfg.encoder, cfg.hidden
    zeros = lambda n: jnp.zeros((n,), jnp.float32)  # noqa: E731
    return {
        "enc": {
            "W1": dense(k1, (d_z, d_x), jnp.float32), "b1": zeros(d_z),
            "W2": dense(k2, (d_z, d_z), jnp.float32), "b2": zeros(d_z),
            "W_h": dense(kh, (d_h, d_z), jnp.float32) / 2, "b_h": zeros(d_h),
            "W_C": dense(kc, (d_h, d_z), jnp.float32) / 2, "b_C": zeros(d_h),
        },
        "dec": init_decoder(kd, n_vocab, cfg.embed, d_h),
    }  # fmt: skip


def encode_images(enc: dict, x: jax.Array) -> jaxrnn.LSTMState:
    """The decoder's initial state ``(h_0, C_0)`` from flattened images ``x (B, 192)``."""
    z = jax.nn.relu(x @ enc["W1"].T + enc["b1"])
    z = jax.nn.relu(z @ enc["W2"].T + enc["b2"])
    return jaxrnn.LSTMState(
        h=jnp.tanh(z @ enc["W_h"].T + enc["b_h"]), C=z @ enc["W_C"].T + enc["b_C"]
    )


def loss_fn(params: dict, batch) -> jax.Array:
    x, ys_in, ys_out, lengths = batch
    logits = decoder_logits(params["dec"], encode_images(params["enc"], x), ys_in, lengths)
    return token_nll(logits, ys_out, length_mask(lengths, ys_in.shape[1]))


def generate(params: dict, x: jax.Array, beam_size: int = 1) -> jax.Array:
    """Caption token ids ``(B, MAX_WORDS + 1)`` (ending in ``</s>``, then ``<pad>``)."""
    state0 = encode_images(params["enc"], x)
    step = step_fn(params["dec"])
    kw = dict(max_len=MAX_WORDS + 1, end_token=Vocab.eos, pad_id=Vocab.pad)
    if beam_size > 1:
        return jaxrnn.beam_search(step, state0, Vocab.bos, beam_size=beam_size, **kw).tokens
    return jaxrnn.greedy_decode(step, state0, Vocab.bos, **kw).tokens


def exact_match(tokens: np.ndarray, numbers: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Per image: the generated words equal the number's words exactly (``</s>`` included)."""
    out = []
    for ids, n in zip(np.asarray(tokens), numbers):
        want = vocab.encode(number_words(int(n))) + [vocab.eos]
        out.append(list(ids[: len(want)]) == want)
    return np.array(out)


def plot_grid(path, images, tokens, numbers, vocab: Vocab, n: int, title: str) -> None:
    """PNG grid of the first ``n`` test images with their captions; wrong ones in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(n, len(images))
    cols = 5
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.6, rows * 1.25), squeeze=False)
    ok = exact_match(tokens[:n], numbers[:n], vocab)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=1)
        text = caption_text(vocab.decode(tokens[i]))
        mark = "" if ok[i] else "\u2717 "
        ax.set_title(mark + text, fontsize=7, color="black" if ok[i] else "red")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(cfg: CaptioningConfig, resume: str | None = None) -> dict:
    run = Run.create("captioning", cfg, resume)
    vocab = Vocab(WORDS)
    vocab.save(run.path / "vocab.json")
    train_pool, test_pool = load_pools(cfg.test_fraction, cfg.split_seed)
    n_tr, n_te = sum(map(len, train_pool)), sum(map(len, test_pool))
    print(f"[captioning] {n_tr} train / {n_te} test digit samples (disjoint); vocab {len(vocab)}")
    test = make_batch(
        np.random.default_rng([cfg.seed, TEST_STREAM]), test_pool, cfg.test_size, vocab
    )
    x_te, numbers_te = jnp.asarray(test[0]), test[4]
    gen = jax.jit(generate, static_argnames="beam_size")

    def evaluate(params):
        tokens = np.asarray(gen(params, x_te, cfg.beam_size))
        return {"test_exact_match": float(exact_match(tokens, numbers_te, vocab).mean())}

    def batch(step: int):
        b = make_batch(
            np.random.default_rng([cfg.seed, 0, step]), train_pool, cfg.batch_size, vocab
        )
        return b[:4]

    problem = Problem(lambda key: init_params(key, cfg, len(vocab)), loss_fn, batch, evaluate)
    out = train(cfg, problem, run)
    save_params(run.path / "params.npz", out.params)
    tokens = np.asarray(gen(out.params, x_te, cfg.beam_size))
    ok = exact_match(tokens, numbers_te, vocab)
    acc = float(ok.mean())
    title = f"captioning: test exact match {acc:.3f} (wrong captions in red, marked \u2717)"
    images_te = test[0].reshape(-1, 8, 8 * MAX_DIGITS)
    plot_grid(run.path / "test_captions.png", images_te, tokens, numbers_te, vocab, cfg.grid, title)
    by_digits = {
        f"exact_match_{k}_digit": round(
            float(ok[np.char.str_len(numbers_te.astype(str)) == k].mean()), 4
        )
        for k in range(1, MAX_DIGITS + 1)
    }
    examples = [
        {"number": int(n), "caption": caption_text(vocab.decode(t)), "correct": bool(c)}
        for n, t, c in list(zip(numbers_te, tokens, ok))[:20]
    ]
    run.write_json("examples.json", examples)
    results = {
        "test_exact_match": round(acc, 4),
        **by_digits,
        "test_images": int(len(ok)),
        "steps": out.metrics["steps"],
        "wall_s": round(out.metrics.get("wall_s", 0.0), 1),
    }
    run.write_json("results.json", results)
    print(f"run directory: {run.path}")
    return results
