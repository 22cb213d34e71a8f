"""jaxrnn: exact, fast recurrent networks as pure JAX functions.

The core imports only ``jax``. Flax modules live in ``jaxrnn.linen`` and ``jaxrnn.nnx``
and are imported only when asked for.
"""

from jaxrnn.cells import LSTMState, lstm_step, rnn_step
from jaxrnn.params import Gate, LSTMParams, RNNParams, init_lstm_params, init_rnn_params
from jaxrnn.scan import lstm_scan, rnn_scan

__version__ = "0.1.0"

__all__ = [
    "Gate",
    "LSTMParams",
    "LSTMState",
    "RNNParams",
    "init_lstm_params",
    "init_rnn_params",
    "lstm_scan",
    "lstm_step",
    "rnn_scan",
    "rnn_step",
]
