"""Flax NNX cells over jaxrnn's step functions: ``RNNCell``, ``LSTMCell``, ``GRUCell``.

Each is a ``flax.nnx.RNNCellBase`` (``initialize_carry(input_shape, rngs)``,
``num_feature_axes == 1``, ``__call__(carry, x_t) -> (carry_t, y_t)``), so it runs inside
``flax.nnx.RNN``. Every parameter array is its own ``nnx.Param``, named by jaxrnn's field
names (``cell.f["U"]``), in the ``(out, in)`` layout; :meth:`params` returns the
NamedTuple that :func:`jaxrnn.lstm_scan` takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import nnx

from jaxrnn import _module_cells as mc
from jaxrnn._typing import Array, DType
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init


def make_params(layout: mc.Layout, inits: mc.Inits, rngs: nnx.Rngs) -> nnx.Dict:
    """One ``nnx.Param`` per stored leaf of ``layout``, in nested ``nnx.Dict``s."""

    def to_nnx(tree: Any) -> Any:
        return nnx.Dict({k: to_nnx(v) for k, v in tree.items()}) if isinstance(tree, dict) else tree

    return to_nnx(mc.build(layout, lambda path, leaf: nnx.Param(inits(rngs.params(), leaf))))


def values(node: Any) -> Any:
    """Nested ``nnx.Dict`` of ``nnx.Param`` -> the NamedTuple of their values."""

    def plain(n: Any) -> Any:
        if isinstance(n, Mapping):
            return {k: plain(v) for k, v in n.items()}
        return n[...] if isinstance(n, nnx.Variable) else n

    return mc.rebuild(plain(node))


class _Cell(nnx.RNNCellBase):
    """Shared body of the cells (Flax's argument names)."""

    cell: ClassVar[str]

    def __init__(
        self,
        in_features: int,
        features: int,
        *,
        rngs: nnx.Rngs,
        kernel_init: Any = default_input_init,
        recurrent_kernel_init: Any = default_recurrent_init,
        bias_init: Any = default_bias_init,
        carry_init: Any = jax.nn.initializers.zeros,
        dtype: DType | None = None,
        param_dtype: DType = jnp.float32,
        forget_bias: float = 0.0,
    ) -> None:
        self.in_features, self.features = in_features, features
        self.dtype, self.param_dtype, self.carry_init = dtype, param_dtype, carry_init
        inits = mc.Inits(kernel_init, recurrent_kernel_init, bias_init, forget_bias, param_dtype)
        layout = mc.CELLS[self.cell].layout(in_features, features)
        self.weights = make_params(layout, inits, rngs)

    def params(self) -> Any:
        """The parameters as jaxrnn's NamedTuple (``LSTMParams``, ``RNNParams``, ...)."""
        return values(self.weights)

    def __call__(self, carry: Any, inputs: Array) -> tuple[Any, Array]:
        """One step: ``(carry_{t-1}, x_t) -> (carry_t, y_t)``; ``inputs`` is ``(..., d_in)``."""
        return mc.step(self.cell, self.params(), carry, inputs, self.dtype)

    def initialize_carry(
        self, input_shape: tuple[int, ...], rngs: Any = None, carry_init: Any = None
    ) -> Any:
        """The carry for inputs of shape ``(*batch, d_in)`` (zeros by default)."""
        init = carry_init or self.carry_init
        key = rngs.carry() if isinstance(rngs, nnx.Rngs) else jax.random.key(0)
        batch = tuple(input_shape[:-1])
        return mc.init_carry(
            self.cell, batch, self.features, self.dtype or self.param_dtype, init, key
        )

    @property
    def num_feature_axes(self) -> int:
        return 1


class RNNCell(_Cell):
    r"""The vanilla (Elman) RNN cell, a ``flax.nnx.RNNCellBase``.

    .. math::

        s_t = \tanh(U x_t + W s_{t-1} + b_s)

    Carry and output are ``s_t``. Parameters ``weights["U"] (d_h, d_in)``,
    ``weights["W"] (d_h, d_h)``, ``weights["b_s"] (d_h,)``.

    Args:
        in_features, features: input size ``d_in`` and hidden size ``d_h``.
        rngs: ``nnx.Rngs`` with a ``params`` stream.
        kernel_init, recurrent_kernel_init, bias_init: initialisers, called with the stored
            ``(out, in)`` shapes.
        carry_init: initialiser of the carry (zeros).
        dtype: compute dtype (inputs, carry, parameters cast to it); None promotes.
        param_dtype: dtype of the parameters.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import RNNCell
        >>> layer = nnx.RNN(RNNCell(3, 4, rngs=nnx.Rngs(0)))
        >>> layer(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "rnn"


class LSTMCell(_Cell):
    r"""The LSTM cell (:func:`jaxrnn.lstm_step`), a ``flax.nnx.RNNCellBase``.

    Carry ``jaxrnn.LSTMState(h, C)``, output ``h_t``. Parameters ``weights[g]["U"]``,
    ``["W"]``, ``["b"]`` for each gate ``g`` in ``f, i, c, o``. Arguments as for
    :class:`RNNCell`, plus ``forget_bias`` (1.0) added to ``b_f`` at initialisation.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import LSTMCell
        >>> cell = LSTMCell(3, 4, rngs=nnx.Rngs(0))
        >>> nnx.RNN(cell)(jnp.ones((2, 5, 3))).shape, cell.params().f.b.tolist()
        ((2, 5, 4), [1.0, 1.0, 1.0, 1.0])
    """

    cell: ClassVar[str] = "lstm"

    def __init__(self, in_features: int, features: int, *, forget_bias: float = 1.0,
                 rngs: nnx.Rngs, **options: Any) -> None:  # fmt: skip
        super().__init__(in_features, features, rngs=rngs, forget_bias=forget_bias, **options)


class GRUCell(_Cell):
    r"""The GRU cell (:func:`jaxrnn.gru_step`, ``reset_after=True``), a ``flax.nnx.RNNCellBase``.

    Carry and output ``h_t``. Parameters ``weights[g]["U"]``, ``["W"]``, ``["b"]`` for each
    gate ``g`` in ``z, r, n``, and ``weights["b_hn"]``. Arguments as for :class:`RNNCell`.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import GRUCell
        >>> nnx.RNN(GRUCell(3, 4, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "gru"


class MinGRUCell(_Cell):
    """The minGRU cell (:func:`jaxrnn.mingru_step`), a ``flax.nnx.RNNCellBase``; carry ``h_t``.

    Example:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from jaxrnn.nnx import MinGRUCell
        >>> nnx.RNN(MinGRUCell(3, 4, rngs=nnx.Rngs(0)))(jnp.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell: ClassVar[str] = "mingru"


class MinLSTMCell(_Cell):
    """The minLSTM cell (:func:`jaxrnn.minlstm_step`), a ``flax.nnx.RNNCellBase``; carry ``h_t``."""

    cell: ClassVar[str] = "minlstm"


__all__ = ["GRUCell", "LSTMCell", "MinGRUCell", "MinLSTMCell", "RNNCell", "make_params", "values"]
