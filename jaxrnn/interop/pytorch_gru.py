r"""PyTorch ``nn.GRU`` (any ``num_layers``, bidirectional, with or without bias).

PyTorch stores ``weight_ih_l{k}`` as ``(3 d_h, d_in)`` and ``weight_hh_l{k}`` as
``(3 d_h, d_h)``, gates in the order ``r, z, n``, and two biases ``b_ih``, ``b_hh``.
Its equations are jaxrnn's with ``reset_after=True``:
:math:`n_t = \tanh(W_{in} x_t + b_{in} + r_t (W_{hn} h_{t-1} + b_{hn}))`. Import
merges the two biases of ``r`` and ``z`` (they only appear summed) and keeps
``b_hn`` apart; export writes ``b_ih = [b_r, b_z, b_n]`` and ``b_hh = [0, 0, b_hn]``,
so a round trip is exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxrnn import _checks
from jaxrnn.interop._fused import from_fused_gru, to_fused_gru
from jaxrnn.interop.pytorch import _directions, _load, _suffixes
from jaxrnn.layer_params import Bidirectional

ORDER = "rzn"  # PyTorch's gate order


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
            dirs.append(from_fused_gru(Wx, Wh, b_x, b_h, ORDER, where))
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
    d_in, d_h = _checks.check_gru_params(_directions(params[0])[0], where)
    tensors: dict[str, np.ndarray] = {}
    for k, layer in enumerate(params):
        for sfx, p in zip(("", "_reverse"), _directions(layer)):
            Wx, Wh, b_x, b_h = to_fused_gru(p, ORDER, where)
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


__all__ = ["from_torch_gru", "to_torch_gru"]
