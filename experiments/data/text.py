"""Text for every task: the one vocabulary class, tokenizers, labelled-sentence files, and
padding of token-id lists into batches.

:func:`tokenize_sst` reproduces SST-2's own preprocessing (lowercased, punctuation and
clitics split off: ``"Isn't it great!"`` -> ``is n't it great !``), so raw user text and the
already-tokenized corpus meet the same vocabulary. :class:`Vocab` is saved with a run as
``vocab*.json`` (tokens plus the tokenizer's name), and a reloaded model tokenizes exactly as
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

from experiments.core.errors import DataFileError, RunDirError
from experiments.data.files import read_text, split_lines

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
SST_TOKENIZER = "sst-v1"

_CLITIC = re.compile(r"(n't|'s|'re|'ve|'ll|'d|'m)\b")
_PUNCT = re.compile(r"(\.\.\.|[.,;:](?=\s|$)|[!?()\"]|--|`+|'+(?=\s|$))")


def tokenize_sst(text: str) -> list[str]:
    """Lowercase and split off punctuation and English clitics, as in SST-2.

    Example:
        >>> tokenize_sst("Isn't it a GREAT film, really?!")
        ['is', "n't", 'it', 'a', 'great', 'film', ',', 'really', '?', '!']
        >>> tokenize_sst("is n't it a great film , really ?")  # SST-2 text is left unchanged
        ['is', "n't", 'it', 'a', 'great', 'film', ',', 'really', '?']
    """
    text = _CLITIC.sub(r" \1", text.lower())
    return _PUNCT.sub(r" \1 ", text).split()


class Vocab:
    """Token <-> id map shared by every text task: ``<pad>`` = 0, ``<unk>`` = 1, ``<s>`` = 2,
    ``</s>`` = 3, then the words.

    Args:
        words: the words in id order (special tokens among them are ignored).
        tokenizer: name of the tokenizer that produced the words, saved with the vocabulary so
            a reloaded model can check it tokenizes as in training.

    Example:
        >>> v = Vocab(["two", "one"])
        >>> v.encode(["one", "three"]), v.decode([4, 5, 3, 4])
        ([5, 1], ['two', 'one'])
    """

    pad, unk, bos, eos = range(len(SPECIALS))

    def __init__(self, words: Iterable[str], tokenizer: str = "") -> None:
        self.tokens = [*SPECIALS, *(w for w in words if w not in SPECIALS)]
        self.tokenizer = tokenizer
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(
        cls, sentences: Iterable[Sequence[str]], min_count: int = 1, tokenizer: str = ""
    ) -> Vocab:
        """Words of the tokenized ``sentences`` seen at least ``min_count`` times, most
        frequent first (ties in text order)."""
        counts = Counter(tok for s in sentences for tok in s)
        kept = [t for t, c in counts.items() if c >= min_count]
        kept.sort(key=lambda t: (-counts[t], t))
        return cls(kept, tokenizer)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens`` (unknown ones -> ``<unk>``)."""
        return [self.index.get(t, self.unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens up to (not including) the first ``</s>``; special tokens dropped."""
        out = []
        for i in map(int, ids):
            if i == self.eos:
                break
            if i >= len(SPECIALS):
                out.append(self.tokens[i])
        return out

    def save(self, path: Path) -> None:
        """``{"tokenizer": ..., "tokens": [...]}`` as JSON."""
        path.write_text(json.dumps({"tokenizer": self.tokenizer, "tokens": self.tokens}) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        """Read :meth:`save` output.

        Raises:
            RunDirError: the file does not start with the special tokens.
        """
        data = json.loads(Path(path).read_text())
        tokens = data["tokens"]
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            raise RunDirError(
                f"{path}: expected a vocabulary starting with {', '.join(SPECIALS)}, got "
                f"{tokens[: len(SPECIALS)]}; it was saved by another version of the experiments"
            )
        return cls(tokens[len(SPECIALS) :], data.get("tokenizer", ""))


class Example(NamedTuple):
    """One line of a sentence file: ``label`` is None for an unlabelled line."""

    line: int
    sentence: str
    label: int | None


class FileFormatError(DataFileError):
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
        DataNotFoundError: no such file.
        DataFileError: empty, cut-short gzip or non-UTF-8 file (line given).
        FileFormatError: malformed lines, with their 1-based line numbers.
    """
    lines = split_lines(read_text(path))
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
        if not tokenize_sst(sentence):
            problems.append((n, "empty sentence"))
            continue
        examples.append(Example(n, sentence, None if label is None else labels.index(label)))
    if problems:
        raise FileFormatError(str(path), problems)
    if not examples:
        raise FileFormatError(str(path), [(1, "no sentences in the file")])
    return examples


def pad_batch(seqs: Sequence[Sequence[int]], T: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids (B, T) int32, lengths (B,) int32)``: truncated to ``T``, right-padded with
    ``<pad>``; an empty sequence becomes one ``<unk>``.

    Example:
        >>> ids, lengths = pad_batch([[5, 6, 7], []], 4)
        >>> ids.tolist(), lengths.tolist()
        ([[5, 6, 7, 0], [1, 0, 0, 0]], [3, 1])
    """
    ids = np.full((len(seqs), T), Vocab.pad, np.int32)
    lengths = np.zeros((len(seqs),), np.int32)
    for i, s in enumerate(seqs):
        s = list(s)[:T] or [Vocab.unk]
        ids[i, : len(s)] = s
        lengths[i] = len(s)
    return ids, lengths


def pad_targets(seqs: Sequence[Sequence[int]], T: int) -> tuple[np.ndarray, ...]:
    """Teacher-forcing arrays for token-id lists ``seqs`` (cut to ``T - 1`` tokens).

    Returns ``(ys_in (B, T), ys_out (B, T), lengths (B,))``: ``ys_in = <s> w_1 .. w_n``,
    ``ys_out = w_1 .. w_n </s>``, padded with ``<pad>``; ``lengths = n + 1``.

    Example:
        >>> [a.tolist() for a in pad_targets([[7, 8], [9]], 4)]
        [[[2, 7, 8, 0], [2, 9, 0, 0]], [[7, 8, 3, 0], [9, 3, 0, 0]], [3, 2]]
    """
    B = len(seqs)
    ys_in = np.full((B, T), Vocab.pad, np.int32)
    ys_out = np.full((B, T), Vocab.pad, np.int32)
    lengths = np.zeros((B,), np.int32)
    for b, s in enumerate(seqs):
        s = list(s)[: T - 1]
        ys_in[b, : len(s) + 1] = [Vocab.bos, *s]
        ys_out[b, : len(s) + 1] = [*s, Vocab.eos]
        lengths[b] = len(s) + 1
    return ys_in, ys_out, lengths
