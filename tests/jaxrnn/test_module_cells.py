"""jaxrnn._module_cells: each cell's layout names its parameter NamedTuple's fields in order.

The order matters: ``init_tree`` gives leaf ``n`` (in this order) the key ``fold_in(key, n)``.
"""

from __future__ import annotations

from typing import Any

import pytest

import jaxrnn
from jaxrnn import _module_cells as mc
from jaxrnn.layer_params import Bidirectional

PARAM_TYPE = {
    "lstm": jaxrnn.LSTMParams,
    "gru": jaxrnn.GRUParams,
    "rnn": jaxrnn.RNNParams,
    "mingru": jaxrnn.MinGRUParams,
    "minlstm": jaxrnn.MinLSTMParams,
}
NESTED = {"f": jaxrnn.Gate, "i": jaxrnn.Gate, "c": jaxrnn.Gate, "o": jaxrnn.Gate,
          "z": jaxrnn.Gate, "r": jaxrnn.Gate, "n": jaxrnn.Gate}  # fmt: skip


def fields_in_order(layout: mc.Layout, cls: Any) -> None:
    assert tuple(layout) == cls._fields
    for name, child in layout.items():
        if not isinstance(child, mc.Leaf):
            fields_in_order(child, NESTED[name])


@pytest.mark.parametrize("cell", sorted(mc.CELLS))
def test_layout_fields_follow_the_parameter_type(cell):
    assert sorted(PARAM_TYPE) == sorted(mc.CELLS)
    fields_in_order(mc.CELLS[cell].layout(3, 4, 2), PARAM_TYPE[cell])
    pair = mc.layer_layout(cell, 3, 4, bidirectional=True)
    assert tuple(pair) == Bidirectional._fields
    for layout in pair.values():
        assert not isinstance(layout, mc.Leaf)
        fields_in_order(layout, PARAM_TYPE[cell])
