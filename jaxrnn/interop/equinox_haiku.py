"""Equinox ``nn.LSTMCell`` and Haiku ``LSTM``.

Equinox stores ``weight_ih (4 d_h, d_in)``, ``weight_hh (4 d_h, d_h)`` and one ``bias``,
gates ``i, f, g, o``, carry ``(h, c)``. Haiku's ``LSTM`` applies one ``Linear`` to
``[x_t; h_{t-1}]`` (``w`` of shape ``(d_in + d_h, 4 d_h)``, gates ``i, g, f, o``) and adds a
fixed ``+1`` to the forget gate in its forward pass; the converters fold it into
``f.b``: ``b_f(jaxrnn) = b_f(Haiku) + 1``. Float32 rounding of that addition makes a
Haiku round trip exact only to ``2**-24`` absolute.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.interop._fused import from_fused, to_fused, to_jax
from jaxrnn.params import LSTMParams

HAIKU_FORGET_BIAS = 1.0
"""The constant Haiku's ``LSTM`` adds to the forget gate's pre-activation."""


def from_equinox_lstm_cell(cell: Any) -> LSTMParams:
    """Convert an ``equinox.nn.LSTMCell`` (with or without bias) to ``LSTMParams``."""
    where = "from_equinox_lstm_cell"
    if type(cell).__name__ != "LSTMCell" or not hasattr(cell, "weight_ih"):
        raise TypeError(f"{where}: expected an equinox.nn.LSTMCell, got {type(cell).__name__}")
    b = cell.bias if cell.use_bias else jnp.zeros(cell.weight_ih.shape[0], cell.weight_ih.dtype)
    return from_fused(cell.weight_ih, cell.weight_hh, b, "ifgo", where)


def to_equinox_lstm_cell(params: LSTMParams) -> Any:
    """Build an ``equinox.nn.LSTMCell`` (``use_bias=True``) holding ``params``."""
    import equinox as eqx  # only the export needs equinox
    import jax

    Wx, Wh, b = to_fused(params, "ifgo", "to_equinox_lstm_cell")
    d_h, d_in = params.f.U.shape
    cell = eqx.nn.LSTMCell(d_in, d_h, dtype=params.f.U.dtype, key=jax.random.key(0))
    return eqx.tree_at(
        lambda c: (c.weight_ih, c.weight_hh, c.bias),
        cell,
        (jnp.asarray(Wx), jnp.asarray(Wh), jnp.asarray(b)),
    )


def _haiku_linear(params: Any, where: str) -> dict[str, Any]:
    names = list(params) if hasattr(params, "keys") else []
    if any("gru" in n.split("/")[0] for n in names):
        raise ValueError(
            f"{where}: expected Haiku LSTM parameters, got a GRU ({names}); a GRU has no "
            "jaxrnn equivalent"
        )
    if set(names) == {"w", "b"}:
        return params
    linear = [n for n in names if n.endswith("/linear") and set(params[n]) == {"w", "b"}]
    if len(linear) != 1:
        raise ValueError(
            f"{where}: expected the parameters of one hk.LSTM ({{'lstm/linear': {{'w', 'b'}}}}), "
            f"got modules {names}"
        )
    return params[linear[0]]


def from_haiku_lstm(params: Any) -> LSTMParams:
    """Convert the parameters of a ``haiku.LSTM`` to ``LSTMParams``.

    Args:
        params: ``{"lstm/linear": {"w": (d_in + d_h, 4 d_h), "b": (4 d_h,)}}`` as
            ``hk.transform(...).init`` returns (any module prefix), or the inner dict.

    Returns:
        ``LSTMParams`` with ``f.b`` including Haiku's fixed ``+1``.

    Raises:
        ValueError: GRU or other non-LSTM parameters.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxrnn.interop import from_haiku_lstm
        >>> hk_params = {"lstm/linear": {"w": jnp.zeros((3 + 4, 16)), "b": jnp.zeros(16)}}
        >>> p = from_haiku_lstm(hk_params)
        >>> p.f.U.shape, p.f.b.tolist(), p.i.b.tolist()
        ((4, 3), [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    """
    where = "from_haiku_lstm"
    linear = _haiku_linear(params, where)
    w, b = to_jax(linear["w"]), to_jax(linear["b"])
    d_h = w.shape[1] // 4
    d_in = w.shape[0] - d_h
    if w.shape[1] % 4 or d_in <= 0 or b.shape != (4 * d_h,):
        raise ValueError(
            f"{where}: expected w of shape (d_in + d_h, 4 d_h) and b (4 d_h,), "
            f"got {tuple(w.shape)} and {tuple(b.shape)}"
        )
    p = from_fused(w[:d_in].T, w[d_in:].T, b, "igfo", where)
    return p._replace(f=p.f._replace(b=p.f.b + jnp.asarray(HAIKU_FORGET_BIAS, b.dtype)))


def to_haiku_lstm(params: LSTMParams, name: str = "lstm") -> dict[str, dict[str, Any]]:
    """Parameters ``{f"{name}/linear": {"w", "b"}}`` for ``haiku.LSTM(d_h, name=name)``."""
    Wx, Wh, b = to_fused(params, "igfo", "to_haiku_lstm")
    d_h = params.f.W.shape[0]
    b = b.copy()
    b[2 * d_h : 3 * d_h] -= np.asarray(HAIKU_FORGET_BIAS, b.dtype)  # gate order i, g, f, o
    w = np.concatenate([Wx.T, Wh.T], axis=0)
    return {f"{name}/linear": {"w": jnp.asarray(w), "b": jnp.asarray(b)}}


__all__ = [
    "HAIKU_FORGET_BIAS",
    "from_equinox_lstm_cell",
    "from_haiku_lstm",
    "to_equinox_lstm_cell",
    "to_haiku_lstm",
]
