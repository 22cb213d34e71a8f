"""The xLSTM layers and block stack: against ``xlstm``'s ``mLSTMLayer``, ``sLSTMLayer`` and
``xLSTMBlockStack`` after conversion (values and gradients, float64), the layers' sequence
hook against a loop of their steps, and the framework modules built on the cells."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

TOL64 = 1e-9  # float64 against xlstm's PyTorch (float64)
TOL32 = 2e-5  # float32 paths against each other


def _perturbed(module, torch):
    torch.manual_seed(0)
    with torch.no_grad():
        for prm in module.parameters():
            prm.add_(0.2 * torch.randn_like(prm))
    return module.double()


def _grads_as_params(module, convert):
    """The gradients of ``module`` in jaxrnn's layout: the converter read on the grads."""
    for prm in module.parameters():
        prm.data = prm.grad.clone()
    return convert(module, jnp.float64)


@pytest.mark.parametrize("kind", ["mlstm", "slstm", "stack"])
def test_equal_to_xlstm_after_conversion_values_and_gradients(kind, x64):
    torch = pytest.importorskip("torch")
    xl = pytest.importorskip("xlstm")
    from jaxrnn.interop import xlstm as ix

    d, T = 16, 10
    if kind == "mlstm":
        module = xl.mLSTMLayer(xl.mLSTMLayerConfig(embedding_dim=d, num_heads=2,
                                                   context_length=T))  # fmt: skip
        convert = ix.from_mlstm_layer
    elif kind == "slstm":
        module = xl.sLSTMLayer(xl.sLSTMLayerConfig(embedding_dim=d, num_heads=2,
                                                   backend="vanilla", dtype="float32"))  # fmt: skip
        convert = ix.from_slstm_layer
    else:
        cfg = xl.xLSTMBlockStackConfig(
            mlstm_block=xl.mLSTMBlockConfig(mlstm=xl.mLSTMLayerConfig(num_heads=2)),
            slstm_block=xl.sLSTMBlockConfig(slstm=xl.sLSTMLayerConfig(
                num_heads=2, backend="vanilla", dtype="float32")),
            num_blocks=3, embedding_dim=d, slstm_at=[1], context_length=T,
        )  # fmt: skip
        module = xl.xLSTMBlockStack(cfg)
        convert = ix.from_xlstm_block_stack
    module = _perturbed(module, torch)
    x = torch.randn(2, T, d, dtype=torch.float64, requires_grad=True)
    want = module(x)
    (want**2).sum().backward()
    p = convert(module, jnp.float64)
    xs = jnp.asarray(x.detach().numpy())

    def run(p, xs):
        if kind == "stack":
            return jaxrnn.xlstm_stack(p, xs)[1]
        return jaxrnn.cell_scan(p, xs)[1]

    np.testing.assert_allclose(run(p, xs), want.detach().numpy(), atol=TOL64, rtol=TOL64)
    g_p, g_x = jax.grad(lambda p, xs: (run(p, xs) ** 2).sum(), argnums=(0, 1))(p, xs)
    np.testing.assert_allclose(g_x, x.grad.numpy(), atol=1e-8, rtol=1e-8)
    want_g = _grads_as_params(module, convert)
    for a, b in zip(jax.tree.leaves(g_p), jax.tree.leaves(want_g)):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=1e-7)


def test_round_trips_to_xlstm():
    pytest.importorskip("xlstm")
    from jaxrnn.interop import xlstm as ix

    p = jaxrnn.init_xlstm_stack(jax.random.key(0), 16, num_blocks=2, slstm_at=(0,),
                                mlstm_options={"num_heads": 2}, slstm_options={"num_heads": 2})
    back = ix.from_xlstm_block_stack(ix.to_xlstm_block_stack(p, context_length=8))
    for a, b in zip(jax.tree.leaves(p), jax.tree.leaves(back)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["mlstm_layer", "slstm_layer"])
def test_sequence_equals_steps_with_lengths_and_streaming(name):
    cell = jaxrnn.get_cell(name)
    p = cell.init(jax.random.key(0), 8, 8, num_heads=2)
    p = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(3), a.shape), p)
    xs = jax.random.normal(jax.random.key(1), (2, 9, 8))
    carry_T, ys = jaxrnn.cell_scan(p, xs, lengths=jnp.array([9, 5]))
    carry = cell.initial_carry(cell.dims(p), (2,), jnp.float32)
    for t in range(9):
        carry, y = cell.step(p, carry, xs[:, t])
        np.testing.assert_allclose(y[0], ys[0, t], atol=TOL32)
    # streaming: two chunks with the carry between them equal one call
    c1, first = jaxrnn.cell_scan(p, xs[:, :4])
    _, second = jaxrnn.cell_scan(p, xs[:, 4:], c1)
    np.testing.assert_allclose(jnp.concatenate([first, second], 1)[0], ys[0], atol=TOL32)
    assert bool((ys[1, 5:] == 0).all())


def test_modules_and_decoding():
    pytest.importorskip("flax")
    pytest.importorskip("equinox")
    import flax.linen as nn
    from flax import nnx

    import jaxrnn.equinox
    import jaxrnn.linen
    import jaxrnn.nnx

    xs = jax.random.normal(jax.random.key(1), (2, 6, 8))
    layer = nn.RNN(jaxrnn.linen.SLSTMLayerCell(8, cell_options={"num_heads": 2}))
    variables = layer.init(jax.random.key(0), xs)
    p = jaxrnn.linen.layer_params(variables["params"]["cell"])
    np.testing.assert_allclose(layer.apply(variables, xs), jaxrnn.cell_scan(p, xs)[1], atol=TOL32)
    model = jaxrnn.linen.XLSTMBlockStack(8, num_blocks=2, slstm_at=(1,),
                                         mlstm_options={"num_heads": 2},
                                         slstm_options={"num_heads": 2})  # fmt: skip
    variables = model.init(jax.random.key(0), xs)
    _, ys = model.apply(variables, xs)
    assert ys.shape == (2, 6, 8)
    m = jaxrnn.nnx.MLSTMLayer(8, 8, cell_options={"num_heads": 2}, rngs=nnx.Rngs(0))
    np.testing.assert_allclose(m(xs)[1], jaxrnn.stack((jaxrnn.nnx.layer_params(m, 0),), xs)[1],
                               atol=TOL32)  # fmt: skip
    s = jaxrnn.nnx.XLSTMBlockStack(8, num_blocks=2, slstm_at=(0,), rngs=nnx.Rngs(0),
                                   mlstm_options={"num_heads": 2},
                                   slstm_options={"num_heads": 2})  # fmt: skip
    np.testing.assert_allclose(s(xs)[1], jaxrnn.xlstm_stack(s.params(), xs)[1], atol=TOL32)
    e = jaxrnn.equinox.XLSTMBlockStack(8, num_blocks=2, key=jax.random.key(0),
                                       mlstm_options={"num_heads": 2},
                                       slstm_options={"num_heads": 2})  # fmt: skip
    np.testing.assert_allclose(jax.vmap(e)(xs)[1], jaxrnn.xlstm_stack(e.params, xs)[1],
                               atol=TOL32)  # fmt: skip
    E, V = jnp.ones((5, 8)), jnp.ones((5, 8))
    step = jaxrnn.decode.make_step_fn(E, p, V, jnp.zeros(5))
    carry = jaxrnn.get_cell("slstm_layer").initial_carry(
        jaxrnn.get_cell("slstm_layer").dims(p), (2,), jnp.float32)
    assert jaxrnn.greedy_decode(step, carry, 1, max_len=3, end_token=0).tokens.shape == (2, 3)
