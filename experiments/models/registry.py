"""The recurrent models a task can be asked for by name (``--models=rnn,lstm``).

The one place the choice is defined: every config field that picks a model is typed with
:data:`Model`, so adding a name here makes it valid, listed in ``--help`` and checked
everywhere at once. A model is the library's registered cell of the same name
(``jaxrnn.get_cell``), or of the name :data:`CELLS` gives it. Imports nothing heavy.
"""

from __future__ import annotations

import typing
from typing import Literal

Model = Literal["rnn", "lstm", "gru", "mingru", "minlstm", "slstm", "mlstm"]
MODELS: tuple[str, ...] = typing.get_args(Model)
CELLS: dict[str, str] = {"mlstm": "mlstm_layer"}
"""Models whose cell is registered under another name: the mLSTM is a layer (up-projection,
convolution, q/k/v from the input, gates, multi-head norm: the xLSTM's mLSTM block without
its residual and norm, which the tasks' deep blocks add)."""


def cell_name(model: str) -> str:
    """The registered cell that ``--models=<model>`` trains."""
    return CELLS.get(model, model)
DEFAULT_MODELS: tuple[str, ...] = ("rnn", "lstm")
"""What a task runs when ``--models`` is not given; the others are asked for by name."""
