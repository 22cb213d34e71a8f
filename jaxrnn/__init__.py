"""jaxrnn: exact, fast recurrent networks as pure JAX functions.

The core imports only ``jax``. Flax modules live in ``jaxrnn.linen`` and ``jaxrnn.nnx``
and are imported only when asked for.
"""

from jaxrnn.beam import beam_search
from jaxrnn.cells import LSTMState, lstm_step, rnn_step
from jaxrnn.decode import Decoded, StepFn, greedy_decode, sample_decode
from jaxrnn.decode_steps import make_lstm_step_fn, make_rnn_step_fn
from jaxrnn.layers import Bidirectional, init_stack, stack, without_readout
from jaxrnn.params import Gate, LSTMParams, RNNParams, init_lstm_params, init_rnn_params
from jaxrnn.scan import lstm_scan, rnn_scan
from jaxrnn.tbptt import detach, truncated_bptt

__version__ = "0.1.0"

__all__ = [
    "Bidirectional",
    "Decoded",
    "Gate",
    "LSTMParams",
    "LSTMState",
    "RNNParams",
    "StepFn",
    "beam_search",
    "detach",
    "greedy_decode",
    "init_lstm_params",
    "init_rnn_params",
    "init_stack",
    "lstm_scan",
    "lstm_step",
    "make_lstm_step_fn",
    "make_rnn_step_fn",
    "rnn_scan",
    "rnn_step",
    "sample_decode",
    "stack",
    "truncated_bptt",
    "without_readout",
]
