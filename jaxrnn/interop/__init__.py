"""Weight converters between jaxrnn and other libraries' layouts.

Importing this package imports none of those libraries: each converter reads plain
attributes and arrays, and only an export that must build a foreign object (a
``torch.nn.LSTM``, an ``equinox.nn.LSTMCell``) imports that library, when called.
Whatever cannot be represented (PyTorch ``proj_size > 0``, other activations)
is refused with an error, never converted approximately.

- PyTorch ``nn.LSTM`` / ``nn.RNN`` (+ ``nn.Linear``): :func:`from_torch_lstm`,
  :func:`to_torch_lstm`, :func:`from_torch_rnn`, :func:`to_torch_rnn` (whole stacks).
- Flax Linen ``LSTMCell`` / ``OptimizedLSTMCell``: :func:`from_flax_lstm_cell`,
  :func:`to_flax_lstm_cell`; ``SimpleCell`` (+ ``Dense``): :func:`from_flax_simple_cell`,
  :func:`to_flax_simple_cell`; carries: :func:`to_flax_carry`, :func:`from_flax_carry`.
- Equinox ``nn.LSTMCell``: :func:`from_equinox_lstm_cell`, :func:`to_equinox_lstm_cell`.
- Haiku ``LSTM``: :func:`from_haiku_lstm`, :func:`to_haiku_lstm` (the fixed ``+1`` forget
  bias folded into ``f.b``).
- Keras 3 ``LSTM``: :func:`from_keras_lstm`, :func:`to_keras_lstm`.
- GRU: PyTorch ``nn.GRU`` :func:`from_torch_gru`, :func:`to_torch_gru` (whole stacks);
  Flax ``GRUCell`` :func:`from_flax_gru_cell`, :func:`to_flax_gru_cell`; Equinox
  ``nn.GRUCell`` :func:`from_equinox_gru_cell`, :func:`to_equinox_gru_cell`; Keras ``GRU``
  :func:`from_keras_gru`, :func:`to_keras_gru` (both ``reset_after``); these use
  ``reset_after=True`` but Keras' ``reset_after=False``. Haiku ``GRU``
  (``reset_after=False``, update gate negated): :func:`from_haiku_gru`,
  :func:`to_haiku_gru`.
- ``xlstm`` ``mLSTMLayer``, ``sLSTMLayer``, ``xLSTMBlockStack`` (vanilla backends):
  :func:`from_mlstm_layer`, :func:`to_mlstm_layer`, :func:`from_slstm_layer`,
  :func:`to_slstm_layer`, :func:`from_xlstm_block_stack`, :func:`to_xlstm_block_stack`.
- RecurrentGemma (``recurrentgemma.jax``): ``layers.RGLRU`` :func:`from_recurrentgemma_rglru`,
  :func:`to_recurrentgemma_rglru`; ``layers.Conv1D`` :func:`from_recurrentgemma_conv1d`,
  :func:`to_recurrentgemma_conv1d`; ``modules.RecurrentBlock`` (the Hawk block)
  :func:`from_recurrentgemma_recurrent_block`, :func:`to_recurrentgemma_recurrent_block`;
  its cache :func:`from_recurrentgemma_cache`.
"""

from jaxrnn.interop.equinox_haiku import (
    HAIKU_FORGET_BIAS,
    from_equinox_gru_cell,
    from_equinox_lstm_cell,
    from_haiku_gru,
    from_haiku_lstm,
    to_equinox_gru_cell,
    to_equinox_lstm_cell,
    to_haiku_gru,
    to_haiku_lstm,
)
from jaxrnn.interop.flax_cells import (
    from_flax_carry,
    from_flax_gru_cell,
    from_flax_lstm_cell,
    from_flax_simple_cell,
    to_flax_carry,
    to_flax_gru_cell,
    to_flax_lstm_cell,
    to_flax_simple_cell,
)
from jaxrnn.interop.keras import from_keras_gru, from_keras_lstm, to_keras_gru, to_keras_lstm
from jaxrnn.interop.pytorch import (
    from_torch_gru,
    from_torch_lstm,
    from_torch_rnn,
    to_torch_gru,
    to_torch_lstm,
    to_torch_rnn,
)
from jaxrnn.interop.recurrentgemma import (
    from_recurrentgemma_cache,
    from_recurrentgemma_conv1d,
    from_recurrentgemma_recurrent_block,
    from_recurrentgemma_rglru,
    to_recurrentgemma_conv1d,
    to_recurrentgemma_recurrent_block,
    to_recurrentgemma_rglru,
)
from jaxrnn.interop.xlstm import (
    from_mlstm_layer,
    from_slstm_layer,
    from_xlstm_block_stack,
    to_mlstm_layer,
    to_slstm_layer,
    to_xlstm_block_stack,
)

__all__ = [
    "HAIKU_FORGET_BIAS",
    "from_equinox_gru_cell",
    "from_equinox_lstm_cell",
    "from_flax_carry",
    "from_flax_gru_cell",
    "from_flax_lstm_cell",
    "from_flax_simple_cell",
    "from_haiku_gru",
    "from_haiku_lstm",
    "from_keras_gru",
    "from_keras_lstm",
    "from_mlstm_layer",
    "from_slstm_layer",
    "from_recurrentgemma_cache",
    "from_recurrentgemma_conv1d",
    "from_recurrentgemma_recurrent_block",
    "from_recurrentgemma_rglru",
    "from_torch_gru",
    "from_torch_lstm",
    "from_torch_rnn",
    "from_xlstm_block_stack",
    "to_equinox_gru_cell",
    "to_equinox_lstm_cell",
    "to_flax_carry",
    "to_flax_gru_cell",
    "to_flax_lstm_cell",
    "to_flax_simple_cell",
    "to_haiku_gru",
    "to_haiku_lstm",
    "to_keras_gru",
    "to_keras_lstm",
    "to_mlstm_layer",
    "to_slstm_layer",
    "to_recurrentgemma_conv1d",
    "to_recurrentgemma_recurrent_block",
    "to_recurrentgemma_rglru",
    "to_torch_gru",
    "to_torch_lstm",
    "to_torch_rnn",
    "to_xlstm_block_stack",
]
