"""The GRU against ``torch.nn.GRU``: 2 layers, bidirectional, ``pack_padded_sequence``
lengths, in float64; and the converters ``from_torch_gru`` / ``to_torch_gru``.

``python -m tests.jaxrnn.test_gru_torch`` prints the largest errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn.interop import from_torch_gru, to_torch_gru
from jaxrnn.layers import Bidirectional

torch = pytest.importorskip("torch")

TORCH_F64_TOL = 1e-12  # float64 on both sides
TOL = 1e-5  # float32 exports
B, T, D_IN, D_H = 3, 7, 4, 5
LENGTHS = [7, 4, 1]


def _gru(dtype=torch.float64, **kw):
    torch.manual_seed(0)
    m = torch.nn.GRU(D_IN, D_H, batch_first=True, dtype=dtype, **kw)
    with torch.no_grad():  # non-zero, distinct biases on both sides
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.normal_()
    return m


def _torch_run(module, x, h0, lengths):
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        out, h_n = module(packed, h0)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    return out.numpy(), h_n.numpy()


def _ours(layers, xs, h0, lengths):
    """A stack of GRU layers by hand with ``gru_scan``: outputs and ``h_n`` as torch orders it."""
    finals = []
    for k, layer in enumerate(layers):
        dirs = (layer.fwd, layer.bwd) if isinstance(layer, Bidirectional) else (layer,)
        outs = []
        for j, p in enumerate(dirs):
            h_T, hs = jaxrnn.gru_scan(p, xs, h0[len(dirs) * k + j], lengths=lengths, reverse=j == 1)
            finals.append(h_T)
            outs.append(hs)
        xs = jnp.concatenate(outs, axis=-1)
    return np.asarray(xs), np.stack(finals)


def _err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def compare_2layer_bidirectional_lengths_float64():
    with jax.enable_x64(True):
        m = _gru(num_layers=2, bidirectional=True)
        g = torch.Generator().manual_seed(1)
        x = torch.randn(B, T, D_IN, generator=g, dtype=torch.float64)
        h0 = torch.randn(4, B, D_H, generator=g, dtype=torch.float64)
        out, h_n = _torch_run(m, x, h0, LENGTHS)
        layers = from_torch_gru(m)
        assert layers[0].fwd.z.U.dtype == jnp.float64
        hs, finals = _ours(layers, jnp.asarray(x.numpy()), jnp.asarray(h0.numpy()),
                           jnp.array(LENGTHS))  # fmt: skip
        return max(_err(hs, out), _err(finals, h_n))


def compare_no_bias_float64():
    with jax.enable_x64(True):
        m = _gru(bias=False)
        x = torch.randn(B, T, D_IN, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
        with torch.no_grad():
            out, h_n = m(x)
        hs, finals = _ours(from_torch_gru(m), jnp.asarray(x.numpy()), jnp.zeros((1, B, D_H)), None)
        return max(_err(hs, out.numpy()), _err(finals, h_n.numpy()))


def compare_export():
    """jaxrnn stack (perturbed biases) -> torch.nn.GRU; torch runs the same function."""
    layers = from_torch_gru(_gru(dtype=torch.float32, num_layers=2, bidirectional=True))
    layers = tuple(
        Bidirectional(l.fwd, l.bwd._replace(b_hn=l.bwd.b_hn + 0.5, z=l.fwd.z)) for l in layers
    )
    exported = to_torch_gru(layers)
    x = torch.randn(B, T, D_IN, generator=torch.Generator().manual_seed(3))
    h0 = torch.zeros(4, B, D_H)
    out, h_n = _torch_run(exported, x, h0, LENGTHS)
    hs, finals = _ours(layers, jnp.asarray(x.numpy()), jnp.zeros((4, B, D_H)), jnp.array(LENGTHS))
    return max(_err(hs, out), _err(finals, h_n))


def compare_export_no_bias():
    p = jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H)
    exported = to_torch_gru(p, bias=False)
    x = torch.randn(B, T, D_IN, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        out, _ = exported(x)
    return _err(jaxrnn.gru_scan(p, jnp.asarray(x.numpy()))[1], out.numpy())


COMPARISONS = {
    "torch nn.GRU(2 layers, bidirectional), packed lengths, float64 -> jaxrnn": (
        compare_2layer_bidirectional_lengths_float64
    ),
    "torch nn.GRU(bias=False), float64 -> jaxrnn": compare_no_bias_float64,
}
EXPORTS = {
    "jaxrnn 2-layer bidirectional GRU -> torch nn.GRU": compare_export,
    "jaxrnn GRU -> torch nn.GRU(bias=False)": compare_export_no_bias,
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_equals_torch_in_float64(name):
    assert COMPARISONS[name]() < TORCH_F64_TOL


@pytest.mark.parametrize("name", list(EXPORTS))
def test_exported_module_runs_the_same_function(name):
    assert EXPORTS[name]() < TOL


def test_round_trip_is_exact():
    m = _gru(dtype=torch.float32, num_layers=2, bidirectional=True)
    layers = from_torch_gru(m)
    for a, b in zip(jax.tree.leaves(layers), jax.tree.leaves(from_torch_gru(to_torch_gru(layers)))):
        np.testing.assert_array_equal(a, b)
    exported, sd = to_torch_gru(layers).state_dict(), m.state_dict()
    np.testing.assert_array_equal(exported["weight_hh_l1_reverse"], sd["weight_hh_l1_reverse"])
    rz = slice(0, 2 * D_H)  # r and z: the two biases merged; n: b_hn kept apart
    np.testing.assert_array_equal(
        exported["bias_ih_l0"][rz], (sd["bias_ih_l0"] + sd["bias_hh_l0"])[rz]
    )
    np.testing.assert_array_equal(exported["bias_hh_l0"][2 * D_H :], sd["bias_hh_l0"][2 * D_H :])
    assert not exported["bias_hh_l0"][rz].any()


def test_refusals():
    with pytest.raises(TypeError, match="from_torch_gru: expected a torch.nn.GRU, got LSTM"):
        from_torch_gru(torch.nn.LSTM(D_IN, D_H))
    p = jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H, b_init=jax.nn.initializers.ones)
    with pytest.raises(ValueError, match="expected zero biases with bias=False"):
        to_torch_gru(p, bias=False)
    with pytest.raises(ValueError, match="every layer to be \\(or none to be\\) Bidirectional"):
        to_torch_gru((Bidirectional(p, p), p))


if __name__ == "__main__":
    for label, fn in {**COMPARISONS, **EXPORTS}.items():
        print(f"{fn():.2e}  {label}")
