"""``python -m benchmarks.accuracy``: the converters against the other libraries' own cells.

For each converter of :mod:`jaxrnn.interop` (PyTorch, Flax linen, Equinox, Haiku, Keras 3 on
the JAX backend), the other library runs its own forward pass on random inputs with non-zero
biases (standard normal, so that no bias is silently dropped), jaxrnn runs the converted
weights, and the largest absolute difference of the outputs and final states is recorded;
where a converter goes both ways, the export is checked too (jaxrnn's own weights run by the
other library) and the larger error is kept. float32 on CPU unless the name says float64;
tiny shapes (a few steps, a few units): about half a minute on 2 CPU cores, mostly imports
and compiling.

A peer whose package is not installed is recorded as skipped. Writes
``benchmarks/results/accuracy.json``: ``results`` has one entry per comparison, with
``name``, ``peer`` (the package) and ``max_abs_err`` (or ``skipped``).
The same comparisons, asserted against tolerances, are the interop tests in
``tests/jaxrnn/``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import interop
from jaxrnn.layers import Bidirectional, stack

B, T, D_IN, D_H, D_OUT = 3, 5, 2, 4, 3  # PyTorch: 2 layers, bidirectional, packed lengths
LENGTHS = [5, 3, 1]
BIAS = jax.nn.initializers.normal(1.0)


def _err(*pairs) -> float:
    """The largest ``|a - b|`` over the pairs ``(a, b)``."""
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in pairs)


# ---- PyTorch -------------------------------------------------------------------------------


def _torch_module(cls, dtype=None, **kw):
    import torch

    torch.manual_seed(0)
    m = cls(D_IN, D_H, batch_first=True, dtype=dtype or torch.float32, **kw)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("bias"):
                p.normal_()
    return m


def _torch_inputs(seed, dtype=None):
    import torch

    return torch.randn(B, T, D_IN, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _torch_packed(module, x, lengths=LENGTHS):
    """Outputs (zero past each length) and final states of ``module`` on a packed batch."""
    import torch

    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    with torch.no_grad():
        out, hidden = module(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    return out.numpy(), hidden


def _finals(finals, field=None):
    """Final states of a stack in PyTorch's order: layer by layer, forward then backward."""
    out = []
    for layer in finals:
        for s in (layer.fwd, layer.bwd) if isinstance(layer, Bidirectional) else (layer,):
            out.append(getattr(s, field) if field else s)
    return np.stack(out)


def torch_lstm_packed():
    import torch

    m = _torch_module(torch.nn.LSTM, num_layers=2, bidirectional=True)
    x = _torch_inputs(0)
    out, (h_n, c_n) = _torch_packed(m, x)
    finals, hs = stack(interop.from_torch_lstm(m), jnp.asarray(x.numpy()),
                       lengths=jnp.array(LENGTHS))  # fmt: skip
    return _err((hs, out), (_finals(finals, "h"), h_n), (_finals(finals, "C"), c_n))


def torch_lstm_export():
    import torch

    params = interop.from_torch_lstm(_torch_module(torch.nn.LSTM, num_layers=2, bidirectional=True))
    params = tuple(  # not merely the imported weights
        Bidirectional(l.fwd, l.bwd._replace(f=l.bwd.f._replace(b=l.bwd.f.b + 0.5))) for l in params
    )
    x = _torch_inputs(2)
    out, _ = _torch_packed(interop.to_torch_lstm(params), x)
    _, hs = stack(params, jnp.asarray(x.numpy()), lengths=jnp.array(LENGTHS))
    return _err((hs, out))


def torch_lstm_no_bias():
    import torch

    m = _torch_module(torch.nn.LSTM, bias=False)
    x = _torch_inputs(1)
    with torch.no_grad():
        out, (h_n, _) = m(x)
    finals, hs = stack(interop.from_torch_lstm(m), jnp.asarray(x.numpy()))
    return _err((hs, out.numpy()), (finals[0].h, h_n[0].numpy()))


def torch_rnn_linear():
    """Import (2 layers, bidirectional, packed lengths) and export (2 layers), with readout."""
    import torch

    torch.manual_seed(1)
    rnn = torch.nn.RNN(D_IN, D_H, num_layers=2, bidirectional=True, batch_first=True)
    linear = torch.nn.Linear(2 * D_H, D_OUT)
    x = _torch_inputs(3)
    out, h_n = _torch_packed(rnn, x)
    with torch.no_grad():
        logits = linear(torch.from_numpy(out)).numpy()
    finals, ours = stack(interop.from_torch_rnn(rnn, linear), jnp.asarray(x.numpy()),
                         lengths=jnp.array(LENGTHS))  # fmt: skip
    valid = np.arange(T)[None, :] < np.array(LENGTHS)[:, None]
    err = _err((np.asarray(ours)[valid], logits[valid]), (_finals(finals), h_n))
    torch.manual_seed(2)
    params = interop.from_torch_rnn(
        torch.nn.RNN(D_IN, D_H, num_layers=2, batch_first=True), torch.nn.Linear(D_H, D_OUT)
    )
    rnn2, linear2 = interop.to_torch_rnn(params)
    x = _torch_inputs(4)
    with torch.no_grad():
        logits = linear2(rnn2(x)[0]).numpy()
    return max(err, _err((stack(params, jnp.asarray(x.numpy()))[1], logits)))


def torch_gru_packed_float64():
    import torch

    with jax.enable_x64(True):
        m = _torch_module(torch.nn.GRU, torch.float64, num_layers=2, bidirectional=True)
        x = _torch_inputs(1, torch.float64)
        out, h_n = _torch_packed(m, x)
        finals, hs = stack(interop.from_torch_gru(m), jnp.asarray(x.numpy()),
                           lengths=jnp.array(LENGTHS))  # fmt: skip
        return _err((hs, out), (_finals(finals), h_n))


def torch_gru_no_bias_float64():
    import torch

    with jax.enable_x64(True):
        m = _torch_module(torch.nn.GRU, torch.float64, bias=False)
        x = _torch_inputs(2, torch.float64)
        with torch.no_grad():
            out, h_n = m(x)
        finals, hs = stack(interop.from_torch_gru(m), jnp.asarray(x.numpy()))
        return _err((hs, out.numpy()), (finals[0], h_n[0].numpy()))


def torch_gru_export():
    """A 2-layer bidirectional stack (perturbed) and a GRU without biases, exported."""
    import torch

    layers = interop.from_torch_gru(_torch_module(torch.nn.GRU, num_layers=2, bidirectional=True))
    layers = tuple(Bidirectional(l.fwd, l.bwd._replace(b_hn=l.bwd.b_hn + 0.5)) for l in layers)
    x = _torch_inputs(3)
    out, _ = _torch_packed(interop.to_torch_gru(layers), x)
    err = _err((stack(layers, jnp.asarray(x.numpy()), lengths=jnp.array(LENGTHS))[1], out))
    p = jaxrnn.init_gru_params(jax.random.key(0), D_IN, D_H)
    x = _torch_inputs(4)
    with torch.no_grad():
        out, _ = interop.to_torch_gru(p, bias=False)(x)
    return max(err, _err((jaxrnn.gru_scan(p, jnp.asarray(x.numpy()))[1], out.numpy())))


# ---- the JAX libraries: one cell, stepped over time --------------------------------------

XS = jax.random.normal(jax.random.key(0), (2, 4, 3))  # (B, T, d_in)
H0 = jax.random.normal(jax.random.key(1), (2, 5))  # d_h = 5
C0 = jax.random.normal(jax.random.key(12), (2, 5))


def _unroll(step, carry):
    """Another library's step ``(carry, x_t) -> (carry, y_t)`` over ``XS``."""
    carry, ys = jax.lax.scan(step, carry, jnp.moveaxis(XS, 1, 0))
    return carry, jnp.moveaxis(ys, 0, 1)


def _lstm_params(seed=2):
    return jaxrnn.init_lstm_params(jax.random.key(seed), 3, 5, b_init=BIAS)


def _gru_params(seed=2):
    return jaxrnn.init_gru_params(jax.random.key(seed), 3, 5, b_init=BIAS)


STATE0 = jaxrnn.LSTMState(h=H0, C=C0)


def _lstm(p):
    return jaxrnn.lstm_scan(p, XS, STATE0)


def _gru(p, reset_after=True):
    return jaxrnn.gru_scan(p, XS, H0, reset_after=reset_after)


def flax_lstm_cells():
    """``LSTMCell`` and ``OptimizedLSTMCell``, import and export."""
    import flax.linen as nn

    err = 0.0
    for cls in (nn.LSTMCell, nn.OptimizedLSTMCell):
        cell = cls(features=5, bias_init=BIAS)
        carry0 = interop.to_flax_carry(STATE0)
        variables = cell.init(jax.random.key(3), carry0, XS[:, 0])

        def run(v, cell=cell, carry0=carry0):
            return _unroll(lambda c, x: cell.apply(v, c, x), carry0)

        (carry, ys), (state_T, hs) = run(variables), _lstm(interop.from_flax_lstm_cell(variables))
        p = _lstm_params()
        exported = run(interop.to_flax_lstm_cell(p))[1]
        err = max(err, _err((hs, ys), (state_T.C, interop.from_flax_carry(carry).C),
                            (_lstm(p)[1], exported)))  # fmt: skip
    return err


def flax_simple_cell():
    import flax.linen as nn

    cell, dense = nn.SimpleCell(features=5, bias_init=BIAS), nn.Dense(2, bias_init=BIAS)
    cell_vars = cell.init(jax.random.key(4), H0, XS[:, 0])
    dense_vars = dense.init(jax.random.key(5), H0)

    def run(v):
        return _unroll(lambda c, x: cell.apply(v, c, x), H0)

    carry, ss = run(cell_vars)
    s_T, ours, logits = jaxrnn.rnn_scan(interop.from_flax_simple_cell(cell_vars, dense_vars),
                                        XS, H0)  # fmt: skip
    err = _err((ours, ss), (s_T, carry), (logits, dense.apply(dense_vars, ss)))
    p = jaxrnn.init_rnn_params(jax.random.key(6), 3, 5, 2, b_init=BIAS)
    cell_vars, dense_vars = interop.to_flax_simple_cell(p)
    exported = dense.apply(dense_vars, run(cell_vars)[1])
    return max(err, _err((jaxrnn.rnn_scan(p, XS, H0)[2], exported)))


def flax_gru_cell():
    import flax.linen as nn

    cell = nn.GRUCell(features=5, bias_init=BIAS)
    variables = cell.init(jax.random.key(3), H0, XS[:, 0])

    def run(v):
        return _unroll(lambda c, x: cell.apply(v, c, x), H0)

    (h_T, hs), (ref_T, ref) = _gru(interop.from_flax_gru_cell(variables)), run(variables)
    p = _gru_params()
    return _err((hs, ref), (h_T, ref_T), (_gru(p)[1], run(interop.to_flax_gru_cell(p))[1]))


def equinox_lstm_cell():
    import equinox as eqx

    cell = eqx.nn.LSTMCell(3, 5, key=jax.random.key(7))
    cell = eqx.tree_at(lambda c: c.bias, cell, BIAS(jax.random.key(8), (20,)))

    def run(cell):
        def step(carry, x_t):
            carry = jax.vmap(cell)(x_t, carry)  # Equinox's carry is (h, c)
            return carry, carry[0]

        return _unroll(step, (H0, C0))

    (_, c_T), ref = run(cell)
    state_T, hs = _lstm(interop.from_equinox_lstm_cell(cell))
    p = _lstm_params()
    exported = run(interop.to_equinox_lstm_cell(p))[1]
    return _err((hs, ref), (state_T.C, c_T), (_lstm(p)[1], exported))


def equinox_gru_cell():
    import equinox as eqx

    cell = eqx.nn.GRUCell(3, 5, key=jax.random.key(7))
    biases = (BIAS(jax.random.key(8), (15,)), BIAS(jax.random.key(9), (5,)))
    cell = eqx.tree_at(lambda c: (c.bias, c.bias_n), cell, biases)

    def run(cell):
        def step(h, x_t):
            h = jax.vmap(cell)(x_t, h)
            return h, h

        return _unroll(step, H0)

    (h_T, hs), (ref_T, ref) = _gru(interop.from_equinox_gru_cell(cell)), run(cell)
    p = _gru_params()
    exported = run(interop.to_equinox_gru_cell(p))[1]
    return _err((hs, ref), (h_T, ref_T), (_gru(p)[1], exported))


def _haiku(core_fn, carry, params, bias_path):
    """Haiku's ``dynamic_unroll`` of ``core_fn()``; new params (biases redrawn) if None."""
    import haiku as hk

    f = hk.without_apply_rng(hk.transform(lambda xs: hk.dynamic_unroll(core_fn(), xs, carry)))
    xs_time = jnp.moveaxis(XS, 1, 0)
    if params is None:
        params = jax.tree.map(lambda a: a, f.init(jax.random.key(9), xs_time))
        module, name = bias_path
        params[module][name] = BIAS(jax.random.key(10), params[module][name].shape)
    ys, carry_T = f.apply(params, xs_time)
    return params, jnp.moveaxis(ys, 0, 1), carry_T


def haiku_lstm():
    import haiku as hk

    def run(params):
        return _haiku(lambda: hk.LSTM(5), hk.LSTMState(hidden=H0, cell=C0), params,
                      ("lstm/linear", "b"))  # fmt: skip

    params, ys, state = run(None)
    state_T, hs = _lstm(interop.from_haiku_lstm(params))
    p = _lstm_params()
    return _err((hs, ys), (state_T.C, state.cell), (_lstm(p)[1], run(interop.to_haiku_lstm(p))[1]))


def haiku_gru():
    """Haiku's GRU is the ``reset_after=False`` one with its update gate negated."""
    import haiku as hk

    def run(params):
        return _haiku(lambda: hk.GRU(5), H0, params, ("gru", "b"))

    params, ys, ref_T = run(None)
    h_T, hs = _gru(interop.from_haiku_gru(params), reset_after=False)
    p = _gru_params()
    exported = run(interop.to_haiku_gru(p))[1]
    return _err((hs, ys), (h_T, ref_T), (_gru(p, reset_after=False)[1], exported))


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")  # read at keras's first import
    import keras

    keras.utils.set_random_seed(0)  # the kernels of the next layer built
    return keras


def _keras_layer(layer, n_bias_key=11):
    """``layer`` built (its kernels drawn by Keras, seeded by ``_keras``), biases redrawn."""
    layer.build(XS.shape)
    kernel, recurrent, bias = layer.get_weights()
    layer.set_weights([kernel, recurrent, np.asarray(BIAS(jax.random.key(n_bias_key), bias.shape))])
    return layer


def keras_lstm():
    keras = _keras()
    layer = _keras_layer(keras.layers.LSTM(5, return_sequences=True, return_state=True))
    init = [np.asarray(H0), np.asarray(C0)]
    ys, h_T, c_T = layer(np.asarray(XS), initial_state=init)
    state_T, hs = _lstm(interop.from_keras_lstm(layer))
    err = _err((hs, ys), (state_T.h, h_T), (state_T.C, c_T))
    p = _lstm_params()
    layer.set_weights(interop.to_keras_lstm(p))
    return max(err, _err((_lstm(p)[1], layer(np.asarray(XS), initial_state=init)[0])))


def _keras_gru(reset_after):
    keras = _keras()
    layer = _keras_layer(keras.layers.GRU(5, return_sequences=True, return_state=True,
                                          reset_after=reset_after))  # fmt: skip
    ys, ref_T = layer(np.asarray(XS), initial_state=[np.asarray(H0)])
    h_T, hs = _gru(interop.from_keras_gru(layer), reset_after=reset_after)
    err = _err((hs, ys), (h_T, ref_T))
    p = _gru_params()
    layer.set_weights(interop.to_keras_gru(p, reset_after=reset_after))
    ys = layer(np.asarray(XS), initial_state=[np.asarray(H0)])[0]
    return max(err, _err((_gru(p, reset_after=reset_after)[1], ys)))


def keras_gru():
    return _keras_gru(True)


def keras_gru_reset_before():
    return _keras_gru(False)


#: name -> (the package it needs, the comparison)
COMPARISONS: dict[str, tuple[str, Callable[[], float]]] = {
    "torch LSTM 2 layers bidirectional packed": ("torch", torch_lstm_packed),
    "torch LSTM export": ("torch", torch_lstm_export),
    "torch LSTM no bias": ("torch", torch_lstm_no_bias),
    "torch RNN + Linear": ("torch", torch_rnn_linear),
    "flax LSTMCell and OptimizedLSTMCell": ("flax", flax_lstm_cells),
    "flax SimpleCell + Dense": ("flax", flax_simple_cell),
    "equinox LSTMCell": ("equinox", equinox_lstm_cell),
    "haiku LSTM": ("haiku", haiku_lstm),
    "keras LSTM": ("keras", keras_lstm),
    "torch GRU 2 layers bidirectional packed float64": ("torch", torch_gru_packed_float64),
    "torch GRU no bias float64": ("torch", torch_gru_no_bias_float64),
    "torch GRU export": ("torch", torch_gru_export),
    "flax GRUCell": ("flax", flax_gru_cell),
    "equinox GRUCell": ("equinox", equinox_gru_cell),
    "haiku GRU": ("haiku", haiku_gru),
    "keras GRU": ("keras", keras_gru),
    "keras GRU reset_after=False": ("keras", keras_gru_reset_before),
}


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results, versions = [], {"jax": jax.__version__}
    for name, (package, compare) in COMPARISONS.items():
        entry = {"name": name, "peer": package}
        if importlib.util.find_spec(package) is None:
            entry["skipped"] = f"{package} is not installed"
            print(f"{'skipped':>9}  {name} ({package} is not installed)", flush=True)
        else:
            entry["max_abs_err"] = compare()
            versions[package] = importlib.import_module(package).__version__
            print(f"{entry['max_abs_err']:9.2e}  {name}", flush=True)
        results.append(entry)
    meta = {**versions, "machine": platform.machine(), "backend": jax.default_backend(),
            "wall_s": time.perf_counter() - t0}  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"wrote {out}/accuracy.json in {meta['wall_s']:.0f} s")
    return results


if __name__ == "__main__":
    main()
