"""Flax NNX modules (needs ``flax``): cells for ``nnx.RNN`` and fast stacks.

- Cells :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`: ``flax.nnx.RNNCellBase`` cells for
  ``nnx.RNN`` (one step per call).
- Stacks :class:`LSTM`, :class:`GRU`, :class:`SimpleRNN`: whole sequences on jaxrnn's fast loops
  (:func:`jaxrnn.layers.stack`), with ``unroll``, ``remat`` and a compute ``dtype``.

Every weight is its own ``nnx.Param`` named by jaxrnn's field names
(``model.layers[0]["f"]["U"]``; ``["fwd"]["f"]["U"]`` when bidirectional), in the
``(out, in)`` layout, so ``nnx.with_partitioning`` initialisers shard weight by weight.
:func:`layer_params` returns a layer's NamedTuple:
``jaxrnn.lstm_scan(layer_params(model, 0), xs)`` runs the first layer.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import jax.numpy as jnp
from flax import nnx

from jaxrnn import _module_cells as mc
from jaxrnn._nnx_cells import (
    GRUCell,
    LSTMCell,
    MinGRUCell,
    MinLSTMCell,
    RNNCell,
    _Cell,
    make_params,
    values,
)
from jaxrnn._renames import MISSING, alias, renamed
from jaxrnn._typing import Array
from jaxrnn.layers import StackOptions, stack
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init


def layer_params(module: _Stack | _Cell, layer: int | None = None) -> Any:
    """Layer ``layer`` of a stack (or a cell's parameters) as jaxrnn's NamedTuple.

    Example:
        >>> import jax.numpy as jnp, jaxrnn
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTM, layer_params
        >>> model = LSTM(3, 4, rngs=nnx.Rngs(0))
        >>> jaxrnn.lstm_scan(layer_params(model, 0), jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """
    if layer is None and isinstance(module, _Cell):
        return module.params()
    if layer is not None and isinstance(module, _Stack):
        return values(module.layers[layer])
    raise TypeError(
        "expected a cell with layer=None or a stack with a layer index, got "
        f"{type(module).__name__} with layer={layer!r}"
    )


class _Stack(nnx.Module):
    """Shared body of :class:`LSTM` and :class:`SimpleRNN` (arguments: see :class:`LSTM`)."""

    cell: ClassVar[str]

    def __init__(
        self,
        in_features: int | None = None,
        features: int | None = None,
        *,
        rngs: nnx.Rngs,
        d_out: int = 0,
        num_layers: int = 1,
        bidirectional: bool = False,
        merge: str = "concat",
        dropout: float = 0.0,
        forget_bias: float = 0.0,
        kernel_init: Any = default_input_init,
        recurrent_kernel_init: Any = default_recurrent_init,
        bias_init: Any = default_bias_init,
        param_dtype: Any = MISSING,
        dtype: Any = None,
        unroll: int = 1,
        remat: int | None = None,
        time_major: bool = False,
        reverse: bool = False,
        keep_order: bool = False,
        return_carry: bool = True,
        d_in: Any = MISSING,
        d_h: Any = MISSING,
    ) -> None:
        where = f"jaxrnn.nnx.{type(self).__name__}"
        in_features = renamed(where, "in_features", in_features, "d_in", d_in)
        features = renamed(where, "features", features, "d_h", d_h)
        if param_dtype is MISSING:
            param_dtype = jnp.float32
            if dtype is not None:  # jaxrnn 0.1: dtype was the parameters' dtype
                warnings.warn(
                    f"{where}: dtype is now the compute dtype (as in Flax) and param_dtype the "
                    "parameters' dtype; dtype alone sets both for this release; pass "
                    "param_dtype too",
                    DeprecationWarning,
                    stacklevel=3,
                )
                param_dtype = dtype
        inits = mc.Inits(kernel_init, recurrent_kernel_init, bias_init, forget_bias, param_dtype)
        layouts = mc.stack_layouts(self.cell, in_features, features, d_out=d_out,
                                   num_layers=num_layers, bidirectional=bidirectional,
                                   merge=merge)  # fmt: skip
        self.layers = nnx.List([make_params(layout, inits, rngs) for layout in layouts])
        self.options: StackOptions = {
            "merge": merge, "dropout": dropout, "time_major": time_major, "reverse": reverse,
            "keep_order": keep_order, "unroll": unroll, "remat": remat, "dtype": dtype,
        }  # fmt: skip
        self.return_carry = return_carry
        self.deterministic = False
        self.dropout_rngs: nnx.RngStream | None = (
            rngs["dropout"].fork() if dropout > 0 else nnx.data(None)
        )

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
        """Run the stack; ``deterministic`` (default: the attribute, see ``.eval()``)."""
        where = f"jaxrnn.nnx.{type(self).__name__}"
        initial_carry = renamed(
            where, "initial_carry", initial_carry, "initial_state", initial_state
        )
        seq_lengths = alias(where, "seq_lengths", seq_lengths, "lengths", lengths)
        deterministic = self.deterministic if deterministic is None else deterministic
        use_dropout = not deterministic and self.options["dropout"] > 0
        key = self.dropout_rngs() if use_dropout and self.dropout_rngs is not None else None
        layers = tuple(values(layer) for layer in self.layers)
        options: StackOptions = {**self.options, "seq_lengths": seq_lengths, "key": key}
        finals, outputs = stack(layers, xs, initial_carry, **options)
        return (finals, outputs) if self.return_carry else outputs


class LSTM(_Stack):
    r"""A stack of LSTM layers on jaxrnn's fast loops (equations: :func:`jaxrnn.lstm_step`).

    Args:
        in_features: input size ``d_in`` (old name ``d_in``).
        features: hidden size ``d_h`` (old name ``d_h``).
        rngs: ``nnx.Rngs`` (``params``, and ``dropout`` when ``dropout > 0``).
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0), active in ``.train()`` mode
            (the default) and off after ``.eval()`` or with ``deterministic=True``.
        forget_bias: added to ``b_f`` at initialisation (1.0).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of ``U``, ``W``,
            ``b`` (stored ``(out, in)`` shapes; ``nnx.with_partitioning`` works).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs, carries cast to it); None promotes.
            (In jaxrnn 0.1 ``dtype`` was the parameters' dtype: passed alone, it still
            sets both, with a ``DeprecationWarning``.)
        unroll, remat: passed to the loops (``unroll=8`` is the GPU setting).
        time_major, reverse, keep_order: as for ``flax.nnx.RNN``.
        return_carry: return ``(final_carries, outputs)`` (default) or only ``outputs``.

    Call with ``xs (B, T, d_in)``, optional ``seq_lengths (B,)`` (``lengths``
    accepted) and ``initial_carry``; returns ``(final_carries, hs)`` as
    :class:`jaxrnn.linen.LSTM` does.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTM
        >>> model = LSTM(3, 4, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[1].bwd.C.shape, model.layers[1]["bwd"]["f"]["U"].shape
        ((2, 5, 8), (2, 4), (4, 8))
    """

    cell: ClassVar[str] = "lstm"

    def __init__(
        self, *args: Any, forget_bias: float = 1.0, rngs: nnx.Rngs, **options: Any
    ) -> None:
        super().__init__(*args, rngs=rngs, forget_bias=forget_bias, **options)


class GRU(_Stack):
    r"""A stack of GRU layers on the fast loops (``reset_after=True``; :func:`jaxrnn.gru_step`).

    Arguments as for :class:`LSTM` (without ``forget_bias``); returns
    ``(final_carries, hs)`` with one ``h_T`` array (or ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import GRU
        >>> model = GRU(3, 4, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[0].bwd.shape
        ((2, 5, 8), (2, 4))
    """

    cell: ClassVar[str] = "gru"


class MinGRU(_Stack):
    """A stack of minGRU layers (:func:`jaxrnn.mingru_scan`); arguments as for :class:`LSTM`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import MinGRU
        >>> MinGRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))(jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "mingru"


class MinLSTM(_Stack):
    """A stack of minLSTM layers (:func:`jaxrnn.minlstm_scan`); arguments as for :class:`LSTM`."""

    cell: ClassVar[str] = "minlstm"


class SimpleRNN(_Stack):
    r"""A stack of vanilla RNN layers with a readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer, top layer
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``); lower layers have no
    readout. Arguments as for :class:`LSTM`, plus ``d_out`` (readout size); returns
    ``(final_carries, logits (B, T, d_out))``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import SimpleRNN, layer_params
        >>> model = SimpleRNN(3, 5, d_out=2, rngs=nnx.Rngs(0))
        >>> finals, logits = model(jnp.ones((2, 4, 3)))
        >>> logits.shape, layer_params(model, 0).V.shape
        ((2, 4, 2), (2, 5))
    """

    cell: ClassVar[str] = "rnn"

    def __init__(self, *args: Any, d_out: int, rngs: nnx.Rngs, **options: Any) -> None:
        super().__init__(*args, rngs=rngs, d_out=d_out, **options)


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
