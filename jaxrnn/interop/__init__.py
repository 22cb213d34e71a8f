"""Weight converters between jaxrnn and other libraries' layouts.

Importing this package imports none of those libraries: each converter reads plain
attributes / arrays, and only an export that must build a foreign object (a
``torch.nn.LSTM``, an ``equinox.nn.LSTMCell``) imports that library, when called.

=====================  ===================================  ===============================
library                import (theirs -> jaxrnn)            export (jaxrnn -> theirs)
=====================  ===================================  ===============================
PyTorch                ``from_torch_lstm``, ``from_torch_rnn``  ``to_torch_lstm``, ``to_torch_rnn``
=====================  ===================================  ===============================
"""

from jaxrnn.interop.pytorch import from_torch_lstm, from_torch_rnn, to_torch_lstm, to_torch_rnn

__all__ = ["from_torch_lstm", "from_torch_rnn", "to_torch_lstm", "to_torch_rnn"]
