"""Flax Linen modules (needs ``flax``): cells for ``nn.RNN`` and fast stacks.

- Cells :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`: ``flax.linen.RNNCellBase`` cells for
  ``nn.RNN``, ``nn.Bidirectional`` and ``nn.scan`` (one step per call).
- Stacks :class:`LSTM`, :class:`GRU`, :class:`SimpleRNN`: whole sequences on jaxrnn's fast loops
  (:func:`jaxrnn.layers.stack`), uni- or bidirectional, with ``unroll``, ``remat`` and a
  compute ``dtype``.

Parameters are stored leaf by leaf under the field names of jaxrnn's NamedTuples
(``params/layer_0/f/U``, or ``params/layer_0/fwd/f/U`` when bidirectional), in the
``(out, in)`` layout, so ``flax.traverse_util.flatten_dict`` lists every weight and each
initialiser may carry ``nn.with_partitioning``. :func:`layer_params` rebuilds a layer's
NamedTuple: ``jaxrnn.lstm_scan(layer_params(variables, 0), xs)`` runs the first layer.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax.numpy as jnp

from jaxrnn import _module_cells as mc
from jaxrnn._linen_cells import (
    GRUCell,
    LSTMCell,
    MinGRUCell,
    MinLSTMCell,
    RNNCell,
    layer_params,
)
from jaxrnn._renames import MISSING, alias, renamed
from jaxrnn._typing import Array
from jaxrnn.layers import stack
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init


class _Stack(nn.Module):
    """Shared body of :class:`LSTM` and :class:`SimpleRNN` (attributes: see :class:`LSTM`)."""

    features: int
    num_layers: int = 1
    bidirectional: bool = False
    merge: str = "concat"
    dropout: float = 0.0
    deterministic: bool | None = None
    kernel_init: Any = default_input_init
    recurrent_kernel_init: Any = default_recurrent_init
    bias_init: Any = default_bias_init
    param_dtype: Any = jnp.float32
    dtype: Any = None
    unroll: int = 1
    remat: int | None = None
    time_major: bool = False
    reverse: bool = False
    keep_order: bool = False
    return_carry: bool = True

    cell: ClassVar[str]

    @nn.compact
    def __call__(
        self,
        xs: Array,
        seq_lengths: Array | None = None,
        initial_carry: Any = None,
        *,
        deterministic: bool | None = None,
        lengths: Array | None = None,
        initial_state: Any = MISSING,
    ) -> Any:
        where = f"jaxrnn.linen.{type(self).__name__}"
        initial_carry = renamed(
            where, "initial_carry", initial_carry, "initial_state", initial_state
        )
        seq_lengths = alias(where, "seq_lengths", seq_lengths, "lengths", lengths)
        inits = mc.Inits(self.kernel_init, self.recurrent_kernel_init, self.bias_init,
                         getattr(self, "forget_bias", 0.0), self.param_dtype)  # fmt: skip
        layouts = mc.stack_layouts(
            self.cell, xs.shape[-1], self.features, d_out=getattr(self, "d_out", 0),
            num_layers=self.num_layers, bidirectional=self.bidirectional, merge=self.merge,
        )  # fmt: skip
        layers = tuple(
            mc.rebuild(self.param(f"layer_{l}", lambda k, lay=lay: mc.init_tree(k, lay, inits)))
            for l, lay in enumerate(layouts)
        )
        deterministic = next(
            (d for d in (deterministic, self.deterministic) if d is not None), False
        )
        key = self.make_rng("dropout") if (self.dropout > 0 and not deterministic) else None
        finals, outputs = stack(
            layers, xs, initial_carry, seq_lengths=seq_lengths, merge=self.merge,
            dropout=self.dropout, key=key, time_major=self.time_major, reverse=self.reverse,
            keep_order=self.keep_order, unroll=self.unroll, remat=self.remat, dtype=self.dtype,
        )  # fmt: skip
        return (finals, outputs) if self.return_carry else outputs


class LSTM(_Stack):
    r"""A stack of LSTM layers on jaxrnn's fast loops (equations: :func:`jaxrnn.lstm_step`).

    Attributes:
        features: hidden size ``d_h``.
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0); active unless
            ``deterministic`` (the call argument, else this attribute) is True, and then
            needs the ``"dropout"`` rng.
        deterministic: default of the call argument (None: training mode).
        forget_bias: added to ``b_f`` at initialisation.
        kernel_init, recurrent_kernel_init, bias_init: initialisers of ``U``, ``W``,
            ``b`` (called with the stored ``(out, in)`` shapes; ``nn.with_partitioning``
            boxes are kept).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs and carries cast to it); None promotes.
        unroll, remat: passed to the loops (:func:`jaxrnn.lstm_scan`; ``unroll=8`` is
            the GPU setting).
        time_major, reverse, keep_order: as for ``flax.linen.RNN``.
        return_carry: return ``(final_carries, outputs)`` (default, jaxrnn 0.1's
            behaviour) or only ``outputs`` (Flax's ``nn.RNN`` default).

    Call with ``xs (B, T, d_in)``, optional ``seq_lengths (B,)`` (``lengths`` accepted),
    optional ``initial_carry`` (one per layer, as returned), ``deterministic``. The final
    carries are one ``LSTMState`` (or ``Bidirectional`` pair) per layer; the outputs are
    the top layer's ``(B, T, d_h)`` (``2 d_h`` for ``concat``).

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.linen import LSTM, layer_params
        >>> model = LSTM(features=4, num_layers=2, bidirectional=True)
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = model.init(jax.random.key(0), xs)
        >>> finals, hs = model.apply(variables, xs, jnp.array([5, 3]))
        >>> hs.shape, type(layer_params(variables, 1).fwd).__name__
        ((2, 5, 8), 'LSTMParams')
        >>> variables["params"]["layer_0"]["fwd"]["f"]["U"].shape
        (4, 3)
    """

    forget_bias: float = 1.0
    cell: ClassVar[str] = "lstm"


class GRU(_Stack):
    r"""A stack of GRU layers on the fast loops (``reset_after=True``; :func:`jaxrnn.gru_step`).

    Attributes as for :class:`LSTM` (without ``forget_bias``). Returns
    ``(final_carries, hs)`` with one ``h_T`` array (or ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import GRU, layer_params
        >>> model = GRU(features=4, num_layers=2)
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = model.init(jax.random.key(0), xs)
        >>> finals, hs = model.apply(variables, xs, jnp.array([5, 3]))
        >>> hs.shape, type(layer_params(variables, 1)).__name__
        ((2, 5, 4), 'GRUParams')
    """

    cell: ClassVar[str] = "gru"


class MinGRU(_Stack):
    """A stack of minGRU layers (:func:`jaxrnn.mingru_scan`, parallel over time off CPU).

    Attributes as for :class:`LSTM` (``unroll``/``remat`` do not apply: no sequential loop).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import MinGRU
        >>> model = MinGRU(features=4, num_layers=2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> model.apply(variables, jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "mingru"


class MinLSTM(_Stack):
    """A stack of minLSTM layers (:func:`jaxrnn.minlstm_scan`); attributes as :class:`MinGRU`."""

    cell: ClassVar[str] = "minlstm"


class SimpleRNN(_Stack):
    r"""A stack of vanilla RNN layers with a readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer; the top layer's
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``). Lower layers have no readout;
    a bidirectional top layer sums its two readouts.

    Attributes:
        features: hidden size ``d_h``.
        d_out: readout size (number of classes).
        others: as for :class:`LSTM` (``kernel_init`` also initialises ``V``).

    Call like :class:`LSTM`; returns ``(final_carries, logits (B, T, d_out))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import SimpleRNN
        >>> model = SimpleRNN(features=5, d_out=2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((2, 4, 3)))
        >>> finals, logits = model.apply(variables, jnp.ones((2, 4, 3)))
        >>> logits.shape, variables["params"]["layer_0"]["V"].shape
        ((2, 4, 2), (2, 5))
    """

    d_out: int = 1
    cell: ClassVar[str] = "rnn"


__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RNNCell",
    "SimpleRNN",
    "layer_params",
]
