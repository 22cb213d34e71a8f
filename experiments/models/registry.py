"""The recurrent models a task can be asked for by name (``--models=rnn,lstm``).

The one place the choice is defined: every config field that picks a model is typed with
:data:`Model`, so adding a cell here (and its case in :mod:`experiments.models.sequence`)
makes it valid, listed in ``--help`` and checked everywhere at once. Imports nothing heavy.
"""

from __future__ import annotations

import typing
from typing import Literal

Model = Literal["rnn", "lstm", "gru", "mingru", "minlstm", "rglru", "lru"]
MODELS: tuple[str, ...] = typing.get_args(Model)
DEFAULT_MODELS: tuple[str, ...] = ("rnn", "lstm")
"""What a task runs when ``--models`` is not given; the others are asked for by name."""

CELLS: dict[str, str] = {"rglru": "hawk"}
"""The registered jaxrnn cell a model name trains, where they differ: ``rglru`` is the Hawk
block (Griffin's recurrent block: projections, a causal convolution and the RG-LRU), which
reads and writes any sizes; the bare RG-LRU (cell ``"rglru"``) maps ``d`` channels to ``d``."""


def cell_name(model: str) -> str:
    """The jaxrnn cell (``jaxrnn.get_cell``) that the model ``model`` trains."""
    return CELLS.get(model, model)
