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


def _host(tree):
    """Every leaf as a NumPy array: indexing and comparing them compiles nothing."""
    return jax.tree.map(np.asarray, tree)


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

    @jax.jit
    def values_and_grads(p, xs):  # one program
        grads = jax.grad(lambda p, xs: (run(p, xs) ** 2).sum(), argnums=(0, 1))(p, xs)
        return run(p, xs), grads

    got, (g_p, g_x) = _host(values_and_grads(p, xs))
    np.testing.assert_allclose(got, want.detach().numpy(), atol=TOL64, rtol=TOL64)
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
    rng = np.random.default_rng(3)  # perturbed on the host: nothing compiled per shape
    p = jax.tree.map(lambda a: (a + 0.1 * rng.standard_normal(a.shape)).astype(a.dtype), p)
    xs = np.random.default_rng(1).standard_normal((2, 9, 8)).astype(np.float32)

    @jax.jit
    def scans(p, xs):  # the whole sequence, the two chunks, the first carry: one program
        c1, first = jaxrnn.cell_scan(p, xs[:, :4])
        return (jaxrnn.cell_scan(p, xs, lengths=jnp.array([9, 5]))[1], first,
                jaxrnn.cell_scan(p, xs[:, 4:], c1)[1],
                cell.initial_carry(cell.dims(p), (2,), jnp.float32))  # fmt: skip

    ys, first, second, carry = scans(p, xs)
    ys, first, second = _host((ys, first, second))
    step = jax.jit(cell.step)  # one program for the nine steps
    for t in range(9):
        carry, y = step(p, carry, xs[:, t])
        np.testing.assert_allclose(y[0], ys[0, t], atol=TOL32)
    # streaming: two chunks with the carry between them equal one call
    np.testing.assert_allclose(np.concatenate([first, second], 1)[0], ys[0], atol=TOL32)
    assert bool((ys[1, 5:] == 0).all())


def test_modules_and_decoding():
    pytest.importorskip("flax")
    pytest.importorskip("equinox")
    import flax.linen as nn
    from flax import nnx

    import jaxrnn.equinox
    import jaxrnn.linen
    import jaxrnn.nnx

    xs = np.random.default_rng(1).standard_normal((2, 6, 8)).astype(np.float32)
    layer = nn.RNN(jaxrnn.linen.SLSTMLayerCell(8, cell_options={"num_heads": 2}))
    variables = layer.init(jax.random.key(0), xs)
    p = jaxrnn.linen.layer_params(variables["params"]["cell"])
    model = jaxrnn.linen.XLSTMBlockStack(8, num_blocks=2, slstm_at=(1,),
                                         mlstm_options={"num_heads": 2},
                                         slstm_options={"num_heads": 2})  # fmt: skip
    model_variables = model.init(jax.random.key(0), xs)
    m = jaxrnn.nnx.MLSTMLayer(8, 8, cell_options={"num_heads": 2}, rngs=nnx.Rngs(0))
    s = jaxrnn.nnx.XLSTMBlockStack(8, num_blocks=2, slstm_at=(0,), rngs=nnx.Rngs(0),
                                   mlstm_options={"num_heads": 2},
                                   slstm_options={"num_heads": 2})  # fmt: skip
    e = jaxrnn.equinox.XLSTMBlockStack(8, num_blocks=2, key=jax.random.key(0),
                                       mlstm_options={"num_heads": 2},
                                       slstm_options={"num_heads": 2})  # fmt: skip
    (m_def, m_state), (s_def, s_state) = nnx.split(m), nnx.split(s)
    m_layer, s_params = jaxrnn.nnx.layer_params(m, 0), s.params()

    @jax.jit
    def run(variables, p, model_variables, m_state, m_layer, s_state, s_params, xs):
        return (  # every module and its functional equal: one program
            (layer.apply(variables, xs), jaxrnn.cell_scan(p, xs)[1]),
            model.apply(model_variables, xs)[1],
            (nnx.merge(m_def, m_state)(xs)[1], jaxrnn.stack((m_layer,), xs)[1]),
            (nnx.merge(s_def, s_state)(xs)[1], jaxrnn.xlstm_stack(s_params, xs)[1]),
            (jax.vmap(e)(xs)[1], jaxrnn.xlstm_stack(e.params, xs)[1]),
        )

    outs = _host(run(variables, p, model_variables, m_state, m_layer, s_state, s_params, xs))
    linen_cell, ys, *pairs = outs
    np.testing.assert_allclose(*linen_cell, atol=TOL32)
    assert ys.shape == (2, 6, 8)
    for got, want in pairs:
        np.testing.assert_allclose(got, want, atol=TOL32)
    E, V = jnp.ones((5, 8)), jnp.ones((5, 8))
    step = jaxrnn.decode.make_step_fn(E, p, V, jnp.zeros(5))
    carry = jaxrnn.get_cell("slstm_layer").initial_carry(
        jaxrnn.get_cell("slstm_layer").dims(p), (2,), jnp.float32)
    assert jaxrnn.greedy_decode(step, carry, 1, max_len=3, end_token=0).tokens.shape == (2, 3)
