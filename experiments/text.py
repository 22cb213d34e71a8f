"""Tokenizer, vocabulary and labelled-sentence files for text classification.

The tokenizer reproduces SST-2's own preprocessing (lowercased, punctuation and clitics
split off: ``"Isn't it great!"`` -> ``is n't it great !``), so raw user text and the
already-tokenized corpus meet the same vocabulary. :class:`Vocab` is saved with a run as
``vocab.json`` (tokens plus the tokenizer's name), and a reloaded model tokenizes exactly as
in training.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from experiments.data import read_text

PAD, UNK = "<pad>", "<unk>"
TOKENIZER = "sst-v1"

_CLITIC = re.compile(r"(n't|'s|'re|'ve|'ll|'d|'m)\b")
_PUNCT = re.compile(r"(\.\.\.|[.,;:](?=\s|$)|[!?()\"]|--|`+|'+(?=\s|$))")


def tokenize(text: str) -> list[str]:
    """Lowercase and split off punctuation and English clitics, as in SST-2.

    Example:
        >>> tokenize("Isn't it a GREAT film, really?!")
        ['is', "n't", 'it', 'a', 'great', 'film', ',', 'really', '?', '!']
        >>> tokenize("is n't it a great film , really ?")  # SST-2 text is left unchanged
        ['is', "n't", 'it', 'a', 'great', 'film', ',', 'really', '?']
    """
    text = _CLITIC.sub(r" \1", text.lower())
    return _PUNCT.sub(r" \1 ", text).split()


class Vocab:
    """Token <-> id map with ``<pad>`` = 0 and ``<unk>`` = 1.

    Args:
        tokens: the tokens in id order (starting with ``<pad>``, ``<unk>``).
        tokenizer: name of the tokenizer the ids belong to.
    """

    def __init__(self, tokens: Sequence[str], tokenizer: str = TOKENIZER) -> None:
        if list(tokens[:2]) != [PAD, UNK]:
            raise ValueError(f"vocab: expected tokens to start with {PAD}, {UNK}; got {tokens[:2]}")
        if tokenizer != TOKENIZER:
            raise ValueError(f"vocab: expected tokenizer {TOKENIZER!r}, got {tokenizer!r}")
        self.tokens = list(tokens)
        self.tokenizer = tokenizer
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, sentences: Iterable[str], min_count: int = 1) -> Vocab:
        """Tokens seen at least ``min_count`` times, most frequent first (ties by text)."""
        counts = Counter(tok for s in sentences for tok in tokenize(s))
        kept = [t for t, c in counts.items() if c >= min_count]
        kept.sort(key=lambda t: (-counts[t], t))
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (unknown tokens -> 1)."""
        return [self.index.get(t, 1) for t in tokenize(text)]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"tokenizer": self.tokenizer, "tokens": self.tokens}) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        data = json.loads(Path(path).read_text())
        return cls(data["tokens"], data["tokenizer"])


class Example(NamedTuple):
    """One line of a sentence file: ``label`` is None for an unlabelled line."""

    line: int
    sentence: str
    label: int | None


class FileFormatError(ValueError):
    """Malformed lines in a sentence file; ``.problems`` holds ``(line, message)`` pairs."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        shown = "\n".join(f"  {path}:{n}: {msg}" for n, msg in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"{path}: {len(problems)} malformed line(s); expected 'sentence<TAB>0|1' "
            f"(or one plain sentence per line):\n{shown}{more}"
        )
        self.problems = problems


def read_sentences(path: str | Path, labels: tuple[str, ...] = ("0", "1")) -> list[Example]:
    """Read ``sentence<TAB>label`` lines (GLUE TSV, optional ``sentence<TAB>label`` header) or
    plain one-sentence-per-line text.

    A file is labelled when its first line has a tab; then every line must. Malformed lines
    (empty sentence, bad label, missing or extra tab) are all collected and raised together.

    Raises:
        FileNotFoundError: no such file.
        experiments.data.DataFileError: empty, cut-short gzip or non-UTF-8 file (line given).
        FileFormatError: malformed lines, with their 1-based line numbers.
    """
    lines = read_text(path).splitlines()
    start = 1 if lines and lines[0].strip().lower().replace(" ", "") == "sentence\tlabel" else 0
    labelled = start == 1 or (bool(lines) and "\t" in lines[0])
    examples, problems = [], []
    for n, line in enumerate(lines[start:], start=start + 1):
        if labelled:
            parts = line.rsplit("\t", 1)
            if len(parts) != 2:
                problems.append((n, f"missing <TAB>label, got {line[:60]!r}"))
                continue
            sentence, label = parts[0].strip(), parts[1].strip()
            if label not in labels:
                problems.append((n, f"label must be one of {', '.join(labels)}, got {label!r}"))
                continue
            if "\t" in sentence:
                problems.append((n, f"expected one <TAB>, got {line.count(chr(9))}"))
                continue
        else:
            sentence, label = line.strip(), None
            if "\t" in line:
                problems.append((n, "a <TAB> in an unlabelled file (line 1 has none)"))
                continue
        if not tokenize(sentence):
            problems.append((n, "empty sentence"))
            continue
        examples.append(Example(n, sentence, None if label is None else labels.index(label)))
    if problems:
        raise FileFormatError(str(path), problems)
    if not examples:
        raise FileFormatError(str(path), [(1, "no sentences in the file")])
    return examples


def pad_batch(seqs: Sequence[Sequence[int]], T: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (B, T) int32, lengths (B,) int32)``: right-padded with 0, truncated to ``T``.

    Example:
        >>> ids, lengths = pad_batch([[5, 6, 7], [8]], 4)
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6, 7, 0], [8, 0, 0, 0]], [3, 1])
    """
    ids = np.zeros((len(seqs), T), np.int32)
    lengths = np.zeros((len(seqs),), np.int32)
    for i, s in enumerate(seqs):
        s = list(s)[:T]
        ids[i, : len(s)] = s
        lengths[i] = max(len(s), 1)
    return ids, lengths
