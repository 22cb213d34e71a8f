"""Equinox ``nn.LSTMCell`` / ``nn.GRUCell`` and Haiku ``LSTM`` / ``GRU``.

Equinox stores ``weight_ih (4 d_h, d_in)``, ``weight_hh (4 d_h, d_h)`` and one ``bias``,
gates ``i, f, g, o``, carry ``(h, c)``. Haiku's ``LSTM`` applies one ``Linear`` to
``[x_t; h_{t-1}]`` (``w`` of shape ``(d_in + d_h, 4 d_h)``, gates ``i, g, f, o``) and adds a
fixed ``+1`` to the forget gate in its forward pass; the converters fold it into
``f.b``: ``b_f(jaxrnn) = b_f(Haiku) + 1``. Float32 rounding of that addition makes a
Haiku round trip exact only to ``2**-24`` absolute.

Equinox's ``GRUCell`` is jaxrnn's GRU with ``reset_after=True``: ``weight_ih (3 d_h,
d_in)``, ``weight_hh (3 d_h, d_h)``, gates ``r, z, n``, ``bias`` on the input side and
``bias_n`` = ``b_hn``. Haiku's ``GRU`` is the ``reset_after=False`` GRU, with ``w_i (d_in,
3 d_h)``, ``w_h (d_h, 3 d_h)``, ``b (3 d_h,)`` in the order ``z, r, a``, but its update
gate weighs the candidate: ``h_t = (1 - z^{hk}_t) h_{t-1} + z^{hk}_t a_t``, where jaxrnn
has ``h_t = (1 - z_t) n_t + z_t h_{t-1}``. So ``z_t = 1 - z^{hk}_t = sigmoid(-pre^{hk}_z)``:
the converters negate ``U_z``, ``W_z`` and ``b_z`` (negation is exact in floating point);
``r``, ``a = n`` map as they are, and ``b_hn`` is folded into Haiku's ``b_a``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.gru import GRU_CELL, GRUParams
from jaxrnn.cells.lstm import LSTMParams
from jaxrnn.interop._fused import from_fused, from_fused_gru, to_fused, to_fused_gru, to_jax

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
            f"{where}: expected Haiku LSTM parameters, got a GRU ({names}); convert it "
            "with from_haiku_gru"
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


def from_equinox_gru_cell(cell: Any) -> GRUParams:
    """Convert an ``equinox.nn.GRUCell`` (with or without bias); run with ``reset_after=True``."""
    where = "from_equinox_gru_cell"
    if type(cell).__name__ != "GRUCell" or not hasattr(cell, "weight_ih"):
        raise TypeError(f"{where}: expected an equinox.nn.GRUCell, got {type(cell).__name__}")
    p = from_fused_gru(cell.weight_ih, cell.weight_hh, cell.bias, None, "rzn", where)
    return p._replace(b_hn=to_jax(cell.bias_n)) if cell.use_bias else p


def to_equinox_gru_cell(params: GRUParams) -> Any:
    """Build an ``equinox.nn.GRUCell`` (``use_bias=True``) holding ``params``
    (``reset_after=True``)."""
    import equinox as eqx  # only the export needs equinox
    import jax

    Wx, Wh, b_x, _ = to_fused_gru(params, "rzn", "to_equinox_gru_cell")
    d_h, d_in = params.z.U.shape
    cell = eqx.nn.GRUCell(d_in, d_h, dtype=params.z.U.dtype, key=jax.random.key(0))
    new = tuple(jnp.asarray(a) for a in (Wx, Wh, b_x, params.b_hn))
    return eqx.tree_at(lambda c: (c.weight_ih, c.weight_hh, c.bias, c.bias_n), cell, new)


def _haiku_gru(params: Any, where: str) -> dict[str, Any]:
    names = list(params) if hasattr(params, "keys") else []
    if set(names) == {"w_i", "w_h", "b"}:
        return params
    found = [
        n for n in names if hasattr(params[n], "keys") and set(params[n]) == {"w_i", "w_h", "b"}
    ]
    if len(found) != 1:
        raise ValueError(
            f"{where}: expected the parameters of one hk.GRU ({{'gru': {{'w_i', 'w_h', 'b'}}}}), "
            f"got modules {names}"
        )
    return params[found[0]]


def from_haiku_gru(params: Any) -> GRUParams:
    """Convert the parameters of a ``haiku.GRU``; run the result with ``reset_after=False``.

    Haiku's update gate weighs the candidate, jaxrnn's the old state, so ``U_z``, ``W_z``
    and ``b_z`` are negated: ``sigmoid(-x) = 1 - sigmoid(x)`` (see the module doc).

    Args:
        params: ``{"gru": {"w_i": (d_in, 3 d_h), "w_h": (d_h, 3 d_h), "b": (3 d_h,)}}`` as
            ``hk.transform(...).init`` returns (any module name), or the inner dict.

    Returns:
        ``GRUParams`` with ``b_hn = 0``.

    Raises:
        ValueError: parameters that are not one Haiku GRU's.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxrnn.interop import from_haiku_gru
        >>> w = {"w_i": jnp.ones((3, 12)), "w_h": jnp.ones((4, 12)), "b": jnp.ones(12)}
        >>> p = from_haiku_gru({"gru": w})
        >>> p.z.U[0, 0].item(), p.r.U[0, 0].item(), p.z.b[0].item()
        (-1.0, 1.0, -1.0)
    """
    where = "from_haiku_gru"
    hk = _haiku_gru(params, where)
    w_i, w_h, b = to_jax(hk["w_i"]), to_jax(hk["w_h"]), to_jax(hk["b"])
    if w_i.ndim != 2 or w_i.shape[1] % 3:
        raise ValueError(f"{where}: expected w_i of shape (d_in, 3 d_h), got {tuple(w_i.shape)}")
    d_h = w_i.shape[1] // 3
    sign = jnp.concatenate([-jnp.ones(d_h, w_i.dtype), jnp.ones(2 * d_h, w_i.dtype)])  # -z, r, a
    return from_fused_gru(
        w_i.T * sign[:, None], w_h.T * sign[:, None], b * sign, None, "zrn", where
    )


def to_haiku_gru(params: GRUParams, name: str = "gru") -> dict[str, dict[str, Any]]:
    """Parameters ``{name: {"w_i", "w_h", "b"}}`` for ``haiku.GRU(d_h, name=name)``.

    ``params`` must be meant for ``reset_after=False`` (Haiku's only variant); ``b_hn``
    is added to the candidate's bias and ``z`` is negated (see the module doc).
    """
    GRU_CELL.check(params, "to_haiku_gru")
    neg = params._replace(z=params.z._replace(U=-params.z.U, W=-params.z.W, b=-params.z.b))
    Wx, Wh, b_x, b_h = to_fused_gru(neg, "zrn", "to_haiku_gru")
    b = b_x + b_h  # b_h is b_hn in the candidate's rows
    return {name: {"w_i": jnp.asarray(Wx.T), "w_h": jnp.asarray(Wh.T), "b": jnp.asarray(b)}}


__all__ = [
    "HAIKU_FORGET_BIAS",
    "from_equinox_gru_cell",
    "from_equinox_lstm_cell",
    "from_haiku_gru",
    "from_haiku_lstm",
    "to_equinox_gru_cell",
    "to_equinox_lstm_cell",
    "to_haiku_gru",
    "to_haiku_lstm",
]
