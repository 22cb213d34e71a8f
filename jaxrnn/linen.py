"""Flax Linen modules (needs ``flax``): cells for ``nn.RNN`` and fast stacks, for any cell.

- :class:`RecurrentCell`: a ``flax.linen.RNNCellBase`` over any registered cell
  (``RecurrentCell(8, cell="gru")``), for ``nn.RNN``, ``nn.Bidirectional`` and
  ``nn.scan`` (one step per call). :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`,
  :class:`MinGRUCell`, :class:`MinLSTMCell`, :class:`RGLRUCell`, :class:`HawkCell`,
  :class:`LRUCell` are it with their cell.
- :class:`Stack`: whole sequences of any registered cell on its fast loop
  (:func:`jaxrnn.stack`), uni- or bidirectional, with ``unroll``, ``remat``, ``resets`` and a
  compute ``dtype``. :class:`LSTM`, :class:`GRU`, :class:`SimpleRNN`, :class:`MinGRU`,
  :class:`MinLSTM`, :class:`Hawk`, :class:`LRU` are it with their cell.

Parameters are stored leaf by leaf under the field names of the cell's NamedTuple
(``params/layer_0/f/U``, or ``params/layer_0/fwd/f/U`` when bidirectional), in the
``(out, in)`` layout, so ``flax.traverse_util.flatten_dict`` lists every weight and each
initialiser may carry ``nn.with_partitioning`` (one initialiser per role: ``kernel_init``,
``recurrent_kernel_init``, ``bias_init``). :func:`layer_params` rebuilds a layer's
NamedTuple: ``jaxrnn.lstm_scan(layer_params(variables, 0), xs)`` runs the first layer.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxrnn._src import modules as mc
from jaxrnn._src.renames import MISSING, alias, renamed
from jaxrnn._src.typing import Array, DType, PRNGKey
from jaxrnn.cell import Cell, get_cell
from jaxrnn.layers import stack
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init
from jaxrnn.xlstm import init_xlstm_stack, xlstm_stack


def layer_params(variables: Any, layer: int | None = None) -> Any:
    """A layer's (or a cell's) parameters from Linen variables, as the cell's NamedTuple.

    Args:
        variables: the variables of a cell or of a stack (``model.init(...)``), their
            ``"params"`` entry, or a cell's own sub-dict (``variables["params"]["cell"]``).
            Partitioning boxes (``nn.with_partitioning``) are removed.
        layer: for a stack, the layer index ``l`` (the entry ``layer_{l}``).

    Returns:
        An ``LSTMParams``, ``RNNParams`` (or another registered cell's params), or a
        ``Bidirectional`` pair of them, ready for :func:`jaxrnn.lstm_scan` / :func:`jaxrnn.stack`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, jaxrnn
        >>> from jaxrnn.linen import LSTMCell, layer_params
        >>> variables = nn.RNN(LSTMCell(4)).init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> p = layer_params(variables["params"]["cell"])
        >>> jaxrnn.lstm_scan(p, jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """
    tree = nn.meta.unbox(variables)
    if hasattr(tree, "keys") and "params" in tree:
        tree = tree["params"]
    if layer is not None:
        tree = tree[f"layer_{layer}"]
    return mc.rebuild(tree)


def make_params(module: nn.Module, layout: Any, inits: mc.Inits) -> Any:
    """Create the parameters of ``layout`` in ``module`` leaf by leaf; the NamedTuple.

    A top-level array field is one ``module.param`` built by its role's initialiser (so
    ``nn.with_partitioning`` boxes pass through untouched); a nested field (an LSTM gate)
    is one ``module.param`` holding a dict of arrays.
    """
    tree: dict[str, Any] = {}
    for name in layout._fields:
        node = getattr(layout, name)
        if mc.is_leaf(node):
            if mc.stored(node) and node.derive is not None:  # from the leaves before it
                value = mc.derived(node, tree, inits.param_dtype)
                tree[name] = module.param(name, lambda key, v=value: v)
            elif mc.stored(node):
                tree[name] = module.param(name, lambda key, leaf=node: inits(key, leaf))
        else:
            tree[name] = module.param(name, lambda key, sub=node: mc.init_tree(key, sub, inits))
    return mc.rebuild(tree, layout=layout)


class RecurrentCell(nn.RNNCellBase):
    """Any registered cell as a ``flax.linen.RNNCellBase``: one step per call.

    Attributes:
        features: the cell's size ``d_h``.
        cell: the cell's name (``"lstm"``, ``"gru"``, ...; :func:`jaxrnn.cell_names`) or a
            :class:`jaxrnn.Cell`.
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``,
            ``"recurrent"`` and ``"bias"`` leaves (Flax's names), called with the stored
            ``(out, in)`` shapes.
        carry_init: initialiser of each carry leaf; None (default): the cell's initial
            carry (zeros for most cells).
        dtype: compute dtype (inputs, carry and parameters are cast to it); None promotes
            them, as Flax's cells do.
        param_dtype: dtype of the parameters.
        cell_options: options of the cell's layout (``{"forget_bias": 1.0}``, ``num_heads``).

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import RecurrentCell
        >>> layer = nn.RNN(RecurrentCell(4, cell="gru"))
        >>> xs = jnp.ones((2, 5, 3))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 4)
    """

    features: int
    cell: str | Cell = "lstm"
    kernel_init: Any = default_input_init
    recurrent_kernel_init: Any = default_recurrent_init
    bias_init: Any = default_bias_init
    carry_init: Any = None
    dtype: DType | None = None
    param_dtype: DType = jnp.float32
    cell_options: Any = None

    def _cell(self) -> Cell:
        return get_cell(self.cell, f"jaxrnn.linen.{type(self).__name__}")

    def _options(self) -> dict[str, Any]:
        cell = self._cell()
        given = dict(self.cell_options or {})
        for name in cell.init_options:  # a subclass's attribute (forget_bias, num_heads)
            if hasattr(self, name):
                given.setdefault(name, getattr(self, name))
        return mc.cell_options(cell, **given)

    @nn.compact
    def __call__(self, carry: Any, inputs: Array) -> tuple[Any, Array]:
        """One step: ``(carry_{t-1}, x_t) -> (carry_t, y_t)``; ``inputs`` is ``(..., d_in)``."""
        cell, options = self._cell(), self._options()
        layout = cell.layout(inputs.shape[-1], self.features, **options)
        inits = mc.Inits(self.kernel_init, self.recurrent_kernel_init, self.bias_init,
                         self.param_dtype, options)  # fmt: skip
        params = make_params(self, layout, inits)
        return mc.step(cell, params, carry, inputs, self.dtype)

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> Any:
        """The carry for inputs of shape ``input_shape = (*batch, d_in)``."""
        cell = self._cell()
        dims = {"d_in": input_shape[-1], "d_h": self.features, **self._options()}
        return mc.init_carry(cell, dims, tuple(input_shape[:-1]),
                             self.dtype or self.param_dtype, self.carry_init, rng)  # fmt: skip

    @property
    def num_feature_axes(self) -> int:
        return 1


class RNNCell(RecurrentCell):
    r"""The vanilla (Elman) RNN cell, a ``flax.linen.RNNCellBase``.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s)

    The carry and the output are both ``s_t`` (no readout). Parameters ``U (d_h, d_in)``,
    ``W (d_h, d_h)``, ``b_s (d_h,)``; ``layer_params`` gives an ``RNNParams`` with an empty
    readout. Attributes as for :class:`RecurrentCell`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import RNNCell
        >>> layer = nn.RNN(RNNCell(features=4))
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = layer.init(jax.random.key(0), xs)
        >>> layer.apply(variables, xs).shape, sorted(variables["params"]["cell"])
        ((2, 5, 4), ['U', 'W', 'b_s'])
    """

    cell: str | Cell = "rnn"


class LSTMCell(RecurrentCell):
    r"""The LSTM cell (:func:`jaxrnn.lstm_step`), a ``flax.linen.RNNCellBase``.

    .. math::

        f_t, i_t, o_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \qquad
        \tilde C_t = \tanh(U_c x_t + W_c h_{t-1} + b_c) \\
        C_t &= f_t \odot C_{t-1} + i_t \odot \tilde C_t, \qquad h_t = o_t \odot \tanh(C_t)

    The carry is ``jaxrnn.LSTMState(h, C)`` (Flax's ``LSTMCell`` uses ``(c, h)``), the
    output ``h_t``. Parameters: one ``{U, W, b}`` per gate ``f, i, c, o``.

    Attributes:
        features: hidden size ``d_h``.
        forget_bias: added to ``b_f`` at initialisation (1.0; Flax's cells add none).
        others: as for :class:`RecurrentCell`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import LSTMCell
        >>> layer = nn.Bidirectional(nn.RNN(LSTMCell(4)), nn.RNN(LSTMCell(4)))
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = layer.init(jax.random.key(0), xs)
        >>> layer.apply(variables, xs).shape
        (2, 5, 8)
    """

    forget_bias: float = 1.0
    cell: str | Cell = "lstm"


class GRUCell(RecurrentCell):
    r"""The GRU cell (:func:`jaxrnn.gru_step`, ``reset_after=True``), a ``flax.linen.RNNCellBase``.

    .. math::

        z_t, r_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \qquad
        n_t = \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Carry and output are ``h_t``, as in Flax's ``GRUCell``. Parameters: ``{U, W, b}`` per
    gate ``z, r, n`` and ``b_hn``. Attributes as for :class:`RecurrentCell`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import GRUCell
        >>> layer = nn.RNN(GRUCell(4))
        >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> layer.apply(variables, jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: str | Cell = "gru"


class MinGRUCell(RecurrentCell):
    """The minGRU cell (:func:`jaxrnn.mingru_step`), a ``flax.linen.RNNCellBase``; carry ``h_t``.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import MinGRUCell
        >>> layer = nn.RNN(MinGRUCell(4))
        >>> xs = jnp.ones((2, 5, 3))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 4)
    """

    cell: str | Cell = "mingru"


class MinLSTMCell(RecurrentCell):
    """The minLSTM cell (:func:`jaxrnn.minlstm_step`), a linen ``RNNCellBase``; carry ``h_t``."""

    cell: str | Cell = "minlstm"


class SLSTMCell(RecurrentCell):
    """The sLSTM cell (:func:`jaxrnn.slstm_step`), a linen ``RNNCellBase``; carry
    ``jaxrnn.SLSTMState``. ``cell_options={"num_heads": k}`` sets the heads."""

    cell: str | Cell = "slstm"


class MLSTMLayerCell(RecurrentCell):
    """The xLSTM mLSTM layer (the cell ``"mlstm_layer"``, ``d -> d``), one step per call;
    ``cell_options``: ``num_heads``, ``proj_factor``, ``qkv_blocksize``, ``conv_kernel``."""

    cell: str | Cell = "mlstm_layer"


class SLSTMLayerCell(RecurrentCell):
    """The xLSTM sLSTM layer (the cell ``"slstm_layer"``, ``d -> d``), one step per call;
    ``cell_options``: ``num_heads``, ``conv_kernel``.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import SLSTMLayerCell
        >>> layer = nn.RNN(SLSTMLayerCell(8, cell_options={"num_heads": 2}))
        >>> xs = jnp.ones((2, 5, 8))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 8)
    """

    cell: str | Cell = "slstm_layer"


class RGLRUCell(RecurrentCell):
    r"""The RG-LRU (:func:`jaxrnn.rglru_step`), a ``flax.linen.RNNCellBase``; carry ``h_t``.

    ``features`` is the width ``d``, which the input must have too. ``nn.RNN`` has no
    segment starts: a step always reads its carry (:func:`jaxrnn.rglru_scan` takes
    ``resets``).

    .. math::

        a_t = \exp(-8 \sigma(W_a x_t + b_a) \odot \mathrm{softplus}(\Lambda)), \quad
        h_t = a_t \odot h_{t-1} + \sqrt{1 - a_t^2} \odot (\sigma(W_x x_t + b_x) \odot x_t)

    Attributes:
        num_heads: the number of diagonal blocks of ``W_a``, ``W_x`` (1).
        min_rad, max_rad: the ring ``Λ`` is drawn on (0.9, 0.999).

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import RGLRUCell
        >>> layer = nn.RNN(RGLRUCell(4, num_heads=2))
        >>> xs = jnp.ones((2, 5, 4))
        >>> variables = layer.init(jax.random.key(0), xs)
        >>> layer.apply(variables, xs).shape, variables["params"]["cell"]["W_a"].shape
        ((2, 5, 4), (2, 2, 2))
    """

    cell: str | Cell = "rglru"
    num_heads: int = 1
    min_rad: float = 0.9
    max_rad: float = 0.999


class HawkCell(RecurrentCell):
    """The Hawk block (:func:`jaxrnn.hawk_step`) one step per call, a ``flax.linen.RNNCellBase``:
    the carry ``jaxrnn.HawkState`` holds the convolution's window and the RG-LRU's ``h``.

    Attributes:
        features: the output size ``d_h``.
        lru_width: the RG-LRU's width (None: ``features``).
        num_heads, conv_width, min_rad, max_rad: as :func:`jaxrnn.init_hawk_params`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import HawkCell
        >>> layer = nn.RNN(HawkCell(4, lru_width=6))
        >>> xs = jnp.ones((2, 5, 3))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 4)
    """

    cell: str | Cell = "hawk"
    lru_width: int | None = None
    num_heads: int = 1
    conv_width: int = 4
    min_rad: float = 0.9
    max_rad: float = 0.999


class LRUCell(RecurrentCell):
    """The LRU (:func:`jaxrnn.lru_scan`'s step), a ``flax.linen.RNNCellBase``: a complex carry
    of ``features`` channels, real outputs of the input's size.

    Attributes:
        r_min, r_max, max_phase: as :func:`jaxrnn.init_lru_params`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import LRUCell
        >>> layer = nn.RNN(LRUCell(8))
        >>> xs = jnp.ones((2, 5, 3))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 3)
    """

    cell: str | Cell = "lru"
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = 6.283185307179586


# --- stacks -----------------------------------------------------------------------------------


class Stack(nn.Module):
    r"""A stack of layers of any registered cell on its fast loop (:func:`jaxrnn.stack`).

    Attributes:
        features: hidden size ``d_h``.
        cell: the cell's name (``"lstm"``, ``"gru"``, ...) or a :class:`jaxrnn.Cell`.
        num_layers: number of stacked layers.
        bidirectional: run each layer forward and backward over the same lengths.
        merge: ``"concat"``, ``"sum"`` or ``"mean"`` of the two directions.
        dropout: dropout rate between layers (default 0.0); active unless
            ``deterministic`` (the call argument, else this attribute) is True, and then
            needs the ``"dropout"`` rng.
        deterministic: default of the call argument (None: training mode).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``,
            ``"recurrent"`` and ``"bias"`` leaves (called with the stored ``(out, in)``
            shapes; ``nn.with_partitioning`` boxes are kept).
        param_dtype: dtype of the parameters.
        dtype: compute dtype (parameters, inputs and carries cast to it); None promotes.
        unroll, remat: passed to the loops (:func:`jaxrnn.lstm_scan`; ``unroll=8`` is
            the GPU setting).
        time_major, reverse, keep_order: as for ``flax.linen.RNN``.
        return_carry: return ``(final_carries, outputs)`` (default, jaxrnn 0.1's
            behaviour) or only ``outputs`` (Flax's ``nn.RNN`` default).
        cell_options: options of the cell's layout (``forget_bias``, ``d_out``, ...).

    Call with ``xs (B, T, d_in)``, optional ``seq_lengths (B,)`` (``lengths`` accepted),
    optional ``initial_carry`` (one per layer, as returned), ``resets (B, T)`` and
    ``reset_carry`` (see :func:`jaxrnn.stack`), ``deterministic``. The final carries are
    one carry (or ``Bidirectional`` pair) per layer; the outputs are the top layer's
    ``(B, T, d_h)`` (``2 d_h`` for ``concat``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import Stack
        >>> model = Stack(4, cell="gru", num_layers=2)
        >>> xs = jnp.ones((2, 5, 3))
        >>> finals, hs = model.apply(model.init(jax.random.key(0), xs), xs)
        >>> hs.shape, finals[1].shape
        ((2, 5, 4), (2, 4))
    """

    features: int
    cell: str | Cell = "lstm"
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
    cell_options: Any = None

    def _options(self, cell: Cell) -> dict[str, Any]:
        given = dict(self.cell_options or {})
        for name in cell.init_options:  # a subclass's attribute (forget_bias, d_out, num_heads)
            if hasattr(self, name):
                given.setdefault(name, getattr(self, name))
        return mc.cell_options(cell, **given)

    @nn.compact
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
        where = f"jaxrnn.linen.{type(self).__name__}"
        initial_carry = renamed(
            where, "initial_carry", initial_carry, "initial_state", initial_state
        )
        seq_lengths = alias(where, "seq_lengths", seq_lengths, "lengths", lengths)
        cell = get_cell(self.cell, where)
        options = self._options(cell)
        inits = mc.Inits(self.kernel_init, self.recurrent_kernel_init, self.bias_init,
                         self.param_dtype, options)  # fmt: skip
        layouts = mc.stack_layouts(
            cell, xs.shape[-1], self.features, num_layers=self.num_layers,
            bidirectional=self.bidirectional, merge=self.merge, options=options,
        )  # fmt: skip
        layers = tuple(
            mc.rebuild(
                self.param(f"layer_{l}", lambda k, lay=lay: mc.init_tree(k, lay, inits)),
                layout=lay,
            )
            for l, lay in enumerate(layouts)
        )
        deterministic = next(
            (d for d in (deterministic, self.deterministic) if d is not None), False
        )
        key = self.make_rng("dropout") if (self.dropout > 0 and not deterministic) else None
        finals, outputs = stack(
            layers, xs, initial_carry, seq_lengths=seq_lengths, resets=resets,
            reset_carry=reset_carry, merge=self.merge, dropout=self.dropout, key=key,
            time_major=self.time_major, reverse=self.reverse, keep_order=self.keep_order,
            unroll=self.unroll, remat=self.remat, dtype=self.dtype,
        )  # fmt: skip
        return (finals, outputs) if self.return_carry else outputs


class LSTM(Stack):
    r"""A stack of LSTM layers on jaxrnn's fast loops (equations: :func:`jaxrnn.lstm_step`).

    Attributes as for :class:`Stack`, plus ``forget_bias`` (added to ``b_f`` at
    initialisation). The final carries are one ``LSTMState`` (or ``Bidirectional`` pair)
    per layer.

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
    cell: str | Cell = "lstm"


class GRU(Stack):
    r"""A stack of GRU layers on the fast loops (``reset_after=True``; :func:`jaxrnn.gru_step`).

    Attributes as for :class:`Stack`. Returns ``(final_carries, hs)`` with one ``h_T`` array
    (or ``Bidirectional`` pair) per layer.

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

    cell: str | Cell = "gru"


class MinGRU(Stack):
    """A stack of minGRU layers (:func:`jaxrnn.mingru_scan`, parallel over time).

    Attributes as for :class:`Stack` (``unroll``/``remat`` do not apply).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import MinGRU
        >>> model = MinGRU(features=4, num_layers=2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> model.apply(variables, jnp.ones((2, 5, 3)))[1].shape
        (2, 5, 4)
    """

    cell: str | Cell = "mingru"


class MinLSTM(Stack):
    """A stack of minLSTM layers (:func:`jaxrnn.minlstm_scan`); attributes as :class:`MinGRU`."""

    cell: str | Cell = "minlstm"


class Hawk(Stack):
    """A stack of Hawk blocks (:func:`jaxrnn.hawk_scan`, parallel over time): Griffin's
    recurrent block, ``features`` outputs per layer.

    Attributes as for :class:`Stack`, plus ``lru_width``, ``num_heads``, ``conv_width``,
    ``min_rad``, ``max_rad`` (:func:`jaxrnn.init_hawk_params`). Final carries: one
    ``jaxrnn.HawkState`` per layer. ``resets (B, T)`` start segments (RecurrentGemma's
    ``segment_pos == 0``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import Hawk
        >>> model = Hawk(features=4, num_layers=2, num_heads=2)
        >>> xs = jnp.ones((2, 5, 4))
        >>> variables = model.init(jax.random.key(0), xs)
        >>> starts = jnp.zeros((2, 5), bool).at[:, 0].set(True)   # segment_pos == 0
        >>> finals, ys = model.apply(variables, xs, resets=starts)
        >>> ys.shape, finals[1].window.shape
        ((2, 5, 4), (2, 3, 4))
    """

    cell: str | Cell = "hawk"
    lru_width: int | None = None
    num_heads: int = 1
    conv_width: int = 4
    min_rad: float = 0.9
    max_rad: float = 0.999


class LRU(Stack):
    """A stack of LRU layers (:func:`jaxrnn.lru_scan`): ``features`` complex channels each,
    outputs of the input's size. Attributes as for :class:`Stack`, plus ``r_min``, ``r_max``,
    ``max_phase``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.linen import LRU
        >>> model = LRU(features=8, num_layers=2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> finals, ys = model.apply(variables, jnp.ones((2, 5, 3)))
        >>> ys.shape, finals[0].dtype
        ((2, 5, 3), dtype('complex64'))
    """

    cell: str | Cell = "lru"
    r_min: float = 0.0
    r_max: float = 1.0
    max_phase: float = 6.283185307179586


class SimpleRNN(Stack):
    r"""A stack of vanilla RNN layers with a readout on the top layer.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` per layer; the top layer's
    ``logits_t = V s_t + b_o`` (``o_t = softmax(logits_t)``). Lower layers have no readout;
    a bidirectional top layer sums its two readouts.

    Attributes:
        features: hidden size ``d_h``.
        d_out: readout size (number of classes).
        others: as for :class:`Stack` (``kernel_init`` also initialises ``V``).

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
    cell: str | Cell = "rnn"


class SLSTM(Stack):
    """A stack of sLSTM layers (:func:`jaxrnn.slstm_scan`); attributes as for :class:`Stack`."""

    cell: str | Cell = "slstm"


class MLSTMLayer(Stack):
    """Stacked xLSTM mLSTM layers (``features`` = the embedding size ``d``), each on its
    sequence hook (convolution, then the chunkwise mLSTM); attributes as for :class:`Stack`."""

    cell: str | Cell = "mlstm_layer"


class SLSTMLayer(Stack):
    """Stacked xLSTM sLSTM layers (``features`` = ``d``); attributes as for :class:`Stack`."""

    cell: str | Cell = "slstm_layer"


class XLSTMBlockStack(nn.Module):
    """The xLSTM block stack (:func:`jaxrnn.xlstm_stack`): pre-norm residual mLSTM and sLSTM
    blocks, a gated feed-forward after each sLSTM layer, a final norm. The parameters are
    one entry ``"stack"`` holding a :class:`jaxrnn.XLSTMStackParams`.

    Attributes:
        features: the embedding size ``d``.
        num_blocks, slstm_at, mlstm_options, slstm_options, ffn_proj_factor, post_norm:
            as for :func:`jaxrnn.init_xlstm_stack`.
        param_dtype: dtype of the parameters.

    Call with ``xs (B, T, d)``, optional ``seq_lengths (B,)`` and ``initial_carry`` (one per
    block); returns ``(final_carries, ys (B, T, d))``.
    """

    features: int
    num_blocks: int = 2
    slstm_at: tuple[int, ...] = (1,)
    mlstm_options: Any = None
    slstm_options: Any = None
    ffn_proj_factor: float = 1.3
    post_norm: bool = True
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, xs: Array, seq_lengths: Array | None = None,
                 initial_carry: Any = None) -> Any:  # fmt: skip
        params = self.param("stack", lambda key: init_xlstm_stack(
            key, self.features, num_blocks=self.num_blocks, slstm_at=tuple(self.slstm_at),
            mlstm_options=self.mlstm_options, slstm_options=self.slstm_options,
            ffn_proj_factor=self.ffn_proj_factor, post_norm=self.post_norm,
            dtype=self.param_dtype))  # fmt: skip
        return xlstm_stack(params, xs, initial_carry, lengths=seq_lengths)


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
]
