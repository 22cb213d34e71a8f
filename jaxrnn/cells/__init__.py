"""The recurrent families, one module each: parameters, initialiser, equations, sequence
function, decoder step builder and :class:`jaxrnn.Cell`, registered on import.

- :mod:`jaxrnn.cells.rnn`: the vanilla (Elman) RNN with a softmax readout;
- :mod:`jaxrnn.cells.lstm`: the LSTM;
- :mod:`jaxrnn.cells.gru`: the GRU;
- :mod:`jaxrnn.cells.minrnn`: the minGRU and minLSTM (linear in the carry, parallel in time);
- :mod:`jaxrnn.cells.slstm`: the sLSTM (xLSTM's scalar-memory cell);
- :mod:`jaxrnn.cells.mlstm`: the mLSTM (xLSTM's matrix-memory cell) and the xLSTM layers.

A new family is one more module here (and its line below); ``docs/cells.md`` shows how.
"""

from jaxrnn.cells import gru, lstm, minrnn, mlstm, rnn, slstm

__all__ = ["gru", "lstm", "minrnn", "mlstm", "rnn", "slstm"]
