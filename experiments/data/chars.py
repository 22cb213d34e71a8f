"""Characters: Tiny Shakespeare (or, offline, Python's own documentation), a character
vocabulary, and the n-gram baselines a character model is measured against."""

from __future__ import annotations

import numpy as np

from experiments.core.errors import DataNotFoundError
from experiments.data.dataset import Dataset
from experiments.data.files import read_text
from experiments.data.locate import locate

TINY_SHAKESPEARE = Dataset(
    name="tinyshakespeare",
    files={"input.txt": "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"},
    file_urls={
        "input.txt": "https://raw.githubusercontent.com/karpathy/char-rnn/"
        "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt"
    },
)
def load_text(data_dir: str = "") -> tuple[str, str]:
    """``(text, source)``: Tiny Shakespeare, or the offline default ``pydoc_data.topics``.

    An explicit ``--data_dir`` lacking ``input.txt`` is an error, not a fallback.
    """
    try:
        located = locate(TINY_SHAKESPEARE, data_dir or None)
    except DataNotFoundError:
        if data_dir:
            raise
        import pydoc_data.topics

        topics = pydoc_data.topics.topics
        text = "\n\n".join(topics[k] for k in sorted(topics))
        return text, "pydoc_data.topics (Tiny Shakespeare not found; offline default)"
    note = "sha256 ok" if located.verified else "sha256 differs from the published file"
    text = read_text(located.path / "input.txt")
    return text, f"{located.path / 'input.txt'} ({located.source}, {note})"


class CharVocab:
    """Characters in sorted order; ``encode``/``decode`` between text and int32 ids.

    Example:
        >>> v = CharVocab("hello")
        >>> v.chars, v.encode("hole").tolist(), v.decode([3, 1])
        ('ehlo', [1, 3, 2, 0], 'oh')
    """

    def __init__(self, text: str) -> None:
        self.chars = "".join(sorted(set(text)))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        missing = sorted(set(text) - set(self.index))
        if missing:
            raise ValueError(f"charlm: expected characters of the vocabulary, got {missing[:10]}")
        return np.array([self.index[c] for c in text], np.int32)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def ngram_baselines(train_ids: np.ndarray, val_ids: np.ndarray, n_vocab: int) -> dict:
    """Validation nats/char of add-one-smoothed unigram and bigram models fit on train."""
    uni = np.bincount(train_ids, minlength=n_vocab) + 1.0
    uni_nll = -np.mean(np.log(uni / uni.sum())[val_ids])
    big = np.ones((n_vocab, n_vocab))
    np.add.at(big, (train_ids[:-1], train_ids[1:]), 1.0)
    big /= big.sum(axis=1, keepdims=True)
    big_nll = -np.mean(np.log(big[val_ids[:-1], val_ids[1:]]))
    return {"unigram_val_nats": float(uni_nll), "bigram_val_nats": float(big_nll)}
