"""Fused gate layouts: the gates stacked along one axis, in a library's own order."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.gru import GRU_CELL, GRUParams
from jaxrnn.cells.lstm import LSTM_CELL, LSTMParams
from jaxrnn.params import Gate

# Gate letters as the libraries name them; ``g`` is the candidate (our field ``c``).
FIELD = {"i": "i", "f": "f", "g": "c", "o": "o"}


def to_jax(x: Any) -> jnp.ndarray:
    """A torch tensor, NumPy or JAX array as a JAX array (same dtype)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch
        x = x.detach().cpu().numpy()
    return jnp.asarray(np.asarray(x))


def from_fused(Wx: Any, Wh: Any, b: Any, order: str, where: str) -> LSTMParams:
    """Build ``LSTMParams`` from ``Wx (4 d_h, d_in)``, ``Wh (4 d_h, d_h)``, ``b (4 d_h,)``.

    The matrices are in the ``(out, in)`` layout; ``order`` names the gates along the
    stacked axis, e.g. ``"ifgo"`` for PyTorch.
    """
    Wx, Wh, b = to_jax(Wx), to_jax(Wh), to_jax(b)
    if Wx.ndim != 2 or Wx.shape[0] % 4:
        raise ValueError(
            f"{where}: expected an input kernel of shape (4*d_h, d_in), got {Wx.shape}"
        )
    d_h = Wx.shape[0] // 4
    if Wh.shape != (4 * d_h, d_h) or b.shape != (4 * d_h,):
        raise ValueError(
            f"{where}: expected recurrent kernel {(4 * d_h, d_h)} and bias {(4 * d_h,)} "
            f"(d_h={d_h} from the input kernel), got {tuple(Wh.shape)} and {tuple(b.shape)}"
        )
    gates = {
        FIELD[name]: Gate(U=U, W=W, b=b_g)
        for name, U, W, b_g in zip(order, jnp.split(Wx, 4), jnp.split(Wh, 4), jnp.split(b, 4))
    }
    return LSTMParams(**gates)


def to_fused(params: LSTMParams, order: str, where: str) -> tuple[np.ndarray, ...]:
    """``(Wx, Wh, b)`` as NumPy arrays in the ``(out, in)`` layout, gates in ``order``."""
    LSTM_CELL.check(params, where)
    gates = [getattr(params, FIELD[name]) for name in order]
    return tuple(np.concatenate([np.asarray(getattr(g, f)) for g in gates]) for f in "UWb")


def check_lstm_acts(gate_fn: str, act_fn: str, where: str, cell: str = "LSTM") -> None:
    """Refuse a peer LSTM (or GRU) whose activations are not sigmoid gates and tanh
    candidate."""
    if (gate_fn, act_fn) != ("sigmoid", "tanh"):
        raise ValueError(
            f"{where}: expected gate activation sigmoid and cell activation tanh (the only "
            f"{cell} jaxrnn represents), got {gate_fn} and {act_fn}"
        )


def from_fused_gru(Wx: Any, Wh: Any, b_x: Any, b_h: Any, order: str, where: str) -> GRUParams:
    """Build ``GRUParams`` from ``Wx (3 d_h, d_in)``, ``Wh (3 d_h, d_h)`` and the input
    and recurrent biases ``b_x``, ``b_h`` (``(3 d_h,)`` each, or None for zeros).

    ``order`` names the gates along the stacked axis (``"rzn"`` for PyTorch). The two
    biases of ``z`` and ``r`` only ever appear summed, so they are merged; the
    candidate's recurrent bias is ``b_hn``.
    """
    Wx, Wh = to_jax(Wx), to_jax(Wh)
    if Wx.ndim != 2 or Wx.shape[0] % 3:
        raise ValueError(
            f"{where}: expected an input kernel of shape (3*d_h, d_in), got {Wx.shape}"
        )
    d_h = Wx.shape[0] // 3
    zeros = jnp.zeros(3 * d_h, Wx.dtype)
    b_x = zeros if b_x is None else to_jax(b_x)
    b_h = zeros if b_h is None else to_jax(b_h)
    if Wh.shape != (3 * d_h, d_h) or b_x.shape != (3 * d_h,) or b_h.shape != (3 * d_h,):
        raise ValueError(
            f"{where}: expected recurrent kernel {(3 * d_h, d_h)} and biases {(3 * d_h,)} "
            f"(d_h={d_h} from the input kernel), got {tuple(Wh.shape)}, {tuple(b_x.shape)} "
            f"and {tuple(b_h.shape)}"
        )
    split = {
        name: (U, W, bx, bh)
        for name, U, W, bx, bh in zip(
            order, jnp.split(Wx, 3), jnp.split(Wh, 3), jnp.split(b_x, 3), jnp.split(b_h, 3)
        )
    }
    U_n, W_n, b_n, b_hn = split["n"]
    return GRUParams(
        z=Gate(U=split["z"][0], W=split["z"][1], b=split["z"][2] + split["z"][3]),
        r=Gate(U=split["r"][0], W=split["r"][1], b=split["r"][2] + split["r"][3]),
        n=Gate(U=U_n, W=W_n, b=b_n),
        b_hn=b_hn,
    )


def to_fused_gru(params: GRUParams, order: str, where: str) -> tuple[np.ndarray, ...]:
    """``(Wx, Wh, b_x, b_h)`` as NumPy arrays, gates in ``order``: ``b_x`` holds
    ``b_z, b_r, b_n``; ``b_h`` is zero but for ``b_hn`` in the candidate's rows."""
    GRU_CELL.check(params, where)
    gates = [getattr(params, name) for name in order]
    Wx, Wh, b_x = (np.concatenate([np.asarray(getattr(g, f)) for g in gates]) for f in "UWb")
    b_hn = np.asarray(params.b_hn)
    b_h = np.concatenate([b_hn if name == "n" else np.zeros_like(b_hn) for name in order])
    return Wx, Wh, b_x, b_h
