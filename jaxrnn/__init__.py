"""jaxrnn: exact, fast recurrent networks as pure JAX functions.

The core imports only ``jax``. Flax modules live in ``jaxrnn.linen`` and ``jaxrnn.nnx``
and are imported only when asked for.
"""

from jaxrnn.cells import lstm_step, rnn_step
from jaxrnn.decode import (
    Decoded,
    StepFn,
    beam_search,
    greedy_decode,
    make_lstm_step_fn,
    make_rnn_step_fn,
    sample_decode,
)
from jaxrnn.layer_params import Bidirectional, init_stack, without_readout
from jaxrnn.layers import stack
from jaxrnn.params import (
    Gate,
    LSTMParams,
    LSTMState,
    RNNParams,
    init_lstm_params,
    init_rnn_params,
)
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
