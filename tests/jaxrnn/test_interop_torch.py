"""jaxrnn.interop.pytorch against the real torch.nn.LSTM / nn.RNN / nn.Linear.

Every ``compare_*`` function returns the max absolute error of one comparison, so that
``python -m tests.jaxrnn.test_interop_torch`` prints the table quoted in the README.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn.interop import from_torch_lstm, from_torch_rnn, to_torch_lstm, to_torch_rnn
from jaxrnn.layers import Bidirectional, stack

torch = pytest.importorskip("torch")

TOL = 1e-5  # float32 on both sides, 2 layers x 5 steps
B, T, D_IN, D_H, D_OUT = 3, 5, 2, 4, 3
LENGTHS = [5, 3, 1]


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, D_IN, generator=g)


def _lstm(**kw):
    torch.manual_seed(0)
    m = torch.nn.LSTM(D_IN, D_H, batch_first=True, **kw)
    with torch.no_grad():  # non-zero, distinct biases on both sides
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.normal_()
    return m


def _torch_packed(module, x, lengths):
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        out, hidden = module(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    return out.numpy(), hidden


def _err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def compare_lstm_2layer_bidirectional_lengths():
    m = _lstm(num_layers=2, bidirectional=True)
    x = _inputs()
    out, (h_n, c_n) = _torch_packed(m, x, LENGTHS)
    finals, hs = stack(from_torch_lstm(m), jnp.asarray(x.numpy()), lengths=jnp.array(LENGTHS))
    ours_h = np.stack([getattr(finals[k], d).h for k in range(2) for d in ("fwd", "bwd")])
    ours_C = np.stack([getattr(finals[k], d).C for k in range(2) for d in ("fwd", "bwd")])
    return max(_err(hs, out), _err(ours_h, h_n.numpy()), _err(ours_C, c_n.numpy()))


def compare_lstm_1layer_no_bias():
    m = _lstm(bias=False)
    x = _inputs(1)
    with torch.no_grad():
        out, (h_n, _) = m(x)
    finals, hs = stack(from_torch_lstm(m), jnp.asarray(x.numpy()))
    return max(_err(hs, out.numpy()), _err(finals[0].h, h_n[0].numpy()))


def compare_lstm_export():
    """jaxrnn stack -> torch.nn.LSTM; the torch module runs the same function."""
    m = _lstm(num_layers=2, bidirectional=True)
    params = from_torch_lstm(m)
    # Perturb so the exported weights are not merely the ones we imported.
    params = tuple(
        Bidirectional(l.fwd, l.bwd._replace(f=l.bwd.f._replace(b=l.bwd.f.b + 0.5))) for l in params
    )
    exported = to_torch_lstm(params)
    x = _inputs(2)
    out, _ = _torch_packed(exported, x, LENGTHS)
    _, hs = stack(params, jnp.asarray(x.numpy()), lengths=jnp.array(LENGTHS))
    return _err(hs, out)


def compare_rnn_2layer_bidirectional_linear():
    torch.manual_seed(1)
    rnn = torch.nn.RNN(D_IN, D_H, num_layers=2, bidirectional=True, batch_first=True)
    linear = torch.nn.Linear(2 * D_H, D_OUT)
    x = _inputs(3)
    out, h_n = _torch_packed(rnn, x, LENGTHS)
    with torch.no_grad():
        logits = linear(torch.from_numpy(out)).numpy()
    finals, ours = stack(
        from_torch_rnn(rnn, linear), jnp.asarray(x.numpy()), lengths=jnp.array(LENGTHS)
    )
    valid = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]
    ours_h = np.stack([getattr(finals[k], d) for k in range(2) for d in ("fwd", "bwd")])
    return max(_err(np.asarray(ours)[valid], logits[valid]), _err(ours_h, h_n.numpy()))


def compare_rnn_export():
    torch.manual_seed(2)
    rnn = torch.nn.RNN(D_IN, D_H, num_layers=2, batch_first=True)
    params = from_torch_rnn(rnn, torch.nn.Linear(D_H, D_OUT))
    rnn2, linear2 = to_torch_rnn(params)
    x = _inputs(4)
    with torch.no_grad():
        logits = linear2(rnn2(x)[0]).numpy()
    _, ours = stack(params, jnp.asarray(x.numpy()))
    return _err(ours, logits)


COMPARISONS = {
    "torch nn.LSTM(num_layers=2, bidirectional=True), packed lengths -> jaxrnn": (
        compare_lstm_2layer_bidirectional_lengths
    ),
    "torch nn.LSTM(bias=False) -> jaxrnn": compare_lstm_1layer_no_bias,
    "jaxrnn 2-layer bidirectional LSTM -> torch nn.LSTM": compare_lstm_export,
    "torch nn.RNN(2 layers, bidirectional) + nn.Linear -> jaxrnn": (
        compare_rnn_2layer_bidirectional_linear
    ),
    "jaxrnn 2-layer RNN + readout -> torch nn.RNN + nn.Linear": compare_rnn_export,
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_matches_torch(name):
    assert COMPARISONS[name]() < TOL


def test_round_trips_are_exact():
    m = _lstm(num_layers=2, bidirectional=True)
    params = from_torch_lstm(m)
    again = from_torch_lstm(to_torch_lstm(params))
    for a, b in zip(
        np.concatenate([np.ravel(x) for x in _leaves(params)]),
        np.concatenate([np.ravel(x) for x in _leaves(again)]),
    ):
        assert a == b
    exported = to_torch_lstm(params).state_dict()
    sd = m.state_dict()
    np.testing.assert_array_equal(exported["weight_hh_l1_reverse"], sd["weight_hh_l1_reverse"])
    np.testing.assert_allclose(
        exported["bias_ih_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"], rtol=0, atol=0
    )
    assert not exported["bias_hh_l0"].any()


def _leaves(tree):
    import jax

    return jax.tree.leaves(tree)


def test_refusals():
    with pytest.raises(ValueError, match="proj_size=0, got proj_size=2"):
        from_torch_lstm(torch.nn.LSTM(D_IN, D_H, proj_size=2))
    with pytest.raises(TypeError, match="got GRU; convert a GRU with from_torch_gru"):
        from_torch_lstm(torch.nn.GRU(D_IN, D_H))
    with pytest.raises(ValueError, match="nonlinearity='tanh', got 'relu'"):
        from_torch_rnn(torch.nn.RNN(D_IN, D_H, nonlinearity="relu"))
    with pytest.raises(ValueError, match="linear.in_features=8"):
        from_torch_rnn(torch.nn.RNN(D_IN, D_H, bidirectional=True), torch.nn.Linear(D_H, 2))


if __name__ == "__main__":
    for label, fn in COMPARISONS.items():
        print(f"{fn():.2e}  {label}")
