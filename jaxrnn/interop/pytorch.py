r"""PyTorch ``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` (any ``num_layers``, bidirectional), ``nn.Linear``.

PyTorch stores ``weight_ih_l{k}`` as ``(4 d_h, d_in)`` with gates in the order
``i, f, g, o`` (``g`` is our candidate ``c``), the same ``(out, in)`` layout as jaxrnn,
and two biases ``b_ih`` and ``b_hh`` that only ever appear summed. Import merges them
(``b = b_ih + b_hh``); export puts the whole bias in ``b_ih`` and zeros in ``b_hh``, so
a round trip is exact.

For ``nn.GRU``, PyTorch stores ``weight_ih_l{k}`` as ``(3 d_h, d_in)`` and ``weight_hh_l{k}`` as
``(3 d_h, d_h)``, gates in the order ``r, z, n``, and two biases ``b_ih``, ``b_hh``.
Its equations are jaxrnn's with ``reset_after=True``:
:math:`n_t = \tanh(W_{in} x_t + b_{in} + r_t (W_{hn} h_{t-1} + b_{hn}))`. Import
merges the two biases of ``r`` and ``z`` (they only appear summed) and keeps
``b_hn`` apart; export writes ``b_ih = [b_r, b_z, b_n]`` and ``b_hh = [0, 0, b_hn]``,
so a round trip is exact.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.gru import GRU_CELL
from jaxrnn.cells.lstm import LSTM_CELL
from jaxrnn.cells.rnn import RNN_CELL, RNNParams
from jaxrnn.interop._fused import from_fused, from_fused_gru, to_fused, to_fused_gru, to_jax
from jaxrnn.layers import Bidirectional


def _suffixes(module: Any) -> tuple[str, ...]:
    return ("", "_reverse") if module.bidirectional else ("",)


def _bias(module: Any, name: str, rows: int) -> np.ndarray:
    if not module.bias:
        return np.zeros(rows, np.float32)
    return (
        getattr(module, f"bias_ih_{name}").detach().cpu().numpy()
        + getattr(module, f"bias_hh_{name}").detach().cpu().numpy()
    )


def _check_module(module: Any, kind: str, where: str) -> None:
    if type(module).__name__ != kind or not hasattr(module, "num_layers"):
        hint = "; convert a GRU with from_torch_gru" if type(module).__name__ == "GRU" else ""
        raise TypeError(f"{where}: expected a torch.nn.{kind}, got {type(module).__name__}{hint}")
    if getattr(module, "proj_size", 0) > 0:
        raise ValueError(
            f"{where}: expected proj_size=0, got proj_size={module.proj_size}; an LSTM with "
            "projections (h_t = W_hr (o_t * tanh(C_t))) cannot be represented by LSTMParams"
        )


def from_torch_lstm(module: Any) -> tuple[Any, ...]:
    """Convert a ``torch.nn.LSTM`` to a jaxrnn stack (see :func:`jaxrnn.layers.stack`).

    Args:
        module: ``torch.nn.LSTM`` with any ``num_layers``, ``bidirectional``, ``bias``,
            ``batch_first`` (a data layout only); ``proj_size`` must be 0.

    Returns:
        A tuple with one ``LSTMParams`` per layer, or ``Bidirectional(fwd, bwd)`` pairs
        when ``module.bidirectional``; run it with ``stack(params, xs, merge="concat")``.

    Raises:
        TypeError: not an ``nn.LSTM`` (an ``nn.GRU`` goes to :func:`from_torch_gru`).
        ValueError: ``proj_size > 0``.
    """
    where = "from_torch_lstm"
    _check_module(module, "LSTM", where)
    layers = []
    for k in range(module.num_layers):
        dirs = []
        for sfx in _suffixes(module):
            name = f"l{k}{sfx}"
            Wx = getattr(module, f"weight_ih_{name}")
            b = _bias(module, name, Wx.shape[0])
            dirs.append(from_fused(Wx, getattr(module, f"weight_hh_{name}"), b, "ifgo", where))
        layers.append(Bidirectional(*dirs) if module.bidirectional else dirs[0])
    return tuple(layers)


def _directions(layer: Any) -> tuple[Any, ...]:
    return (layer.fwd, layer.bwd) if isinstance(layer, Bidirectional) else (layer,)


def _new_module(kind: str, params: tuple[Any, ...], d_in: int, d_h: int, where: str) -> Any:
    import torch  # only the export needs torch

    bidirectional = isinstance(params[0], Bidirectional)
    if any(isinstance(p, Bidirectional) != bidirectional for p in params):
        raise ValueError(f"{where}: expected every layer to be (or none to be) Bidirectional")
    cls = torch.nn.LSTM if kind == "LSTM" else torch.nn.RNN
    return cls(d_in, d_h, num_layers=len(params), bidirectional=bidirectional, batch_first=True)


def _load(module: Any, tensors: dict[str, np.ndarray]) -> Any:
    import torch

    state = {k: torch.from_numpy(np.array(v, np.float32)) for k, v in tensors.items()}
    module.load_state_dict(state, strict=True)
    return module


def to_torch_lstm(params: Any) -> Any:
    """Build a ``torch.nn.LSTM`` (``batch_first=True``, float32) from a jaxrnn stack.

    ``bias_ih`` receives the whole bias ``b_g`` and ``bias_hh`` zeros.

    Args:
        params: one ``LSTMParams`` / ``Bidirectional`` layer or a tuple of them, either
            all bidirectional or none, with matching sizes (``d_in`` of layer ``k + 1``
            equal to the output size of layer ``k``, concatenated when bidirectional).

    Returns:
        The ``torch.nn.LSTM``.
    """
    where = "to_torch_lstm"
    params = params if isinstance(params, tuple) and not hasattr(params, "_fields") else (params,)
    first = _directions(params[0])[0]
    d_in, d_h = (LSTM_CELL.check(first, where)[k] for k in ("d_in", "d_h"))
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(params):
        for sfx, p in zip(("", "_reverse"), _directions(layer)):
            Wx, Wh, b = to_fused(p, "ifgo", where)
            tensors |= {
                f"weight_ih_l{k}{sfx}": Wx,
                f"weight_hh_l{k}{sfx}": Wh,
                f"bias_ih_l{k}{sfx}": b,
                f"bias_hh_l{k}{sfx}": np.zeros_like(b),
            }
    return _load(_new_module("LSTM", params, d_in, d_h, where), tensors)


def from_torch_rnn(module: Any, linear: Any = None) -> tuple[Any, ...]:
    """Convert a ``torch.nn.RNN`` (tanh) and an optional ``nn.Linear`` readout to a stack.

    Args:
        module: ``torch.nn.RNN`` with ``nonlinearity="tanh"``, any ``num_layers``,
            ``bidirectional``, ``bias``.
        linear: optional ``torch.nn.Linear(d_h, d_out)`` (``2 d_h`` inputs when
            bidirectional) applied to the top layer's output: it becomes the top layer's
            ``V, b_o``. For a bidirectional top layer ``V`` is split into the forward and
            backward halves and ``b_o`` goes to the forward direction (``stack`` sums
            the two directions' logits), so the logits equal ``linear(concat(h_fwd, h_bwd))``.

    Returns:
        A tuple of ``RNNParams`` (or ``Bidirectional`` pairs); lower layers, and the top
        one without ``linear``, have no readout (``V`` of shape ``(0, d_h)``).

    Raises:
        TypeError: not an ``nn.RNN``.
        ValueError: ``nonlinearity="relu"`` or a ``linear`` of the wrong size.
    """
    where = "from_torch_rnn"
    _check_module(module, "RNN", where)
    if module.nonlinearity != "tanh":
        raise ValueError(f"{where}: expected nonlinearity='tanh', got {module.nonlinearity!r}")
    d_h = module.hidden_size
    n_dirs = 2 if module.bidirectional else 1
    if linear is not None and tuple(linear.weight.shape[1:]) != (n_dirs * d_h,):
        raise ValueError(
            f"{where}: expected linear.in_features={n_dirs * d_h} (the top layer's output), "
            f"got {linear.weight.shape[1]}"
        )
    layers = []
    for k in range(module.num_layers):
        dirs = []
        for j, sfx in enumerate(_suffixes(module)):
            name = f"l{k}{sfx}"
            U = to_jax(getattr(module, f"weight_ih_{name}"))
            if linear is not None and k == module.num_layers - 1:
                V = to_jax(linear.weight)[:, j * d_h : (j + 1) * d_h]
                has_bias = linear.bias is not None and j == 0
                b_o = to_jax(linear.bias) if has_bias else jnp.zeros(V.shape[:1], V.dtype)
            else:
                V, b_o = jnp.zeros((0, d_h), U.dtype), jnp.zeros((0,), U.dtype)
            b_s = to_jax(_bias(module, name, d_h))
            W = to_jax(getattr(module, f"weight_hh_{name}"))
            dirs.append(RNNParams(U=U, W=W, V=V, b_s=b_s, b_o=b_o))
        layers.append(Bidirectional(*dirs) if module.bidirectional else dirs[0])
    return tuple(layers)


def to_torch_rnn(params: Any) -> tuple[Any, Any]:
    """Build ``(torch.nn.RNN, torch.nn.Linear or None)`` from a jaxrnn RNN stack.

    The ``Linear`` carries the top layer's readout (``None`` when it has ``d_out = 0``);
    for a bidirectional top layer its weight is ``[V_fwd, V_bwd]`` and its bias
    ``b_o^{fwd} + b_o^{bwd}``, the readout :func:`jaxrnn.layers.stack` applies. Lower layers'
    readouts are not represented and must have ``d_out = 0``.
    """
    import torch

    where = "to_torch_rnn"
    params = params if isinstance(params, tuple) and not hasattr(params, "_fields") else (params,)
    first = _directions(params[0])[0]
    d_in, d_h = (RNN_CELL.check(first, where)[k] for k in ("d_in", "d_h"))
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(params):
        for sfx, p in zip(("", "_reverse"), _directions(layer)):
            RNN_CELL.check(p, where)
            if k < len(params) - 1 and p.V.shape[0]:
                raise ValueError(
                    f"{where}: expected lower layers without readout (V of shape (0, d_h), "
                    f"see jaxrnn.without_readout), got V {tuple(p.V.shape)} in layer {k}"
                )
            tensors |= {
                f"weight_ih_l{k}{sfx}": np.asarray(p.U),
                f"weight_hh_l{k}{sfx}": np.asarray(p.W),
                f"bias_ih_l{k}{sfx}": np.asarray(p.b_s),
                f"bias_hh_l{k}{sfx}": np.zeros_like(np.asarray(p.b_s)),
            }
    rnn = _load(_new_module("RNN", params, d_in, d_h, where), tensors)
    top = _directions(params[-1])
    d_out = top[0].V.shape[0]
    if d_out == 0:
        return rnn, None
    linear = torch.nn.Linear(len(top) * d_h, d_out)
    weight = np.concatenate([np.asarray(p.V) for p in top], axis=1)
    bias = np.sum([np.asarray(p.b_o) for p in top], axis=0)
    return rnn, _load(linear, {"weight": weight, "bias": bias})


# --- nn.GRU ----------------------------------------------------------------------------------

GRU_ORDER = "rzn"  # PyTorch's gate order


def from_torch_gru(module: Any) -> tuple[Any, ...]:
    """Convert a ``torch.nn.GRU`` to a jaxrnn stack of ``GRUParams``.

    Args:
        module: ``torch.nn.GRU`` with any ``num_layers``, ``bidirectional``, ``bias``,
            ``batch_first`` (a data layout only).

    Returns:
        A tuple with one ``GRUParams`` per layer, or ``Bidirectional(fwd, bwd)`` pairs
        when ``module.bidirectional``; run each with ``reset_after=True`` (the default),
        e.g. ``stack(params, xs, merge="concat")``.

    Raises:
        TypeError: not an ``nn.GRU``.

    Example:
        >>> import pytest
        >>> torch = pytest.importorskip("torch")
        >>> from jaxrnn.interop import from_torch_gru
        >>> layers = from_torch_gru(torch.nn.GRU(3, 4, num_layers=2))
        >>> len(layers), layers[1].z.U.shape
        (2, (4, 4))
    """
    where = "from_torch_gru"
    if type(module).__name__ != "GRU" or not hasattr(module, "num_layers"):
        raise TypeError(f"{where}: expected a torch.nn.GRU, got {type(module).__name__}")
    layers = []
    for k in range(module.num_layers):
        dirs = []
        for sfx in _suffixes(module):
            name = f"l{k}{sfx}"
            tensors = [getattr(module, f"{w}_{name}") for w in ("weight_ih", "weight_hh")]
            biases = [getattr(module, f"{w}_{name}") if module.bias else None
                      for w in ("bias_ih", "bias_hh")]  # fmt: skip
            (Wx, Wh), (b_x, b_h) = tensors, biases
            dirs.append(from_fused_gru(Wx, Wh, b_x, b_h, GRU_ORDER, where))
        layers.append(Bidirectional(*dirs) if module.bidirectional else dirs[0])
    return tuple(layers)


def to_torch_gru(params: Any, *, bias: bool = True) -> Any:
    """Build a ``torch.nn.GRU`` (``batch_first=True``, float32) from a jaxrnn GRU stack.

    Args:
        params: one ``GRUParams`` / ``Bidirectional`` layer or a tuple of them, either all
            bidirectional or none, with matching sizes; they must be meant for
            ``reset_after=True`` (PyTorch has no other variant).
        bias: build the module with biases (default). With ``bias=False`` every bias of
            ``params`` must be zero.

    Returns:
        The ``torch.nn.GRU``.

    Raises:
        ValueError: mixed bidirectional and plain layers, or non-zero biases with
            ``bias=False``.
    """
    import torch  # only the export needs torch

    where = "to_torch_gru"
    params = params if isinstance(params, tuple) and not hasattr(params, "_fields") else (params,)
    bidirectional = isinstance(params[0], Bidirectional)
    if any(isinstance(p, Bidirectional) != bidirectional for p in params):
        raise ValueError(f"{where}: expected every layer to be (or none to be) Bidirectional")
    d_in, d_h = (GRU_CELL.check(_directions(params[0])[0], where)[k] for k in ("d_in", "d_h"))
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(params):
        for sfx, p in zip(("", "_reverse"), _directions(layer)):
            Wx, Wh, b_x, b_h = to_fused_gru(p, GRU_ORDER, where)
            tensors |= {f"weight_ih_l{k}{sfx}": Wx, f"weight_hh_l{k}{sfx}": Wh}
            if bias:
                tensors |= {f"bias_ih_l{k}{sfx}": b_x, f"bias_hh_l{k}{sfx}": b_h}
            elif np.any(b_x) or np.any(b_h):
                raise ValueError(
                    f"{where}: expected zero biases with bias=False, got non-zero biases in "
                    f"layer {k}{sfx}"
                )
    module = torch.nn.GRU(
        d_in, d_h, num_layers=len(params), bias=bias, bidirectional=bidirectional,
        batch_first=True,
    )  # fmt: skip
    return _load(module, tensors)


__all__ = [
    "from_torch_gru",
    "from_torch_lstm",
    "from_torch_rnn",
    "to_torch_gru",
    "to_torch_lstm",
    "to_torch_rnn",
]
