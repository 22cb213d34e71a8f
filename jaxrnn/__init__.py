"""jaxrnn: exact, fast recurrent networks as pure JAX functions.

Every family is a :class:`jaxrnn.Cell` (``jaxrnn/cells/``), and everything generic (the
sequence rules, stacks, the Flax and Equinox modules, decoding, Newton's method) is written
once against that contract. The core imports only ``jax``; the Flax modules live in
``jaxrnn.linen`` and ``jaxrnn.nnx`` and are imported only when asked for.
"""

from jaxrnn.cell import Cell, Leaf, cell_for, cell_names, get_cell, register_cell
from jaxrnn.cells.gru import GRUParams, gru_scan, gru_step, init_gru_params, make_gru_step_fn
from jaxrnn.cells.lru import LRUParams, init_lru_params, lru_scan
from jaxrnn.cells.lstm import (
    LSTMParams,
    LSTMState,
    init_lstm_params,
    lstm_scan,
    lstm_step,
    make_lstm_step_fn,
)
from jaxrnn.cells.minrnn import (
    MinGRUParams,
    MinLSTMParams,
    init_mingru_params,
    init_minlstm_params,
    make_mingru_step_fn,
    make_minlstm_step_fn,
    mingru_scan,
    mingru_step,
    minlstm_scan,
    minlstm_step,
)
from jaxrnn.cells.mlstm import MLSTMLayerParams, MLSTMLayerState, MLSTMState, mlstm
from jaxrnn.cells.rglru import (
    HawkParams,
    HawkState,
    RGLRUParams,
    hawk_scan,
    hawk_step,
    init_hawk_params,
    init_rglru_params,
    rglru_scan,
    rglru_step,
)
from jaxrnn.cells.rnn import (
    RNNParams,
    init_rnn_params,
    make_rnn_step_fn,
    rnn_scan,
    rnn_step,
    without_readout,
)
from jaxrnn.cells.slstm import (
    SLSTMLayerParams,
    SLSTMLayerState,
    SLSTMParams,
    SLSTMState,
    init_slstm_params,
    make_slstm_step_fn,
    slstm_scan,
    slstm_step,
)
from jaxrnn.decode import Decoded, StepFn, beam_search, greedy_decode, sample_decode
from jaxrnn.layers import Bidirectional, cell_scan, init_stack, stack
from jaxrnn.newton import NewtonInfo, newton_scan
from jaxrnn.params import Gate
from jaxrnn.tbptt import detach, truncated_bptt
from jaxrnn.xlstm import (
    XLSTMBlockParams,
    XLSTMStackParams,
    init_xlstm_stack,
    make_xlstm_step_fn,
    xlstm_initial_carries,
    xlstm_stack,
    xlstm_stack_step,
)

__version__ = "0.1.0"

__all__ = [
    "Bidirectional",
    "Cell",
    "Decoded",
    "GRUParams",
    "Gate",
    "HawkParams",
    "HawkState",
    "LRUParams",
    "LSTMParams",
    "LSTMState",
    "Leaf",
    "MLSTMLayerParams",
    "MLSTMLayerState",
    "MLSTMState",
    "MinGRUParams",
    "MinLSTMParams",
    "NewtonInfo",
    "RGLRUParams",
    "RNNParams",
    "SLSTMLayerParams",
    "SLSTMLayerState",
    "SLSTMParams",
    "SLSTMState",
    "StepFn",
    "XLSTMBlockParams",
    "XLSTMStackParams",
    "beam_search",
    "cell_for",
    "cell_names",
    "cell_scan",
    "detach",
    "get_cell",
    "greedy_decode",
    "gru_scan",
    "gru_step",
    "hawk_scan",
    "hawk_step",
    "init_gru_params",
    "init_hawk_params",
    "init_lru_params",
    "init_lstm_params",
    "init_mingru_params",
    "init_minlstm_params",
    "init_rglru_params",
    "init_rnn_params",
    "init_slstm_params",
    "init_stack",
    "init_xlstm_stack",
    "lru_scan",
    "lstm_scan",
    "lstm_step",
    "make_gru_step_fn",
    "make_lstm_step_fn",
    "make_mingru_step_fn",
    "make_minlstm_step_fn",
    "make_rnn_step_fn",
    "make_slstm_step_fn",
    "make_xlstm_step_fn",
    "mingru_scan",
    "mingru_step",
    "minlstm_scan",
    "minlstm_step",
    "mlstm",
    "newton_scan",
    "register_cell",
    "rglru_scan",
    "rglru_step",
    "rnn_scan",
    "rnn_step",
    "sample_decode",
    "slstm_scan",
    "slstm_step",
    "stack",
    "truncated_bptt",
    "without_readout",
    "xlstm_initial_carries",
    "xlstm_stack",
    "xlstm_stack_step",
]
