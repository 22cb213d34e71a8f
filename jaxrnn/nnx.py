"""Flax NNX modules (needs ``flax``): cells for ``nnx.RNN`` and fast stacks, for any cell.

- :class:`RecurrentCell`: a ``flax.nnx.RNNCellBase`` over any registered cell
  (``RecurrentCell(3, 8, cell="gru", rngs=...)``), for ``nnx.RNN`` (one step per call).
  :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`, :class:`MinGRUCell`,
  :class:`MinLSTMCell`, :class:`RGLRUCell`, :class:`HawkCell`, :class:`LRUCell` are it with
  their cell.
- :class:`Stack`: whole sequences of any registered cell on its fast loop
  (:func:`jaxrnn.stack`), with ``unroll``, ``remat``, ``resets`` and a compute ``dtype``.
  :class:`LSTM`, :class:`GRU`, :class:`SimpleRNN`, :class:`MinGRU`, :class:`MinLSTM`,
  :class:`Hawk`, :class:`LRU` are it with their cell.

Every weight is its own ``nnx.Param`` named by the cell's field names
(``model.layers[0]["f"]["U"]``; ``["fwd"]["f"]["U"]`` when bidirectional), in the
``(out, in)`` layout, so ``nnx.with_partitioning`` initialisers shard weight by weight.
:func:`layer_params` returns a layer's NamedTuple:
``jaxrnn.lstm_scan(layer_params(model, 0), xs)`` runs the first layer.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrnn._src import modules as mc
from jaxrnn._src.renames import MISSING, alias, renamed
from jaxrnn._src.typing import Array, DType
from jaxrnn.cell import Cell, get_cell
from jaxrnn.layers import StackOptions, stack
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init
from jaxrnn.xlstm import XLSTMStackParams, init_xlstm_stack, xlstm_stack


def make_params(layout: Any, inits: mc.Inits, rngs: nnx.Rngs) -> nnx.Dict:
    """One ``nnx.Param`` per stored leaf of ``layout``, in nested ``nnx.Dict`` objects."""

    def to_nnx(tree: Any) -> Any:
        return nnx.Dict({k: to_nnx(v) for k, v in tree.items()}) if isinstance(tree, dict) else tree

    return to_nnx(mc.build(
        layout,
        lambda path, leaf: nnx.Param(inits(rngs.params(), leaf)),
        lambda leaf, siblings: nnx.Param(mc.derived(leaf, siblings, inits.param_dtype)),
    ))  # fmt: skip


def values(node: Any, layout: Any = None) -> Any:
    """Nested ``nnx.Dict`` of ``nnx.Param`` -> the NamedTuple of their values."""

    def plain(n: Any) -> Any:
        if isinstance(n, Mapping):
            return {k: plain(v) for k, v in n.items()}
        return n[...] if isinstance(n, nnx.Variable) else n

    return mc.rebuild(plain(node), layout=layout)


def layer_params(module: Stack | RecurrentCell, layer: int | None = None) -> Any:
    """Layer ``layer`` of a stack (or a cell's parameters) as the cell's NamedTuple.

    Example:
        >>> import jax.numpy as jnp, jaxrnn
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTM, layer_params
        >>> model = LSTM(3, 4, rngs=nnx.Rngs(0))
        >>> jaxrnn.lstm_scan(layer_params(model, 0), jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """
    if layer is None and isinstance(module, RecurrentCell):
        return module.params()
    if layer is not None and isinstance(module, Stack):
        return module.layer(layer)
    raise TypeError(
        "expected a cell with layer=None or a stack with a layer index, got "
        f"{type(module).__name__} with layer={layer!r}"
    )


class RecurrentCell(nnx.RNNCellBase):
    """Any registered cell as a ``flax.nnx.RNNCellBase`` (Flax's argument names).

    Args:
        in_features, features: input size ``d_in`` and size ``d_h``.
        cell: the cell's name (``"lstm"``, ``"gru"``, ...; :func:`jaxrnn.cell_names`) or a
            :class:`jaxrnn.Cell` (the subclasses fix it).
        rngs: ``nnx.Rngs`` with a ``params`` stream.
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``,
            ``"recurrent"`` and ``"bias"`` leaves, called with the stored ``(out, in)``
            shapes.
        carry_init: initialiser of each carry leaf; None: the cell's initial carry.
        dtype: compute dtype (inputs, carry, parameters cast to it); None promotes.
        param_dtype: dtype of the parameters.
        cell_options: options of the cell's layout (``forget_bias``, ``num_heads``, ...).

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import RecurrentCell
        >>> nnx.RNN(RecurrentCell(3, 4, cell="gru", rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "lstm"

    def __init__(
        self,
        in_features: int,
        features: int,
        *,
        rngs: nnx.Rngs,
        cell: str | Cell | None = None,
        kernel_init: Any = default_input_init,
        recurrent_kernel_init: Any = default_recurrent_init,
        bias_init: Any = default_bias_init,
        carry_init: Any = None,
        dtype: DType | None = None,
        param_dtype: DType = jnp.float32,
        cell_options: Mapping[str, Any] | None = None,
        forget_bias: float = 0.0,
    ) -> None:
        self.family = nnx.static(get_cell(cell if cell is not None else type(self).cell,
                                          f"jaxrnn.nnx.{type(self).__name__}"))  # fmt: skip
        self.in_features, self.features = in_features, features
        self.dtype, self.param_dtype, self.carry_init = dtype, param_dtype, carry_init
        given = dict(cell_options or {})
        given.setdefault("forget_bias", forget_bias)
        self.options = nnx.static(mc.cell_options(self.family, **given))
        inits = mc.Inits(kernel_init, recurrent_kernel_init, bias_init, param_dtype, self.options)
        self.layout = nnx.static(self.family.layout(in_features, features, **self.options))
        self.weights = make_params(self.layout, inits, rngs)

    def params(self) -> Any:
        """The parameters as the cell's NamedTuple (``LSTMParams``, ``RNNParams``, ...)."""
        return values(self.weights, self.layout)

    def __call__(self, carry: Any, inputs: Array) -> tuple[Any, Array]:
        """One step: ``(carry_{t-1}, x_t) -> (carry_t, y_t)``; ``inputs`` is ``(..., d_in)``."""
        return mc.step(self.family, self.params(), carry, inputs, self.dtype)

    def initialize_carry(
        self, input_shape: tuple[int, ...], rngs: Any = None, carry_init: Any = None
    ) -> Any:
        """The carry for inputs of shape ``(*batch, d_in)``."""
        init = carry_init or self.carry_init
        key = rngs.carry() if isinstance(rngs, nnx.Rngs) else jax.random.key(0)
        dims = {"d_in": input_shape[-1], "d_h": self.features, **self.options}
        return mc.init_carry(self.family, dims, tuple(input_shape[:-1]),
                             self.dtype or self.param_dtype, init, key)  # fmt: skip

    @property
    def num_feature_axes(self) -> int:
        return 1


class RNNCell(RecurrentCell):
    r"""The vanilla (Elman) RNN cell, a ``flax.nnx.RNNCellBase``.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s)

    Carry and output are ``s_t``. Parameters ``weights["U"] (d_h, d_in)``,
    ``weights["W"] (d_h, d_h)``, ``weights["b_s"] (d_h,)``. Arguments as for
    :class:`RecurrentCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import RNNCell
        >>> layer = nnx.RNN(RNNCell(3, 4, rngs=nnx.Rngs(0)))
        >>> layer(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "rnn"


class LSTMCell(RecurrentCell):
    r"""The LSTM cell (:func:`jaxrnn.lstm_step`), a ``flax.nnx.RNNCellBase``.

    Carry ``jaxrnn.LSTMState(h, C)``, output ``h_t``. Parameters ``weights[g]["U"]``,
    ``["W"]``, ``["b"]`` for each gate ``g`` in ``f, i, c, o``. Arguments as for
    :class:`RecurrentCell`, plus ``forget_bias`` (1.0) added to ``b_f`` at initialisation.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTMCell
        >>> cell = LSTMCell(3, 4, rngs=nnx.Rngs(0))
        >>> nnx.RNN(cell)(jnp.ones((2, 5, 3))).shape, cell.params().f.b.tolist()
        ((2, 5, 4), [1.0, 1.0, 1.0, 1.0])
    """

    cell: ClassVar[str | Cell] = "lstm"

    def __init__(self, in_features: int, features: int, *, forget_bias: float = 1.0,
                 rngs: nnx.Rngs, **options: Any) -> None:  # fmt: skip
        super().__init__(in_features, features, rngs=rngs, forget_bias=forget_bias, **options)


class GRUCell(RecurrentCell):
    r"""The GRU cell (:func:`jaxrnn.gru_step`, ``reset_after=True``), a ``flax.nnx.RNNCellBase``.

    Carry and output ``h_t``. Parameters ``weights[g]["U"]``, ``["W"]``, ``["b"]`` for each
    gate ``g`` in ``z, r, n``, and ``weights["b_hn"]``. Arguments as for :class:`RecurrentCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import GRUCell
        >>> nnx.RNN(GRUCell(3, 4, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "gru"


class MinGRUCell(RecurrentCell):
    """The minGRU cell (:func:`jaxrnn.mingru_step`), a ``flax.nnx.RNNCellBase``; carry ``h_t``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import MinGRUCell
        >>> nnx.RNN(MinGRUCell(3, 4, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "mingru"


class MinLSTMCell(RecurrentCell):
    """The minLSTM cell (:func:`jaxrnn.minlstm_step`), a ``flax.nnx.RNNCellBase``; carry ``h_t``."""

    cell: ClassVar[str | Cell] = "minlstm"


class SLSTMCell(RecurrentCell):
    """The sLSTM cell (:func:`jaxrnn.slstm_step`), a ``flax.nnx.RNNCellBase``."""

    cell: ClassVar[str | Cell] = "slstm"


class MLSTMLayerCell(RecurrentCell):
    """The xLSTM mLSTM layer (``"mlstm_layer"``, ``d -> d``), one step per call."""

    cell: ClassVar[str | Cell] = "mlstm_layer"


class SLSTMLayerCell(RecurrentCell):
    """The xLSTM sLSTM layer (``"slstm_layer"``, ``d -> d``), one step per call."""

    cell: ClassVar[str | Cell] = "slstm_layer"


def _with_options(options: dict[str, Any], **named: Any) -> dict[str, Any]:
    """``options`` with the named cell options merged into its ``cell_options``."""
    given = {**dict(options.pop("cell_options", None) or {}), **named}
    return {**options, "cell_options": given}


class RGLRUCell(RecurrentCell):
    """The RG-LRU (:func:`jaxrnn.rglru_step`), a ``flax.nnx.RNNCellBase``; carry ``h_t``.

    ``in_features == features`` (the width ``d``); ``num_heads``, ``min_rad``, ``max_rad``
    as :func:`jaxrnn.init_rglru_params`. ``nnx.RNN`` has no segment starts.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import RGLRUCell
        >>> cell = RGLRUCell(4, 4, num_heads=2, rngs=nnx.Rngs(0))
        >>> nnx.RNN(cell)(jnp.ones((2, 5, 4))).shape, cell.params().W_a.shape
        ((2, 5, 4), (2, 2, 2))
    """

    cell: ClassVar[str | Cell] = "rglru"

    def __init__(self, in_features: int, features: int, *, num_heads: int = 1,
                 min_rad: float = 0.9, max_rad: float = 0.999, rngs: nnx.Rngs,
                 **options: Any) -> None:  # fmt: skip
        options = _with_options(options, num_heads=num_heads, min_rad=min_rad, max_rad=max_rad)
        super().__init__(in_features, features, rngs=rngs, **options)


class HawkCell(RecurrentCell):
    """The Hawk block (:func:`jaxrnn.hawk_step`), a ``flax.nnx.RNNCellBase``; carry
    ``jaxrnn.HawkState`` (the convolution's window and ``h``), output of size ``features``.

    ``lru_width``, ``num_heads``, ``conv_width`` as :func:`jaxrnn.init_hawk_params`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import HawkCell
        >>> nnx.RNN(HawkCell(3, 4, lru_width=6, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "hawk"

    def __init__(self, in_features: int, features: int, *, lru_width: int | None = None,
                 num_heads: int = 1, conv_width: int = 4, rngs: nnx.Rngs,
                 **options: Any) -> None:  # fmt: skip
        options = _with_options(options, lru_width=lru_width, num_heads=num_heads,
                                conv_width=conv_width)  # fmt: skip
        super().__init__(in_features, features, rngs=rngs, **options)


class LRUCell(RecurrentCell):
    """The LRU, a ``flax.nnx.RNNCellBase``: a complex carry of ``features`` channels, real
    outputs of size ``in_features``; ``r_min``, ``r_max``, ``max_phase`` as
    :func:`jaxrnn.init_lru_params`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LRUCell
        >>> nnx.RNN(LRUCell(3, 8, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 3)
    """

    cell: ClassVar[str | Cell] = "lru"


# --- stacks -----------------------------------------------------------------------------------


class Stack(nnx.Module):
    r"""A stack of layers of any registered cell on its fast loop (:func:`jaxrnn.stack`).

    Args:
        in_features: input size ``d_in`` (old name ``d_in``).
        features: hidden size ``d_h`` (old name ``d_h``).
        cell: the cell's name or a :class:`jaxrnn.Cell` (the subclasses fix it).
        rngs: ``nnx.Rngs`` (``params``, and ``dropout`` when ``dropout > 0``).
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0), active in ``.train()`` mode
            (the default) and off after ``.eval()`` or with ``deterministic=True``.
        forget_bias: added to ``b_f`` at initialisation (cells with that option).
        d_out: readout size of the top layer (cells with a readout).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``,
            ``"recurrent"`` and ``"bias"`` leaves (stored ``(out, in)`` shapes;
            ``nnx.with_partitioning`` works).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs, carries cast to it); None promotes.
            (In jaxrnn 0.1 ``dtype`` was the parameters' dtype: passed alone, it still
            sets both, with a ``DeprecationWarning``.)
        unroll, remat: passed to the loops (``unroll=8`` is the GPU setting).
        time_major, reverse, keep_order: as for ``flax.nnx.RNN``.
        return_carry: return ``(final_carries, outputs)`` (default) or only ``outputs``.
        cell_options: more options of the cell's layout.

    Call with ``xs (B, T, d_in)``, optional ``seq_lengths (B,)`` (``lengths``
    accepted), ``initial_carry``, ``resets (B, T)`` and ``reset_carry`` (see
    :func:`jaxrnn.stack`); returns ``(final_carries, hs)``
    as :class:`jaxrnn.linen.Stack` does.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import Stack
        >>> model = Stack(3, 4, cell="gru", num_layers=2, rngs=nnx.Rngs(0))
        >>> model(jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "lstm"

    def __init__(
        self,
        in_features: int | None = None,
        features: int | None = None,
        *,
        rngs: nnx.Rngs,
        cell: str | Cell | None = None,
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
        cell_options: Mapping[str, Any] | None = None,
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
        family = get_cell(cell if cell is not None else type(self).cell, where)
        given = {**dict(cell_options or {}), "forget_bias": forget_bias, "d_out": d_out}
        options = mc.cell_options(family, **given)
        inits = mc.Inits(kernel_init, recurrent_kernel_init, bias_init, param_dtype, options)
        layouts = mc.stack_layouts(family, in_features, features, num_layers=num_layers,
                                   bidirectional=bidirectional, merge=merge,
                                   options=options)  # fmt: skip
        self.layouts = nnx.static(tuple(layouts))
        self.layers = nnx.List([make_params(layout, inits, rngs) for layout in layouts])
        self.options: StackOptions = nnx.static(StackOptions(**{
            "merge": merge, "dropout": dropout, "time_major": time_major, "reverse": reverse,
            "keep_order": keep_order, "unroll": unroll, "remat": remat, "dtype": dtype,
        }))  # fmt: skip
        self.return_carry = return_carry
        self.deterministic = False
        self.dropout_rngs: nnx.RngStream | None = (
            rngs["dropout"].fork() if dropout > 0 else nnx.data(None)
        )

    def layer(self, l: int) -> Any:
        """Layer ``l``'s parameters as the cell's NamedTuple (or a ``Bidirectional`` pair)."""
        return values(self.layers[l], self.layouts[l])

    def __call__(
        self,
        xs: Array,
        seq_lengths: Array | None = None,
        initial_carry: Any = None,
        *,
        resets: Array | None = None,
        reset_carry: Any = None,
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
        layers = tuple(self.layer(l) for l in range(len(self.layers)))
        options: StackOptions = {**self.options, "seq_lengths": seq_lengths, "key": key,
                                 "resets": resets, "reset_carry": reset_carry}  # fmt: skip
        finals, outputs = stack(layers, xs, initial_carry, **options)
        return (finals, outputs) if self.return_carry else outputs


class LSTM(Stack):
    r"""A stack of LSTM layers on jaxrnn's fast loops (equations: :func:`jaxrnn.lstm_step`).

    Arguments as for :class:`Stack`, with ``forget_bias`` 1.0 by default.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTM
        >>> model = LSTM(3, 4, num_layers=2, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[1].bwd.C.shape, model.layers[1]["bwd"]["f"]["U"].shape
        ((2, 5, 8), (2, 4), (4, 8))
    """

    cell: ClassVar[str | Cell] = "lstm"

    def __init__(
        self, *args: Any, forget_bias: float = 1.0, rngs: nnx.Rngs, **options: Any
    ) -> None:
        super().__init__(*args, rngs=rngs, forget_bias=forget_bias, **options)


class GRU(Stack):
    r"""A stack of GRU layers on the fast loops (``reset_after=True``; :func:`jaxrnn.gru_step`).

    Arguments as for :class:`Stack`; returns ``(final_carries, hs)`` with one ``h_T`` array
    (or ``Bidirectional`` pair) per layer.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import GRU
        >>> model = GRU(3, 4, bidirectional=True, rngs=nnx.Rngs(0))
        >>> finals, hs = model(jnp.ones((2, 5, 3)), jnp.array([5, 3]))
        >>> hs.shape, finals[0].bwd.shape
        ((2, 5, 8), (2, 4))
    """

    cell: ClassVar[str | Cell] = "gru"


class MinGRU(Stack):
    """A stack of minGRU layers (:func:`jaxrnn.mingru_scan`); arguments as for :class:`Stack`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import MinGRU
        >>> MinGRU(3, 4, num_layers=2, rngs=nnx.Rngs(0))(jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """

    cell: ClassVar[str | Cell] = "mingru"


class MinLSTM(Stack):
    """A stack of minLSTM layers (:func:`jaxrnn.minlstm_scan`); arguments as for :class:`Stack`."""

    cell: ClassVar[str | Cell] = "minlstm"


class Hawk(Stack):
    """A stack of Hawk blocks (:func:`jaxrnn.hawk_scan`, parallel over time); arguments as for
    :class:`Stack`, plus ``lru_width``, ``num_heads``, ``conv_width``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import Hawk
        >>> model = Hawk(4, 4, num_layers=2, num_heads=2, rngs=nnx.Rngs(0))
        >>> finals, ys = model(jnp.ones((2, 5, 4)))
        >>> ys.shape, finals[0].h.shape
        ((2, 5, 4), (2, 4))
    """

    cell: ClassVar[str | Cell] = "hawk"

    def __init__(self, *args: Any, lru_width: int | None = None, num_heads: int = 1,
                 conv_width: int = 4, rngs: nnx.Rngs, **options: Any) -> None:  # fmt: skip
        options = _with_options(options, lru_width=lru_width, num_heads=num_heads,
                                conv_width=conv_width)  # fmt: skip
        super().__init__(*args, rngs=rngs, **options)


class LRU(Stack):
    """A stack of LRU layers (:func:`jaxrnn.lru_scan`): ``features`` complex channels, outputs
    of size ``in_features``; arguments as for :class:`Stack`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LRU
        >>> LRU(3, 8, num_layers=2, rngs=nnx.Rngs(0))(jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 3)
    """

    cell: ClassVar[str | Cell] = "lru"


class SimpleRNN(Stack):
    r"""A stack of vanilla RNN layers with a readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer, top layer
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``); lower layers have no
    readout. Arguments as for :class:`Stack`, plus ``d_out`` (readout size); returns
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

    cell: ClassVar[str | Cell] = "rnn"

    def __init__(self, *args: Any, d_out: int, rngs: nnx.Rngs, **options: Any) -> None:
        super().__init__(*args, rngs=rngs, d_out=d_out, **options)


class SLSTM(Stack):
    """A stack of sLSTM layers (:func:`jaxrnn.slstm_scan`); arguments as for :class:`Stack`."""

    cell: ClassVar[str | Cell] = "slstm"


class MLSTMLayer(Stack):
    """Stacked xLSTM mLSTM layers (``in_features == features == d``); as :class:`Stack`."""

    cell: ClassVar[str | Cell] = "mlstm_layer"


class SLSTMLayer(Stack):
    """Stacked xLSTM sLSTM layers (``in_features == features == d``); as :class:`Stack`."""

    cell: ClassVar[str | Cell] = "slstm_layer"


class XLSTMBlockStack(nnx.Module):
    """The xLSTM block stack (:func:`jaxrnn.xlstm_stack`) as an NNX module: one ``nnx.Param``
    per array of the :class:`jaxrnn.XLSTMStackParams`; :meth:`params` returns it.

    Args:
        features: the embedding size ``d``.
        rngs: ``nnx.Rngs`` with a ``params`` stream.
        others: as for :func:`jaxrnn.init_xlstm_stack` (``param_dtype`` is its ``dtype``).

    Call with ``xs (B, T, d)``, optional ``seq_lengths`` and ``initial_carry``; returns
    ``(final_carries, ys)``.
    """

    def __init__(self, features: int, *, rngs: nnx.Rngs, num_blocks: int = 2,
                 slstm_at: tuple[int, ...] = (1,), mlstm_options: Any = None,
                 slstm_options: Any = None, ffn_proj_factor: float = 1.3, post_norm: bool = True,
                 param_dtype: Any = jnp.float32) -> None:  # fmt: skip
        p = init_xlstm_stack(rngs.params(), features, num_blocks=num_blocks, slstm_at=slstm_at,
                             mlstm_options=mlstm_options, slstm_options=slstm_options,
                             ffn_proj_factor=ffn_proj_factor, post_norm=post_norm,
                             dtype=param_dtype)  # fmt: skip
        leaves, treedef = jax.tree.flatten(p)
        self.treedef = nnx.static(treedef)
        self.weights = nnx.List([nnx.Param(a) for a in leaves])

    def params(self) -> XLSTMStackParams:
        """The parameters as a :class:`jaxrnn.XLSTMStackParams`."""
        return jax.tree.unflatten(self.treedef, [w[...] for w in self.weights])

    def __call__(self, xs: Array, seq_lengths: Array | None = None,
                 initial_carry: Any = None) -> Any:  # fmt: skip
        return xlstm_stack(self.params(), xs, initial_carry, lengths=seq_lengths)


__all__ = [
    "GRU",
    "GRUCell",
    "Hawk",
    "HawkCell",
    "LRU",
    "LRUCell",
    "LSTM",
    "LSTMCell",
    "MLSTMLayer",
    "MLSTMLayerCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "RGLRUCell",
    "RNNCell",
    "RecurrentCell",
    "SLSTM",
    "SLSTMCell",
    "SLSTMLayer",
    "SLSTMLayerCell",
    "SimpleRNN",
    "Stack",
    "XLSTMBlockStack",
    "layer_params",
    "make_params",
    "values",
]
