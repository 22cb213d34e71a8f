"""Flax Linen cells over jaxrnn's step functions: ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Each is a genuine ``flax.linen.RNNCellBase``: ``initialize_carry(rng, input_shape)``,
``num_feature_axes == 1`` and ``__call__(carry, x_t) -> (carry_t, y_t)``, so it runs inside
``flax.linen.RNN``, ``nn.Bidirectional`` and ``nn.scan``. Parameters are stored leaf by
leaf under the field names of jaxrnn's NamedTuples (``params/f/U``, ``params/f/W``,
``params/f/b``, ...), in the ``(out, in)`` layout; :func:`jaxrnn.linen.layer_params`
rebuilds the NamedTuple, which :func:`jaxrnn.lstm_scan` runs over a whole sequence.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxrnn import _module_cells as mc
from jaxrnn._typing import Array, DType, PRNGKey
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init


def make_params(module: nn.Module, layout: mc.Layout, inits: mc.Inits) -> Any:
    """Create the parameters of ``layout`` in ``module`` leaf by leaf; the NamedTuple.

    A top-level array field is one ``module.param`` built by the role's initialiser (so
    ``nn.with_partitioning`` boxes pass through untouched); a nested field (an LSTM gate)
    is one ``module.param`` holding a dict of arrays.
    """
    stored = {}
    for name, node in layout.items():
        if isinstance(node, mc.Leaf):
            if node.role != "empty":
                stored[name] = module.param(name, lambda key, leaf=node: inits(key, leaf))
        else:
            stored[name] = module.param(name, lambda key, sub=node: mc.init_tree(key, sub, inits))
    return mc.rebuild(stored)


def layer_params(variables: Any, layer: int | None = None) -> Any:
    """A layer's (or a cell's) parameters from Linen variables, as jaxrnn's NamedTuple.

    Args:
        variables: the variables of a cell or of a stack (``model.init(...)``), their
            ``"params"`` entry, or a cell's own sub-dict (``variables["params"]["cell"]``).
            Partitioning boxes (``nn.with_partitioning``) are removed.
        layer: for a stack, the layer index ``l`` (the entry ``layer_{l}``).

    Returns:
        An ``LSTMParams``, ``RNNParams`` (or another cell's params), or a ``Bidirectional``
        pair of them, ready for :func:`jaxrnn.lstm_scan` / :func:`jaxrnn.layers.stack`.

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


class _Cell(nn.RNNCellBase):
    """Shared body of the cells: ``features`` and the initialisers, Flax's names."""

    features: int
    kernel_init: Any = default_input_init
    recurrent_kernel_init: Any = default_recurrent_init
    bias_init: Any = default_bias_init
    carry_init: Any = jax.nn.initializers.zeros
    dtype: DType | None = None
    param_dtype: DType = jnp.float32

    cell: ClassVar[str]

    def _inits(self) -> mc.Inits:
        return mc.Inits(self.kernel_init, self.recurrent_kernel_init, self.bias_init,
                        getattr(self, "forget_bias", 0.0), self.param_dtype)  # fmt: skip

    @nn.compact
    def __call__(self, carry: Any, inputs: Array) -> tuple[Any, Array]:
        """One step: ``(carry_{t-1}, x_t) -> (carry_t, y_t)``; ``inputs`` is ``(..., d_in)``."""
        layout = mc.CELLS[self.cell].layout(inputs.shape[-1], self.features)
        params = make_params(self, layout, self._inits())
        return mc.step(self.cell, params, carry, inputs, self.dtype)

    @nn.nowrap
    def initialize_carry(self, rng: PRNGKey, input_shape: tuple[int, ...]) -> Any:
        """The carry for inputs of shape ``input_shape = (*batch, d_in)`` (zeros by default)."""
        batch = tuple(input_shape[:-1])
        return mc.init_carry(
            self.cell, batch, self.features, self.dtype or self.param_dtype, self.carry_init, rng
        )

    @property
    def num_feature_axes(self) -> int:
        return 1


class RNNCell(_Cell):
    r"""The vanilla (Elman) RNN cell, a ``flax.linen.RNNCellBase``.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s)

    The carry and the output are both ``s_t`` (no readout). Parameters ``U (d_h, d_in)``,
    ``W (d_h, d_h)``, ``b_s (d_h,)``; ``layer_params`` gives an ``RNNParams`` with an empty
    readout.

    Attributes:
        features: hidden size ``d_h``.
        kernel_init, recurrent_kernel_init, bias_init: initialisers of ``U``, ``W``,
            ``b_s``, called with the stored ``(out, in)`` shapes.
        carry_init: initialiser of the carry (zeros).
        dtype: compute dtype (inputs, carry and parameters are cast to it); None
            promotes them, as Flax's cells do.
        param_dtype: dtype of the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import RNNCell
        >>> layer = nn.RNN(RNNCell(features=4))
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = layer.init(jax.random.key(0), xs)
        >>> layer.apply(variables, xs).shape, sorted(variables["params"]["cell"])
        ((2, 5, 4), ['U', 'W', 'b_s'])
    """

    cell: ClassVar[str] = "rnn"


class LSTMCell(_Cell):
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
        kernel_init, recurrent_kernel_init, bias_init, carry_init, dtype, param_dtype:
            as for :class:`RNNCell`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import LSTMCell
        >>> layer = nn.Bidirectional(nn.RNN(LSTMCell(4)), nn.RNN(LSTMCell(4)))
        >>> xs = jnp.ones((2, 5, 3))
        >>> variables = layer.init(jax.random.key(0), xs)
        >>> layer.apply(variables, xs).shape
        (2, 5, 8)
    """

    cell: ClassVar[str] = "lstm"
    forget_bias: float = 1.0


class GRUCell(_Cell):
    r"""The GRU cell (:func:`jaxrnn.gru_step`, ``reset_after=True``), a ``flax.linen.RNNCellBase``.

    .. math::

        z_t, r_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \qquad
        n_t = \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Carry and output are ``h_t``, as in Flax's ``GRUCell``. Parameters: ``{U, W, b}`` per
    gate ``z, r, n`` and ``b_hn``. Attributes as for :class:`RNNCell`.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import GRUCell
        >>> layer = nn.RNN(GRUCell(4))
        >>> variables = layer.init(jax.random.key(0), jnp.ones((2, 5, 3)))
        >>> layer.apply(variables, jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "gru"


class MinGRUCell(_Cell):
    """The minGRU cell (:func:`jaxrnn.mingru_step`), a ``flax.linen.RNNCellBase``; carry ``h_t``.

    Example:
        >>> import jax, jax.numpy as jnp, flax.linen as nn
        >>> from jaxrnn.linen import MinGRUCell
        >>> layer = nn.RNN(MinGRUCell(4))
        >>> xs = jnp.ones((2, 5, 3))
        >>> layer.apply(layer.init(jax.random.key(0), xs), xs).shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "mingru"


class MinLSTMCell(_Cell):
    """The minLSTM cell (:func:`jaxrnn.minlstm_step`), a linen ``RNNCellBase``; carry ``h_t``."""

    cell: ClassVar[str] = "minlstm"


__all__ = [
    "GRUCell",
    "LSTMCell",
    "MinGRUCell",
    "MinLSTMCell",
    "RNNCell",
    "layer_params",
    "make_params",
]
