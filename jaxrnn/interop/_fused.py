"""Fused gate layouts: four gates stacked along one axis, in a library's own order."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn import _checks
from jaxrnn.params import Gate, LSTMParams

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
    _checks.check_lstm_params(params, where)
    gates = [getattr(params, FIELD[name]) for name in order]
    return tuple(np.concatenate([np.asarray(getattr(g, f)) for g in gates]) for f in "UWb")


def check_lstm_acts(gate_fn: str, act_fn: str, where: str) -> None:
    """Refuse a peer LSTM whose activations are not sigmoid gates and tanh candidate."""
    if (gate_fn, act_fn) != ("sigmoid", "tanh"):
        raise ValueError(
            f"{where}: expected gate activation sigmoid and cell activation tanh (the only "
            f"LSTM jaxrnn represents), got {gate_fn} and {act_fn}"
        )
