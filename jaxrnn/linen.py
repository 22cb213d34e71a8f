"""Flax Linen modules over :func:`jaxrnn.layers.stack` (needs ``flax``).

The variables hold jaxrnn's own NamedTuples: ``variables["params"]["layer_0"]`` is an
``LSTMParams`` (or ``GRUParams``, ``RNNParams``, or a ``Bidirectional`` pair of them), so
``jaxrnn.lstm_scan(variables["params"]["layer_0"], xs)`` runs the module's first layer.
Inputs are batch-major ``(B, T, d_in)`` (any leading batch axes work).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxrnn._typing import Array
from jaxrnn.layer_params import init_stack
from jaxrnn.layers import stack


class _Stack(nn.Module):
    """Shared body of :class:`LSTM`, :class:`GRU` and :class:`SimpleRNN`."""

    features: int
    num_layers: int = 1
    bidirectional: bool = False
    merge: str = "concat"
    dropout: float = 0.0
    param_dtype: Any = jnp.float32

    def _cell(self) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    @nn.compact
    def __call__(
        self,
        xs: Array,
        lengths: Array | None = None,
        initial_state: Any = None,
        *,
        deterministic: bool = True,
    ) -> tuple[tuple[Any, ...], Array]:
        cell, extra = self._cell()

        def init(key: Array, l: int) -> Any:
            return init_stack(
                key,
                cell,
                xs.shape[-1],
                self.features,
                num_layers=self.num_layers,
                bidirectional=self.bidirectional,
                merge=self.merge,
                dtype=self.param_dtype,
                **extra,
            )[l]

        params = tuple(self.param(f"layer_{l}", init, l) for l in range(self.num_layers))
        use_dropout = not deterministic and self.dropout > 0.0
        key = self.make_rng("dropout") if use_dropout else None
        return stack(
            params,
            xs,
            initial_state,
            lengths=lengths,
            merge=self.merge,
            dropout=self.dropout,
            key=key,
        )


class LSTM(_Stack):
    r"""A stack of LSTM layers (see :func:`jaxrnn.lstm_step` for the equations).

    Attributes:
        features: hidden size ``d_h``.
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same ``lengths``.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (needs the ``"dropout"`` rng and
            ``deterministic=False``).
        forget_bias: added to ``b_f`` at initialisation.
        param_dtype: dtype of the parameters.

    Call with ``xs (B, T, d_in)``, optional ``lengths (B,)``, optional ``initial_state``
    (one state per layer, as returned), ``deterministic``; returns
    ``(final_states, hs)`` with one ``LSTMState`` (or ``Bidirectional`` pair) per layer
    and the top layer's outputs ``(B, T, d_h)`` (``2 d_h`` for ``concat``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import LSTM
        >>> model = LSTM(features=4, num_layers=2, bidirectional=True)
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = model.init(jax.random.key(0), xs)
        >>> finals, hs = model.apply(variables, xs, jnp.array([5, 3]))
        >>> hs.shape, type(variables["params"]["layer_1"].fwd).__name__
        ((2, 5, 8), 'LSTMParams')
    """

    forget_bias: float = 1.0

    def _cell(self) -> tuple[str, dict[str, Any]]:
        return "lstm", {"forget_bias": self.forget_bias}


class GRU(_Stack):
    r"""A stack of GRU layers (``reset_after=True``; see :func:`jaxrnn.gru_step`).

    Attributes:
        features, num_layers, bidirectional, merge, dropout, param_dtype: as for
            :class:`LSTM`.

    Call like :class:`LSTM`; returns ``(final_states, hs)`` with one ``h_T`` array (or
    ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import GRU
        >>> model = GRU(features=4, num_layers=2)
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = model.init(jax.random.key(0), xs)
        >>> finals, hs = model.apply(variables, xs, jnp.array([5, 3]))
        >>> hs.shape, type(variables["params"]["layer_1"]).__name__
        ((2, 5, 4), 'GRUParams')
    """

    def _cell(self) -> tuple[str, dict[str, Any]]:
        return "gru", {}


class SimpleRNN(_Stack):
    r"""A stack of vanilla RNN layers with a softmax readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer; the top layer's
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``). Lower layers have no readout
    (``V`` of shape ``(0, d_h)``); a bidirectional top layer sums its two readouts.

    Attributes:
        features: hidden size ``d_h``.
        d_out: readout size (number of classes).
        num_layers, bidirectional, merge, dropout, param_dtype: as for :class:`LSTM`.

    Call like :class:`LSTM`; returns ``(final_states, logits (B, T, d_out))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import SimpleRNN
        >>> model = SimpleRNN(features=5, d_out=2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((2, 4, 3)))
        >>> finals, logits = model.apply(variables, jnp.ones((2, 4, 3)))
        >>> logits.shape, variables["params"]["layer_0"].V.shape
        ((2, 4, 2), (2, 5))
    """

    d_out: int = 1

    def _cell(self) -> tuple[str, dict[str, Any]]:
        return "rnn", {"d_out": self.d_out}


__all__ = ["GRU", "LSTM", "SimpleRNN"]
