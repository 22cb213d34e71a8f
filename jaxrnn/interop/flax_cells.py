"""Flax Linen cells: ``LSTMCell``, ``OptimizedLSTMCell``, ``GRUCell`` and ``SimpleCell``.

Flax stores ``Dense`` kernels ``(in, out)``; jaxrnn stores ``(out, in)``, so every matrix is
transposed. The LSTM cells keep one ``Dense`` per gate, named ``i{g}`` (input, no bias)
and ``h{g}`` (recurrent, with bias) for ``g`` in ``i, f, g, o``; ``OptimizedLSTMCell``
uses the same names. ``GRUCell`` has ``i{g}`` (input, with bias) and ``h{g}`` (recurrent,
no bias except ``hn``) for ``g`` in ``r, z, n``: its equations are jaxrnn's with
``reset_after=True``, ``b_hn = hn.bias``. Flax's LSTM carry is ``(c, h)``: see
:func:`to_flax_carry`. No Flax import is needed: the converters read and write plain dicts
of arrays.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from jaxrnn.cells.gru import GRU_CELL, GRUParams
from jaxrnn.cells.lstm import LSTM_CELL, LSTMParams, LSTMState
from jaxrnn.cells.rnn import RNN_CELL, RNNParams
from jaxrnn.interop._fused import FIELD, to_jax
from jaxrnn.params import Gate


def _unwrap(variables: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    p = variables.get("params", variables) if hasattr(variables, "get") else None
    if p is None or not all(k in p for k in keys):
        got = sorted(p) if p is not None else type(variables).__name__
        raise ValueError(f"{where}: expected Flax variables with the modules {keys}, got {got}")
    return p


def from_flax_lstm_cell(variables: Any) -> LSTMParams:
    """Convert the variables of a ``flax.linen.LSTMCell`` or ``OptimizedLSTMCell``.

    The cells must use their default activations (sigmoid gates, tanh).

    Args:
        variables: ``cell.init(...)`` output, or its ``"params"`` entry.

    Returns:
        ``LSTMParams`` with ``U_g = ii.kernel^T``, ``W_g = hi.kernel^T``, ``b_g = hi.bias``.
    """
    where = "from_flax_lstm_cell"
    p = _unwrap(variables, tuple(f"{s}{g}" for s in "ih" for g in "ifgo"), where)
    return LSTMParams(
        **{
            FIELD[g]: Gate(
                U=to_jax(p[f"i{g}"]["kernel"]).T,
                W=to_jax(p[f"h{g}"]["kernel"]).T,
                b=to_jax(p[f"h{g}"]["bias"]),
            )
            for g in "ifgo"
        }
    )


def to_flax_lstm_cell(params: LSTMParams) -> dict[str, Any]:
    """Variables ``{"params": ...}`` for ``LSTMCell(d_h)`` or ``OptimizedLSTMCell(d_h)``.

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import from_flax_lstm_cell, to_flax_lstm_cell
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> v = to_flax_lstm_cell(p)
        >>> v["params"]["ig"]["kernel"].shape, bool((v["params"]["hf"]["bias"] == 1).all())
        ((3, 4), True)
        >>> bool((from_flax_lstm_cell(v).c.W == p.c.W).all())
        True
    """
    LSTM_CELL.check(params, "to_flax_lstm_cell")
    p = {}
    for g in "ifgo":
        gate = getattr(params, FIELD[g])
        p[f"i{g}"] = {"kernel": gate.U.T}
        p[f"h{g}"] = {"kernel": gate.W.T, "bias": gate.b}
    return {"params": p}


def from_flax_gru_cell(variables: Any) -> GRUParams:
    """Convert the variables of a ``flax.linen.GRUCell`` (default activations).

    Args:
        variables: ``cell.init(...)`` output, or its ``"params"`` entry.

    Returns:
        ``GRUParams`` with ``U_g = i{g}.kernel^T``, ``W_g = h{g}.kernel^T``,
        ``b_g = i{g}.bias`` and ``b_hn = hn.bias``; run it with ``reset_after=True``.
    """
    p = _unwrap(variables, tuple(f"{s}{g}" for s in "ih" for g in "rzn"), "from_flax_gru_cell")
    gates = {
        g: Gate(
            U=to_jax(p[f"i{g}"]["kernel"]).T,
            W=to_jax(p[f"h{g}"]["kernel"]).T,
            b=to_jax(p[f"i{g}"]["bias"]),
        )
        for g in "rzn"
    }
    return GRUParams(**gates, b_hn=to_jax(p["hn"]["bias"]))


def to_flax_gru_cell(params: GRUParams) -> dict[str, Any]:
    """Variables ``{"params": ...}`` for ``flax.linen.GRUCell(d_h)`` (``reset_after=True``).

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import from_flax_gru_cell, to_flax_gru_cell
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> v = to_flax_gru_cell(p)
        >>> v["params"]["iz"]["kernel"].shape, sorted(v["params"]["hn"])
        ((3, 4), ['bias', 'kernel'])
        >>> bool((from_flax_gru_cell(v).n.W == p.n.W).all())
        True
    """
    GRU_CELL.check(params, "to_flax_gru_cell")
    p = {}
    for g in "rzn":
        gate = getattr(params, g)
        p[f"i{g}"] = {"kernel": gate.U.T, "bias": gate.b}
        p[f"h{g}"] = {"kernel": gate.W.T}
    p["hn"]["bias"] = params.b_hn
    return {"params": p}


def to_flax_carry(state: LSTMState) -> tuple[Any, Any]:
    """``LSTMState(h, C)`` -> Flax's carry ``(c, h)``."""
    return state.C, state.h


def from_flax_carry(carry: tuple[Any, Any]) -> LSTMState:
    """Flax's carry ``(c, h)`` -> ``LSTMState(h, C)``."""
    c, h = carry
    return LSTMState(h=h, C=c)


def from_flax_simple_cell(variables: Any, readout: Any = None) -> RNNParams:
    """Convert a ``flax.linen.SimpleCell`` (tanh, ``residual=False``) and a ``Dense`` readout.

    Args:
        variables: the cell's variables (``i``: kernel and bias, ``h``: kernel).
        readout: optional variables of a ``flax.linen.Dense(d_out)`` applied to ``s_t``;
            without it the result has no readout (``V`` of shape ``(0, d_h)``).

    Returns:
        ``RNNParams(U=i.kernel^T, W=h.kernel^T, V=Dense.kernel^T, b_s=i.bias, b_o=Dense.bias)``.
    """
    where = "from_flax_simple_cell"
    p = _unwrap(variables, ("i", "h"), where)
    U, W = to_jax(p["i"]["kernel"]).T, to_jax(p["h"]["kernel"]).T
    if readout is None:
        V, b_o = jnp.zeros((0, W.shape[0]), W.dtype), jnp.zeros((0,), W.dtype)
    else:
        r = _unwrap(readout, ("kernel", "bias"), where)
        V, b_o = to_jax(r["kernel"]).T, to_jax(r["bias"])
    return RNNParams(U=U, W=W, V=V, b_s=to_jax(p["i"]["bias"]), b_o=b_o)


def to_flax_simple_cell(params: RNNParams) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(cell_variables, dense_variables)`` for ``SimpleCell(d_h)`` and ``Dense(d_out)``.

    ``dense_variables`` is None when ``params`` has no readout (``d_out = 0``).
    """
    RNN_CELL.check(params, "to_flax_simple_cell")
    cell = {
        "params": {"i": {"kernel": params.U.T, "bias": params.b_s}, "h": {"kernel": params.W.T}}
    }
    if params.V.shape[0] == 0:
        return cell, None
    return cell, {"params": {"kernel": params.V.T, "bias": params.b_o}}


__all__ = [
    "from_flax_carry",
    "from_flax_gru_cell",
    "from_flax_lstm_cell",
    "from_flax_simple_cell",
    "to_flax_carry",
    "to_flax_gru_cell",
    "to_flax_lstm_cell",
    "to_flax_simple_cell",
]
