"""The recurrent families, one module each: parameters, initialiser, equations, sequence
function, decoder step builder and :class:`jaxrnn.Cell`, registered on import.

- :mod:`jaxrnn.cells.rnn`: the vanilla (Elman) RNN with a softmax readout;
- :mod:`jaxrnn.cells.lstm`: the LSTM;
- :mod:`jaxrnn.cells.gru`: the GRU;
- :mod:`jaxrnn.cells.minrnn`: the minGRU and minLSTM (linear in the carry, parallel in time);
- :mod:`jaxrnn.cells.slstm`: the sLSTM (xLSTM's scalar-memory cell);
- :mod:`jaxrnn.cells.mlstm`: the mLSTM (xLSTM's matrix-memory cell) and the xLSTM layers;
- :mod:`jaxrnn.cells.rglru`: the RG-LRU and the Hawk block (Griffin, RecurrentGemma);
- :mod:`jaxrnn.cells.lru`: the LRU (complex diagonal, Orvieto et al.).

A new family is one more module here (and its line below); ``docs/cells.md`` shows how.
"""

from jaxrnn.cells import gru, lru, lstm, minrnn, mlstm, rglru, rnn, slstm

__all__ = ["gru", "lru", "lstm", "minrnn", "mlstm", "rglru", "rnn", "slstm"]
