"""Keras 3 ``LSTM`` and ``GRU`` (any backend). No Keras import is needed: the converters
read ``layer.get_weights()`` and return the list ``layer.set_weights`` takes.

``LSTM``: ``kernel (d_in, 4 d_h)``, ``recurrent_kernel (d_h, 4 d_h)``, one
``bias (4 d_h,)``, gates ``i, f, c, o``.

``GRU``: ``kernel (d_in, 3 d_h)``, ``recurrent_kernel (d_h, 3 d_h)``, gates ``z, r, h``
(``h`` is our candidate ``n``), ``h_t = z_t h_{t-1} + (1 - z_t) hh_t`` as in jaxrnn.
With ``reset_after=True`` (the default) the bias is ``(2, 3 d_h)``: input biases and
recurrent biases; the recurrent bias of ``hh`` is ``b_hn``. With ``reset_after=False``
(Cho et al.) there is one ``bias (3 d_h,)`` and ``hh_t = tanh(x W_h + (r_t h_{t-1}) U_h
+ b_h)``: jaxrnn's ``reset_after=False`` with ``b_hn = 0`` (export folds ``b_hn`` into
``b_h``).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.gru import GRUParams
from jaxrnn.cells.lstm import LSTMParams
from jaxrnn.interop._fused import (
    check_lstm_acts,
    from_fused,
    from_fused_gru,
    to_fused,
    to_fused_gru,
    to_jax,
)


def from_keras_lstm(layer: Any) -> LSTMParams:
    """Convert a built ``keras.layers.LSTM`` (or its ``get_weights()`` list).

    Args:
        layer: a ``keras.layers.LSTM`` with ``activation="tanh"`` and
            ``recurrent_activation="sigmoid"`` (the defaults), or the list
            ``[kernel, recurrent_kernel(, bias)]``.

    Returns:
        ``LSTMParams``.

    Raises:
        TypeError: a layer that is not an ``LSTM`` (e.g. ``GRU``).
        ValueError: other activations, or weights of the wrong shapes.
    """
    where = "from_keras_lstm"
    if hasattr(layer, "get_weights"):
        if type(layer).__name__ != "LSTM":
            raise TypeError(f"{where}: expected a keras.layers.LSTM, got {type(layer).__name__}")
        check_lstm_acts(layer.recurrent_activation.__name__, layer.activation.__name__, where)
        layer = layer.get_weights()
    if len(layer) not in (2, 3):
        raise ValueError(
            f"{where}: expected [kernel, recurrent_kernel, bias], got {len(layer)} arrays"
        )
    kernel, recurrent = to_jax(layer[0]), to_jax(layer[1])
    bias = to_jax(layer[2]) if len(layer) == 3 else jnp.zeros(kernel.shape[1], kernel.dtype)
    return from_fused(kernel.T, recurrent.T, bias, "ifgo", where)


def to_keras_lstm(params: LSTMParams) -> list[Any]:
    """``[kernel, recurrent_kernel, bias]`` (NumPy) for ``keras.layers.LSTM(d_h).set_weights``.

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import to_keras_lstm
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> [w.shape for w in to_keras_lstm(p)]
        [(3, 16), (4, 16), (16,)]
    """
    Wx, Wh, b = to_fused(params, "ifgo", "to_keras_lstm")
    return [Wx.T.copy(), Wh.T.copy(), b]


def from_keras_gru(layer: Any) -> GRUParams:
    """Convert a built ``keras.layers.GRU`` (or its ``get_weights()`` list).

    Args:
        layer: a ``keras.layers.GRU`` with ``activation="tanh"`` and
            ``recurrent_activation="sigmoid"`` (the defaults), or the list
            ``[kernel, recurrent_kernel(, bias)]``.

    Returns:
        ``GRUParams``; run it with ``reset_after=layer.reset_after`` (a bias of shape
        ``(2, 3 d_h)`` is the ``reset_after=True`` layout, ``(3 d_h,)`` the other).

    Raises:
        TypeError: a layer that is not a ``GRU``.
        ValueError: other activations, or weights of the wrong shapes.
    """
    where = "from_keras_gru"
    if hasattr(layer, "get_weights"):
        if type(layer).__name__ != "GRU":
            raise TypeError(f"{where}: expected a keras.layers.GRU, got {type(layer).__name__}")
        act = (layer.recurrent_activation.__name__, layer.activation.__name__)
        check_lstm_acts(*act, where, cell="GRU")
        layer = layer.get_weights()
    if len(layer) not in (2, 3):
        raise ValueError(
            f"{where}: expected [kernel, recurrent_kernel, bias], got {len(layer)} arrays"
        )
    kernel, recurrent = to_jax(layer[0]), to_jax(layer[1])
    bias = to_jax(layer[2]) if len(layer) == 3 else None
    b_x, b_h = (bias[0], bias[1]) if bias is not None and bias.ndim == 2 else (bias, None)
    return from_fused_gru(kernel.T, recurrent.T, b_x, b_h, "zrn", where)


def to_keras_gru(params: GRUParams, *, reset_after: bool = True) -> list[Any]:
    """``[kernel, recurrent_kernel, bias]`` (NumPy) for
    ``keras.layers.GRU(d_h, reset_after=reset_after).set_weights``.

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import to_keras_gru
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> [w.shape for w in to_keras_gru(p)], to_keras_gru(p, reset_after=False)[2].shape
        ([(3, 12), (4, 12), (2, 12)], (12,))
    """
    Wx, Wh, b_x, b_h = to_fused_gru(params, "zrn", "to_keras_gru")
    bias = np.stack([b_x, b_h]) if reset_after else b_x + b_h
    return [Wx.T.copy(), Wh.T.copy(), bias]


__all__ = ["from_keras_gru", "from_keras_lstm", "to_keras_gru", "to_keras_lstm"]
