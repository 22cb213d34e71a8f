"""Keras 3 ``LSTM`` (any backend): ``kernel (d_in, 4 d_h)``, ``recurrent_kernel
(d_h, 4 d_h)``, one ``bias (4 d_h,)``, gates ``i, f, c, o``. No Keras import is needed:
the converters read ``layer.get_weights()`` and return the list ``layer.set_weights``
takes.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from jaxrnn.interop._fused import check_lstm_acts, from_fused, to_fused, to_jax
from jaxrnn.params import LSTMParams


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


__all__ = ["from_keras_lstm", "to_keras_lstm"]
