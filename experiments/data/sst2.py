"""SST-2 (GLUE, binary sentiment): where the files come from, and sentences to token ids."""

from __future__ import annotations

import numpy as np

from experiments.data.dataset import Dataset
from experiments.data.text import Vocab, tokenize_sst

#: GLUE SST-2 (binary). Checksums are of the GLUE train/dev files (see shared PROVENANCE.md).
SST2 = Dataset(
    name="sst2",
    files={
        "train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
        "dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
    },
    url="https://dl.fbaipublicfiles.com/glue/data/SST-2.zip",
    members={"train.tsv": "SST-2/train.tsv", "dev.tsv": "SST-2/dev.tsv"},
)


def encode(vocab: Vocab, examples) -> tuple[list[list[int]], np.ndarray]:
    """``(token ids of each sentence, labels)``."""
    ids = [vocab.encode(tokenize_sst(e.sentence)) for e in examples]
    return ids, np.array([e.label for e in examples], np.int32)
