"""The RG-LRU, Hawk and LRU cells through the contract's machinery: stacks, the Flax Linen and
NNX cells and stacks, the Equinox stack, module storage, decoding with the convolution's
window, Newton's method."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src import modules as mc

TOL = 2e-5  # float32, the same computation composed two ways
B, T = 2, 6
NAMES = ("rglru", "hawk", "lru")
ODD_CARRIES = ("hawk", "lru")  # a tuple carry with a window; a complex carry, outputs of d_in
# (the RG-LRU in nn.RNN / nnx.RNN: the doctests of jaxrnn.linen.RGLRUCell, jaxrnn.nnx.RGLRUCell)
OPTIONS = {"rglru": {"num_heads": 2}, "hawk": {"lru_width": 6, "num_heads": 2}, "lru": {}}


def _sizes(name):
    """(d_in, d_h): the RG-LRU maps d to d; the Hawk block and the LRU take any sizes."""
    return (4, 4) if name == "rglru" else (3, 4)


def _xs(d_in, seed=1):
    """Host (NumPy) inputs: no program compiled to draw them."""
    return np.random.default_rng(seed).standard_normal((B, T, d_in)).astype(np.float32)


def _host(tree):
    """Every leaf as a NumPy array: indexing and comparing them compiles nothing."""
    return jax.tree.map(np.asarray, tree)


@pytest.mark.parametrize("name", NAMES)
def test_layout_init_storage_and_carry(name):
    cell = jaxrnn.get_cell(name)
    d_in, d_h = _sizes(name)
    p = cell.init(jax.random.key(0), d_in, d_h, **OPTIONS[name])
    assert jaxrnn.cell_for(p) is cell and cell.check(p, "test")["d_in"] == d_in
    back = mc.rebuild(mc.as_dict(p))  # the cell found by its field names
    assert type(back) is type(p)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(p)):
        np.testing.assert_array_equal(a, b)
    dims = cell.check(p, "test")
    step = jax.jit(lambda p, x: cell.step(p, cell.initial_carry(dims, (B,), jnp.float32), x))
    y = step(p, np.ones((B, d_in), np.float32))[1]
    assert y.shape == (B, cell.output_size(dims))


@pytest.mark.parametrize("name", NAMES)
def test_stack_bidirectional_with_lengths_equals_the_scans_composed(name):
    d_in, d_h = _sizes(name)
    params = jaxrnn.init_stack(jax.random.key(0), name, d_in, d_h, num_layers=2,
                               bidirectional=True, merge="sum",
                               cell_options=OPTIONS[name])  # fmt: skip
    xs = _xs(d_in)
    lengths = np.array([6, 3])
    resets = np.zeros((B, T), bool)
    resets[:, 0] = resets[0, 4] = True

    @jax.jit
    def both(params, xs, lengths, resets):  # the stack and the scans composed: one program
        stacked = jaxrnn.stack(params, xs, seq_lengths=lengths, resets=resets, merge="sum")
        h = xs
        for layer in params:
            f = jaxrnn.cell_scan(layer.fwd, h, lengths=lengths, resets=resets)
            b = jaxrnn.cell_scan(layer.bwd, h, lengths=lengths, resets=resets, reverse=True)
            h = f[1] + b[1]
        return stacked, h, b

    (finals, out), h, b = _host(both(params, xs, lengths, resets))
    np.testing.assert_allclose(out, h, atol=TOL)
    for got, want in zip(jax.tree.leaves(finals[1].bwd), jax.tree.leaves(b[0])):
        np.testing.assert_allclose(got, want, atol=TOL)


@pytest.mark.parametrize("name", ODD_CARRIES)
def test_linen_cell_in_nn_rnn_and_stack(name):
    nn = pytest.importorskip("flax.linen")
    from jaxrnn.linen import RecurrentCell, Stack, layer_params

    d_in, d_h = _sizes(name)
    xs = _xs(d_in)
    layer = nn.RNN(RecurrentCell(d_h, cell=name, cell_options=OPTIONS[name]))
    variables = layer.init(jax.random.key(0), xs)
    p = layer_params(variables["params"]["cell"])
    assert isinstance(p, jaxrnn.get_cell(name).params_type)
    model = Stack(d_h, cell=name, num_layers=2, cell_options=OPTIONS[name])
    model_variables = model.init(jax.random.key(0), xs)
    layers = tuple(layer_params(model_variables, l) for l in range(2))

    @jax.jit
    def run(variables, p, model_variables, layers, xs, lengths):  # the four calls: one program
        return (layer.apply(variables, xs), jaxrnn.cell_scan(p, xs)[1],
                model.apply(model_variables, xs, lengths)[1],
                jaxrnn.stack(layers, xs, seq_lengths=lengths)[1])  # fmt: skip

    got, want, out, stacked = _host(run(variables, p, model_variables, layers, xs,
                                        np.array([6, 2])))  # fmt: skip
    np.testing.assert_allclose(got, want, atol=TOL)
    np.testing.assert_allclose(out, stacked, atol=TOL)


def test_linen_named_modules_take_the_options_as_attributes():
    pytest.importorskip("flax.linen")
    from jaxrnn.linen import Hawk, HawkCell, LRUCell, RGLRUCell, layer_params

    xs = _xs(4)
    model = Hawk(4, num_heads=2, lru_width=8, num_layers=2)
    variables = model.init(jax.random.key(0), xs)
    p = layer_params(variables, 1)
    assert p.rglru.W_a.shape == (2, 4, 4) and p.W_o.shape == (4, 8)
    for cell, shape in ((RGLRUCell(4, num_heads=4), (4, 1, 1)),):
        v = cell.init(jax.random.key(0), cell.initialize_carry(jax.random.key(1), (B, 4)), xs[:, 0])
        assert v["params"]["W_a"].shape == shape
    carry = HawkCell(5, conv_width=2).initialize_carry(jax.random.key(0), (B, 4))
    assert carry.window.shape == (B, 1, 5)
    assert LRUCell(7).initialize_carry(jax.random.key(0), (B, 4)).dtype == jnp.complex64


@pytest.mark.parametrize("name", ODD_CARRIES)
def test_nnx_cell_and_stack(name):
    nnx = pytest.importorskip("flax.nnx")
    from jaxrnn.nnx import RecurrentCell, Stack, layer_params

    d_in, d_h = _sizes(name)
    xs = _xs(d_in)
    cell = RecurrentCell(d_in, d_h, cell=name, cell_options=OPTIONS[name], rngs=nnx.Rngs(0))
    np.testing.assert_allclose(nnx.RNN(cell)(xs), jaxrnn.cell_scan(cell.params(), xs)[1],
                               atol=TOL)  # fmt: skip
    model = Stack(d_in, d_h, cell=name, num_layers=2, cell_options=OPTIONS[name],
                  rngs=nnx.Rngs(0))  # fmt: skip
    layers = tuple(layer_params(model, l) for l in range(2))
    np.testing.assert_allclose(model(xs)[1], jaxrnn.stack(layers, xs)[1], atol=TOL)


def test_nnx_lru_gamma_is_derived_from_nu():
    nnx = pytest.importorskip("flax.nnx")
    from jaxrnn.nnx import LRU

    p = _host(LRU(3, 64, rngs=nnx.Rngs(0), cell_options={"r_min": 0.5}).layer(0))
    r = np.exp(-np.exp(p.nu_log))
    np.testing.assert_allclose(np.exp(p.gamma_log), np.sqrt(1 - r**2), rtol=1e-4)


@pytest.mark.parametrize("name", ODD_CARRIES)
def test_equinox_stack(name):
    pytest.importorskip("equinox")
    from jaxrnn.equinox import Stack

    d_in, d_h = _sizes(name)
    model = Stack(name, d_in, d_h, num_layers=2, key=jax.random.key(0),
                  cell_options=OPTIONS[name])  # fmt: skip
    xs = _xs(d_in)[0]
    np.testing.assert_allclose(model(xs)[1], jaxrnn.stack(model.layers, xs)[1], atol=TOL)


def test_hawk_decoding_carries_the_convolution_window():
    """Greedy decoding one token at a time equals the parallel block over the tokens it
    produced: the window of the last three inputs travels in the carry."""
    k = jax.random.split(jax.random.key(3), 3)
    p = jaxrnn.init_hawk_params(k[0], 4, 5, lru_width=6)
    rng = np.random.default_rng(3)
    E, V = (jnp.asarray(rng.standard_normal(shape), jnp.float32) for shape in ((7, 4), (7, 5)))
    step = jaxrnn.decode.make_step_fn(E, p, V, np.zeros(7, np.float32))
    carry0 = jaxrnn.get_cell("hawk").initial_carry(jaxrnn.get_cell("hawk").dims(p), (B,),
                                                   jnp.float32)  # fmt: skip
    tokens = np.asarray(jaxrnn.greedy_decode(step, carry0, 1, max_len=6, end_token=None).tokens)
    inputs = np.concatenate([np.ones((B, 1), int), tokens[:, :-1]], 1)
    scan = jax.jit(lambda p, E, V, inputs: jaxrnn.hawk_scan(p, E[inputs])[1] @ V.T)
    logits = np.asarray(scan(p, E, V, inputs))
    assert (np.argmax(logits, -1) == tokens).all()


def test_newton_over_time_on_the_rglru_and_a_clear_refusal_for_other_carries():
    p = jaxrnn.init_rglru_params(jax.random.key(0), 4)
    xs = _xs(4)
    got, want = jax.jit(lambda p, xs, lengths: (  # both: one program
        jaxrnn.cell_scan(p, xs, lengths=lengths, method="newton"),
        jaxrnn.rglru_scan(p, xs, lengths=lengths),
    ))(p, xs, np.array([6, 4]))  # fmt: skip
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-4)
    hawk = jaxrnn.init_hawk_params(jax.random.key(0), 3, 4)
    with pytest.raises(ValueError, match=r"needs a carry of real vectors, and the cell 'hawk' carries float32\[3, 4\], float32\[4\]"):
        jaxrnn.cell_scan(hawk, _xs(3), method="newton")
    lru = jaxrnn.init_lru_params(jax.random.key(0), 3, 4)
    with pytest.raises(ValueError, match=r"the cell 'lru' carries complex64\[4\]"):
        jaxrnn.cell_scan(lru, _xs(3), method="newton-diagonal")
