"""The cell contract for every built-in family: layout, init, checks, registry, module plumbing.

Written once against ``jaxrnn.Cell``, parametrised over the registered cells; a new family is
covered by registering it (the user's own cells of ``test_own_cell.py`` are too).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import Leaf
from jaxrnn._src import modules as mc

BUILT_IN = ("rnn", "lstm", "gru", "mingru", "minlstm")


@pytest.fixture(params=BUILT_IN)
def cell(request):
    return jaxrnn.get_cell(request.param)


def test_the_built_in_cells_are_registered():
    assert set(BUILT_IN) <= set(jaxrnn.cell_names())
    for name in BUILT_IN:
        c = jaxrnn.get_cell(name)
        assert c.name == name and jaxrnn.cell_for(c.init(jax.random.key(0), 3, 4)) is c


def test_layout_is_the_parameter_type_with_a_leaf_per_array(cell):
    layout = cell.layout(3, 4, **cell.init_options)
    assert type(layout) is cell.params_type
    leaves = jax.tree.leaves(layout, is_leaf=lambda x: isinstance(x, Leaf))
    assert leaves and all(isinstance(leaf, Leaf) for leaf in leaves)
    p = cell.init(jax.random.key(0), 3, 4)
    shapes = jax.tree.map(lambda leaf: leaf.shape, layout, is_leaf=lambda x: isinstance(x, Leaf))
    assert jax.tree.map(lambda a: tuple(a.shape), p) == shapes
    assert cell.check(p, "test")["d_in"] == 3 and cell.check(p, "test")["d_h"] == 4


def test_initial_carry_follows_carry_shapes(cell):
    dims = cell.check(cell.init(jax.random.key(0), 3, 4), "test")
    carry = cell.initial_carry(dims, (2, 5), jnp.float32)
    shapes = cell.carry_shapes(dims)
    got = [tuple(a.shape) for a in jax.tree.leaves(carry)]
    want = [(2, 5, *s) for s in jax.tree.leaves(shapes, is_leaf=lambda x: isinstance(x, tuple)
                                                and all(isinstance(d, int) for d in x))]
    assert got == want


def test_module_storage_round_trips(cell):
    p = cell.init(jax.random.key(0), 3, 4)
    tree = mc.as_dict(p)
    back = mc.rebuild(tree)  # the cell found by its fields
    assert type(back) is type(p)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(p)):
        np.testing.assert_array_equal(a, b)
    pair = mc.rebuild({"fwd": tree, "bwd": tree})
    assert isinstance(pair, jaxrnn.Bidirectional) and type(pair.bwd) is type(p)


def test_init_from_layout_keys_each_stored_leaf_in_field_order():
    layout = jaxrnn.get_cell("rnn").layout(3, 4, d_out=0)
    key = jax.random.key(7)
    p = jaxrnn.cell.init_from_layout(key, layout, {"input": jax.random.normal,
                                                   "recurrent": jax.random.normal,
                                                   "bias": jax.random.normal}, {}, jnp.float32)
    assert p.V.shape == (0, 4) and p.b_o.shape == (0,)
    np.testing.assert_array_equal(p.b_s, jax.random.normal(jax.random.fold_in(key, 2), (4,)))


def test_leaf_and_cell_identity():
    with pytest.raises(ValueError, match="expected role to be one of"):
        Leaf("weights", (2, 2))
    with pytest.raises(ValueError, match="needs its own init"):
        Leaf("other", (2,))
    gru = jaxrnn.get_cell("gru")
    assert gru == type(gru)() and hash(gru) == hash(type(gru)())
    assert gru != type(gru)(reset_after=False)
    assert gru.jacobian_diagonal is not None and type(gru)(reset_after=False).jacobian_diagonal is None
