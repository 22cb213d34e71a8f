"""benchmarks.cell_loops: the A/B switch really removes the barrier, the harness runs."""

from __future__ import annotations

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


def test_bench_times_both_variants_and_rejects_unknown_shapes(capsys):
    ms = cell_loops.bench("GRUCell", cell_loops.SHAPES["tiny"], budget_s=0.0)
    assert set(ms) == {"kept apart", "plain"}
    assert all(v > 0 for m in ms.values() for v in m.values())
    assert cell_loops.main(["huge"]) == 2
    assert "expected shapes from" in capsys.readouterr().err
