"""The recurrent models a task can be asked for by name (``--models=rnn,lstm``).

The one place the choice is defined: every config field that picks a model is typed with
:data:`Model`, so adding a name here makes it valid, listed in ``--help`` and checked
everywhere at once. A model is the library's registered cell of the same name
(``jaxrnn.get_cell``), or of the name :data:`CELLS` gives it. Imports nothing heavy.
"""

from __future__ import annotations

import typing
from typing import Literal

Model = Literal["rnn", "lstm", "gru", "mingru", "minlstm", "rglru", "lru", "slstm", "mlstm"]
MODELS: tuple[str, ...] = typing.get_args(Model)
DEFAULT_MODELS: tuple[str, ...] = ("rnn", "lstm")
"""What a task runs when ``--models`` is not given; the others are asked for by name."""

CELLS: dict[str, str] = {"rglru": "hawk", "mlstm": "mlstm_layer"}
"""The registered jaxrnn cell a model name trains, where they differ: ``rglru`` is the Hawk
block (Griffin's recurrent block: projections, a causal convolution and the RG-LRU), which
reads and writes any sizes; the bare RG-LRU (cell ``"rglru"``) maps ``d`` channels to ``d``.
``mlstm`` is the mLSTM layer (up-projection, convolution, q/k/v from the input, gates,
multi-head norm: the xLSTM's mLSTM block without its residual and norm, which the tasks' deep
blocks add)."""


def cell_name(model: str) -> str:
    """The jaxrnn cell (``jaxrnn.get_cell``) that the model ``model`` trains."""
    return CELLS.get(model, model)
