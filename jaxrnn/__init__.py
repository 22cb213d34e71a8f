"""jaxrnn: exact, fast recurrent networks as pure JAX functions.

The core imports only ``jax``. Flax modules live in ``jaxrnn.linen`` and ``jaxrnn.nnx``
and are imported only when asked for.
"""

from jaxrnn.cells import gru_step, lstm_step, rnn_step
from jaxrnn.cells_min import mingru_step, minlstm_step
from jaxrnn.decode import (
    Decoded,
    StepFn,
    beam_search,
    greedy_decode,
    make_gru_step_fn,
    make_lstm_step_fn,
    make_mingru_step_fn,
    make_minlstm_step_fn,
    make_rnn_step_fn,
    sample_decode,
)
from jaxrnn.init import (
    init_gru_params,
    init_lstm_params,
    init_mingru_params,
    init_minlstm_params,
    init_rnn_params,
)
from jaxrnn.layer_params import Bidirectional, init_stack, without_readout
from jaxrnn.layers import stack
from jaxrnn.parallel.minrnn import mingru_scan, minlstm_scan
from jaxrnn.parallel.newton import NewtonInfo, newton_scan
from jaxrnn.params import (
    Gate,
    GRUParams,
    LSTMParams,
    LSTMState,
    MinGRUParams,
    MinLSTMParams,
    RNNParams,
)
from jaxrnn.scan import lstm_scan, rnn_scan
from jaxrnn.scan_gru import gru_scan
from jaxrnn.tbptt import detach, truncated_bptt

__version__ = "0.1.0"

__all__ = [
    "Bidirectional",
    "Decoded",
    "GRUParams",
    "Gate",
    "LSTMParams",
    "LSTMState",
    "MinGRUParams",
    "MinLSTMParams",
    "NewtonInfo",
    "RNNParams",
    "StepFn",
    "beam_search",
    "detach",
    "greedy_decode",
    "gru_scan",
    "gru_step",
    "init_gru_params",
    "init_lstm_params",
    "init_mingru_params",
    "init_minlstm_params",
    "init_rnn_params",
    "init_stack",
    "lstm_scan",
    "lstm_step",
    "make_gru_step_fn",
    "make_lstm_step_fn",
    "make_mingru_step_fn",
    "make_minlstm_step_fn",
    "make_rnn_step_fn",
    "mingru_scan",
    "mingru_step",
    "minlstm_scan",
    "minlstm_step",
    "newton_scan",
    "rnn_scan",
    "rnn_step",
    "sample_decode",
    "stack",
    "truncated_bptt",
    "without_readout",
]
