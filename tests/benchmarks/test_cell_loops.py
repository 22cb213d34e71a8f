"""benchmarks.cell_loops: the A/B switch really removes the barrier; the script writes the
table it prints."""

from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from benchmarks import cell_loops
from jaxrnn import linen


@pytest.mark.parametrize("cell_name", ["LSTMCell", "MinGRUCell"])
def test_plain_products_trace_without_the_barrier(cell_name):
    model = nn.RNN(getattr(linen, cell_name)(4))
    xs = jnp.ones((2, 3, 4))
    variables = model.init(jax.random.key(0), xs)
    kept = jax.jit(model.apply).lower(variables, xs).as_text()
    with cell_loops.plain_products():
        plain = jax.jit(model.apply).lower(variables, xs).as_text()
    assert "optimization_barrier" in kept
    assert "optimization_barrier" not in plain
    after = jax.jit(model.apply).lower(variables, xs).as_text()
    assert "optimization_barrier" in after, "the switch must restore the products"


def test_main_writes_the_table_it_prints_and_rejects_unknown_shapes(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cell_loops, "CELL_NAMES", ("GRUCell",))  # one cell keeps it cheap
    assert cell_loops.main(["tiny", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    data = json.loads((tmp_path / "cell_loops.json").read_text())
    (r,) = data["results"]
    assert (r["name"], r["shape"], r["cell"]) == ("tiny", [2, 12, 8], "GRUCell")
    assert set(r["ms"]) == {"kept apart", "plain"}
    assert all(v > 0 for m in r["ms"].values() for v in m.values())
    assert {"jax", "machine", "cpus", "backend", "started", "wall_s"} <= set(data["meta"])
    table = (tmp_path / "cell_loops.md").read_text()
    assert table in printed
    assert table.splitlines()[2] == cell_loops.row(r)
    assert f"| {r['ms']['kept apart']['fwd']:.2f} / " in table
    assert cell_loops.main(["huge"]) == 2
    assert "expected shapes from" in capsys.readouterr().err
