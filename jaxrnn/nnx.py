"""Flax NNX modules over :func:`jaxrnn.layers.stack` (needs ``flax``).

Each layer is one ``nnx.Param`` whose value is jaxrnn's own NamedTuple
(``model.layers[0].get_value()`` is an ``LSTMParams``, ``GRUParams``, ``RNNParams`` or a
``Bidirectional`` pair), so ``jaxrnn.lstm_scan(model.layers[0].get_value(), xs)`` runs the
module's first layer and gradients read ``layers/0/value/f/W``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import nnx

from jaxrnn._typing import Array
from jaxrnn.layer_params import init_stack
from jaxrnn.layers import stack


class _Stack(nnx.Module):
    """Shared body of :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN`."""

    def __init__(
        self,
        cell: str,
        d_in: int,
        d_h: int,
        *,
        rngs: nnx.Rngs,
        num_layers: int = 1,
        bidirectional: bool = False,
        merge: str = "concat",
        dropout: float = 0.0,
        dtype: Any = jnp.float32,
        **extra: Any,
    ) -> None:
        params = init_stack(
            rngs.params(),
            cell,
            d_in,
            d_h,
            num_layers=num_layers,
            bidirectional=bidirectional,
            merge=merge,
            dtype=dtype,
            **extra,
        )
        self.layers = nnx.List([nnx.Param(p) for p in params])
        self.merge = merge
        self.dropout = dropout
        self.deterministic = False
        self.dropout_rngs = rngs["dropout"].fork() if dropout > 0 else nnx.data(None)

    def __call__(
        self,
        xs: Array,
        lengths: Array | None = None,
        initial_state: Any = None,
        *,
        deterministic: bool | None = None,
    ) -> tuple[tuple[Any, ...], Array]:
        """Run the stack; ``deterministic`` (default: the attribute, see ``.eval()``)."""
        deterministic = self.deterministic if deterministic is None else deterministic
        key = None
        if not deterministic and self.dropout > 0:
            key = self.dropout_rngs()
        return stack(
            tuple(layer.get_value() for layer in self.layers),
            xs,
            initial_state,
            lengths=lengths,
            merge=self.merge,
            dropout=self.dropout,
            key=key,
        )


class LSTM(_Stack):
    r"""A stack of LSTM layers (see :func:`jaxrnn.lstm_step` for the equations).

    Args:
        d_in: input size.
        d_h: hidden size.
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same ``lengths``.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers, active in ``.train()`` mode (the
            default) and off after ``.eval()`` or with ``deterministic=True``; needs a
            ``dropout`` stream in ``rngs`` when positive.
        forget_bias: added to ``b_f`` at initialisation.
        dtype: parameter dtype.
        rngs: ``nnx.Rngs`` (``params``, and ``dropout`` when ``dropout > 0``).

    ``num_layers``, ``bidirectional``, ``merge``, ``dropout`` and ``dtype`` are keyword
    options shared with :class:`SimpleRNN`.

    Call with ``xs (B, T, d_in)``, optional ``lengths (B,)`` and ``initial_state``;
    returns ``(final_states, hs)`` as :class:`jaxrnn.linen.LSTM` does.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTM
        >>> model = LSTM(3, 4, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[1].bwd.C.shape
        ((2, 5, 8), (2, 4))
    """

    def __init__(
        self, d_in: int, d_h: int, *, forget_bias: float = 1.0, rngs: nnx.Rngs, **options: Any
    ) -> None:
        super().__init__("lstm", d_in, d_h, rngs=rngs, forget_bias=forget_bias, **options)


class GRU(_Stack):
    r"""A stack of GRU layers (``reset_after=True``; see :func:`jaxrnn.gru_step`).

    Arguments as for :class:`LSTM` (without ``forget_bias``); returns
    ``(final_states, hs)`` with one ``h_T`` array (or ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import GRU
        >>> model = GRU(3, 4, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[0].bwd.shape
        ((2, 5, 8), (2, 4))
    """

    def __init__(self, d_in: int, d_h: int, *, rngs: nnx.Rngs, **options: Any) -> None:
        super().__init__("gru", d_in, d_h, rngs=rngs, **options)


class SimpleRNN(_Stack):
    r"""A stack of vanilla RNN layers with a softmax readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer, top layer
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``); lower layers have no
    readout. Arguments as for :class:`LSTM`, plus ``d_out`` (readout size); returns
    ``(final_states, logits (B, T, d_out))``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import SimpleRNN
        >>> model = SimpleRNN(3, 5, d_out=2, rngs=nnx.Rngs(0))
        >>> finals, logits = model(jnp.ones((2, 4, 3)))
        >>> logits.shape, model.layers[0].get_value().V.shape
        ((2, 4, 2), (2, 5))
    """

    def __init__(self, d_in: int, d_h: int, *, d_out: int, rngs: nnx.Rngs, **options: Any) -> None:
        super().__init__("rnn", d_in, d_h, rngs=rngs, d_out=d_out, **options)


__all__ = ["GRU", "LSTM", "SimpleRNN"]
