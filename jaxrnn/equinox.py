"""Equinox modules over :func:`jaxrnn.stack` (needs ``equinox``), for any cell.

Equinox's convention: a module is called on one example, ``xs`` of shape ``(T, d_in)``,
and batched with ``jax.vmap``; a ``key`` drives dropout, which is active unless
``inference=True`` (toggle it with ``equinox.nn.inference_mode``). The module's fields
are the cells' own NamedTuples (``model.layers[0]`` is an ``LSTMParams``, a ``RNNParams``
or a ``Bidirectional`` pair), so ``jaxrnn.lstm_scan(model.layers[0], xs)`` runs its first
layer and gradients read ``.layers[0].f.W``. :class:`Stack` takes any registered cell;
:class:`LSTM`, :class:`GRU`, :class:`SimpleRNN`, :class:`MinGRU`, :class:`MinLSTM`,
:class:`Hawk`, :class:`LRU` are it with their cell.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from jaxrnn._src import modules as mc
from jaxrnn._src.typing import Array, DType, PRNGKey
from jaxrnn.cell import Cell, get_cell
from jaxrnn.layers import MERGES, stack
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init
from jaxrnn.xlstm import XLSTMStackParams, init_xlstm_stack, xlstm_stack


class Stack(eqx.Module):
    r"""A stack of layers of any registered cell as an ``eqx.Module`` (:func:`jaxrnn.stack`).

    Args:
        cell: the cell's name (``"lstm"``, ``"gru"``, ...; :func:`jaxrnn.cell_names`) or a
            :class:`jaxrnn.Cell`.
        in_features: input size ``d_in``.
        features: hidden size ``d_h``.
        key: PRNG key for the initialisation (layer ``l`` uses ``fold_in(key, l)``).
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0).
        forget_bias: added to ``b_f`` at initialisation (cells with that option).
        d_out: readout size of the top layer (cells with a readout).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``,
            ``"recurrent"`` and ``"bias"`` leaves (called with the stored ``(out, in)``
            shapes).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs and carries are cast to it); None
            promotes them.
        unroll, remat: passed to the loops (see :func:`jaxrnn.lstm_scan`).
        reverse, keep_order: read the valid steps last-to-first; keep the outputs aligned
            with the inputs (default: in the order computed, as Flax's ``RNN``).
        inference: start in inference mode (no dropout).
        cell_options: more options of the cell's layout.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import Stack
        >>> model = Stack("gru", 3, 4, num_layers=2, key=jax.random.key(0))
        >>> model(jnp.ones((5, 3)))[1].shape
        (5, 4)
    """

    layers: tuple[Any, ...]
    merge: str = eqx.field(static=True)
    dropout: float = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)
    unroll: int = eqx.field(static=True)
    remat: int | None = eqx.field(static=True)
    reverse: bool = eqx.field(static=True)
    keep_order: bool = eqx.field(static=True)
    inference: bool

    def __init__(
        self,
        cell: str | Cell,
        in_features: int,
        features: int,
        *,
        key: PRNGKey,
        d_out: int = 0,
        num_layers: int = 1,
        bidirectional: bool = False,
        merge: str = "concat",
        dropout: float = 0.0,
        forget_bias: float = 1.0,
        kernel_init: Any = default_input_init,
        recurrent_kernel_init: Any = default_recurrent_init,
        bias_init: Any = default_bias_init,
        param_dtype: DType = jnp.float32,
        dtype: DType | None = None,
        unroll: int = 1,
        remat: int | None = None,
        reverse: bool = False,
        keep_order: bool = False,
        inference: bool = False,
        cell_options: dict[str, Any] | None = None,
    ) -> None:
        if merge not in MERGES:
            raise ValueError(f"expected merge to be one of {MERGES}, got {merge!r}")
        family = get_cell(cell, f"jaxrnn.equinox.{type(self).__name__}")
        given = {**dict(cell_options or {}), "forget_bias": forget_bias, "d_out": d_out}
        options = mc.cell_options(family, **given)
        inits = mc.Inits(kernel_init, recurrent_kernel_init, bias_init, param_dtype, options)
        layouts = mc.stack_layouts(family, in_features, features, num_layers=num_layers,
                                   bidirectional=bidirectional, merge=merge,
                                   options=options)  # fmt: skip
        self.layers = tuple(
            mc.rebuild(mc.init_tree(jax.random.fold_in(key, l), layout, inits), layout=layout)
            for l, layout in enumerate(layouts)
        )
        self.merge, self.dropout, self.dtype = merge, dropout, dtype
        self.unroll, self.remat, self.inference = unroll, remat, inference
        self.reverse, self.keep_order = reverse, keep_order

    def __call__(
        self,
        xs: Array,
        initial_carry: Any = None,
        *,
        seq_lengths: Array | None = None,
        resets: Array | None = None,
        reset_carry: Any = None,
        key: PRNGKey | None = None,
        inference: bool | None = None,
    ) -> tuple[tuple[Any, ...], Array]:
        """Run the stack on one example ``xs (T, d_in)``; ``(final_carries, outputs)``.

        Args:
            xs: inputs ``(T, d_in)`` (any leading batch axes work too).
            initial_carry: one carry per layer, as returned; None for zeros.
            seq_lengths: optional integer scalar (per example): steps ``t >= seq_lengths``
                are padding.
            resets: optional bools ``(T,)``: True where a new segment starts (the step
                reads ``initial_carry``, or ``reset_carry``: see :func:`jaxrnn.stack`).
            reset_carry: the carries resets restart from (streaming in chunks).
            key: PRNG key for dropout between layers; needed when ``dropout > 0`` and not
                in inference mode.
            inference: overrides the ``inference`` field (True: no dropout).
        """
        inference = self.inference if inference is None else inference
        use_dropout = self.dropout > 0 and not inference
        if use_dropout and key is None:
            raise RuntimeError(
                "jaxrnn.equinox: dropout > 0 in training mode needs a key; pass key=... or "
                "inference=True (or use equinox.nn.inference_mode)"
            )
        return stack(
            self.layers, xs, initial_carry, seq_lengths=seq_lengths, resets=resets,
            reset_carry=reset_carry, merge=self.merge,
            dropout=self.dropout, key=key if use_dropout else None, reverse=self.reverse,
            keep_order=self.keep_order, unroll=self.unroll, remat=self.remat, dtype=self.dtype,
        )  # fmt: skip


class LSTM(Stack):
    r"""A stack of LSTM layers as an ``eqx.Module`` (equations: :func:`jaxrnn.lstm_step`).

    Args:
        in_features: input size ``d_in``.
        features: hidden size ``d_h``.
        key: PRNG key for the initialisation (layer ``l`` uses ``fold_in(key, l)``).
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0).
        forget_bias: added to ``b_f`` at initialisation.
        kernel_init, recurrent_kernel_init, bias_init: initialisers of ``U``, ``W``, ``b``
            (called with the stored ``(out, in)`` shapes).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs and carries are cast to it); None
            promotes them.
        unroll, remat: passed to the loops (see :func:`jaxrnn.lstm_scan`).
        reverse, keep_order: read the valid steps last-to-first; keep the outputs aligned
            with the inputs (default: in the order computed, as Flax's ``RNN``).
        inference: start in inference mode (no dropout).

    Call on one example ``xs (T, d_in)``; returns ``(final_carries, hs)``, one
    ``LSTMState`` (or ``Bidirectional`` pair) per layer and the top layer's outputs
    ``(T, d_h)`` (``2 d_h`` for ``concat``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import LSTM
        >>> model = LSTM(3, 4, num_layers=2, bidirectional=True, key=jax.random.key(0))
        >>> finals, hs = jax.vmap(model)(jnp.ones((2, 5, 3)))   # a batch of 2
        >>> hs.shape, finals[1].fwd.C.shape
        ((2, 5, 8), (2, 4))
    """

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("lstm", in_features, features, key=key, **options)


class GRU(Stack):
    r"""A stack of GRU layers as an ``eqx.Module`` (``reset_after=True``; :func:`jaxrnn.gru_step`).

    Arguments as for :class:`LSTM` (without ``forget_bias``); returns
    ``(final_carries, hs (T, d_h))`` with one ``h_T`` (or ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import GRU
        >>> model = GRU(3, 4, bidirectional=True, key=jax.random.key(0))
        >>> finals, hs = model(jnp.ones((5, 3)))
        >>> hs.shape, finals[0].bwd.shape
        ((5, 8), (4,))
    """

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("gru", in_features, features, key=key, **options)


class MinGRU(Stack):
    """A stack of minGRU layers (:func:`jaxrnn.mingru_scan`) as an ``eqx.Module``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import MinGRU
        >>> MinGRU(3, 4, key=jax.random.key(0))(jnp.ones((5, 3)))[1].shape
        (5, 4)
    """

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("mingru", in_features, features, key=key, **options)


class MinLSTM(Stack):
    """A stack of minLSTM layers (:func:`jaxrnn.minlstm_scan`) as an ``eqx.Module``."""

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("minlstm", in_features, features, key=key, **options)


class Hawk(Stack):
    """A stack of Hawk blocks (:func:`jaxrnn.hawk_scan`, Griffin's recurrent block) as an
    ``eqx.Module``; arguments as for :class:`LSTM`, plus ``lru_width``, ``num_heads``,
    ``conv_width``. Final carries: one ``jaxrnn.HawkState`` per layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import Hawk
        >>> model = Hawk(4, 4, num_heads=2, key=jax.random.key(0))
        >>> finals, ys = model(jnp.ones((5, 4)), resets=jnp.arange(5) == 0)
        >>> ys.shape, model.layers[0].rglru.W_a.shape
        ((5, 4), (2, 2, 2))
    """

    def __init__(self, in_features: int, features: int, *, key: PRNGKey,
                 lru_width: int | None = None, num_heads: int = 1, conv_width: int = 4,
                 **options: Any) -> None:  # fmt: skip
        given = {**dict(options.pop("cell_options", None) or {}), "lru_width": lru_width,
                 "num_heads": num_heads, "conv_width": conv_width}  # fmt: skip
        super().__init__("hawk", in_features, features, key=key, cell_options=given, **options)


class LRU(Stack):
    """A stack of LRU layers (:func:`jaxrnn.lru_scan`) as an ``eqx.Module``: ``features``
    complex channels, outputs of size ``in_features``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import LRU
        >>> LRU(3, 8, key=jax.random.key(0))(jnp.ones((5, 3)))[1].shape
        (5, 3)
    """

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("lru", in_features, features, key=key, **options)


class SimpleRNN(Stack):
    r"""A stack of vanilla RNN layers with a readout on the top layer, as an ``eqx.Module``.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer; the top layer returns
    ``logits_t = V s_t + b_o``. Arguments as for :class:`LSTM` plus ``d_out`` (readout
    size); returns ``(final_carries, logits (T, d_out))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import SimpleRNN
        >>> model = SimpleRNN(3, 5, d_out=2, key=jax.random.key(0))
        >>> finals, logits = model(jnp.ones((4, 3)))
        >>> logits.shape, model.layers[0].V.shape
        ((4, 2), (2, 5))
    """

    def __init__(
        self, in_features: int, features: int, *, d_out: int, key: PRNGKey, **options: Any
    ) -> None:
        super().__init__("rnn", in_features, features, key=key, d_out=d_out, **options)


class SLSTM(Stack):
    """A stack of sLSTM layers (:func:`jaxrnn.slstm_scan`) as an ``eqx.Module``."""

    def __init__(self, in_features: int, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("slstm", in_features, features, key=key, **options)


class MLSTMLayer(Stack):
    """Stacked xLSTM mLSTM layers (``d -> d``) as an ``eqx.Module``."""

    def __init__(self, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("mlstm_layer", features, features, key=key, **options)


class SLSTMLayer(Stack):
    """Stacked xLSTM sLSTM layers (``d -> d``) as an ``eqx.Module``."""

    def __init__(self, features: int, *, key: PRNGKey, **options: Any) -> None:
        super().__init__("slstm_layer", features, features, key=key, **options)


class XLSTMBlockStack(eqx.Module):
    """The xLSTM block stack (:func:`jaxrnn.xlstm_stack`) as an ``eqx.Module``; the field
    ``params`` is the :class:`jaxrnn.XLSTMStackParams`. Called on one example ``(T, d)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.equinox import XLSTMBlockStack
        >>> model = XLSTMBlockStack(8, key=jax.random.key(0), mlstm_options={"num_heads": 2},
        ...                         slstm_options={"num_heads": 2})
        >>> model(jnp.ones((5, 8)))[1].shape
        (5, 8)
    """

    params: XLSTMStackParams

    def __init__(self, features: int, *, key: PRNGKey, num_blocks: int = 2,
                 slstm_at: tuple[int, ...] = (1,), mlstm_options: Any = None,
                 slstm_options: Any = None, ffn_proj_factor: float = 1.3, post_norm: bool = True,
                 param_dtype: Any = jnp.float32) -> None:  # fmt: skip
        self.params = init_xlstm_stack(key, features, num_blocks=num_blocks, slstm_at=slstm_at,
                                       mlstm_options=mlstm_options, slstm_options=slstm_options,
                                       ffn_proj_factor=ffn_proj_factor, post_norm=post_norm,
                                       dtype=param_dtype)  # fmt: skip

    def __call__(self, xs: Array, initial_carry: Any = None, *,
                 seq_lengths: Array | None = None) -> Any:  # fmt: skip
        return xlstm_stack(self.params, xs, initial_carry, lengths=seq_lengths)


__all__ = ["GRU", "LRU", "LSTM", "Hawk", "MLSTMLayer", "MinGRU", "MinLSTM", "SLSTM", "SLSTMLayer",
           "SimpleRNN", "Stack", "XLSTMBlockStack"]  # fmt: skip
