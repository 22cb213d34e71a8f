"""Sequence models shared by the experiments: ``rnn``, ``lstm``, ``gru``, ``mingru`` or
``minlstm`` with a linear readout.

``params`` is a dict ``{"cell": RNNParams | LSTMParams | GRUParams | MinGRUParams |
MinLSTMParams, "readout": {"V", "b"}}``; the RNN uses its own readout ``V s_t + b_o`` (so
``readout`` is empty), the others get ``V h_t + b``. :func:`apply` returns logits
``(..., T, d_out)`` for every step. The minGRU and minLSTM run one layer with
``parallel=True``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn


def init_model(key: jax.Array, model: str, d_in: int, d_h: int, d_out: int) -> dict[str, Any]:
    """Parameters of an ``rnn``, ``lstm`` or ``gru`` model with ``d_out`` outputs per step."""
    k_cell, k_out = jax.random.split(key)
    if model == "rnn":
        return {"cell": jaxrnn.init_rnn_params(k_cell, d_in, d_h, d_out), "readout": {}}
    if model in _INITS:
        V = jax.nn.initializers.glorot_uniform()(k_out, (d_out, d_h), jnp.float32)
        return {
            "cell": _INITS[model](k_cell, d_in, d_h),
            "readout": {"V": V, "b": jnp.zeros((d_out,), jnp.float32)},
        }
    raise ValueError(f"model: expected one of {('rnn', *_INITS)}, got {model!r}")


_INITS = {
    "lstm": jaxrnn.init_lstm_params,
    "gru": jaxrnn.init_gru_params,
    "mingru": jaxrnn.init_mingru_params,
    "minlstm": jaxrnn.init_minlstm_params,
}


def _h(cell: Any, xs: jax.Array, lengths: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """``(h_T, hs)`` of an LSTM, GRU, minGRU or minLSTM cell."""
    if isinstance(cell, jaxrnn.GRUParams):
        return jaxrnn.gru_scan(cell, xs, lengths=lengths)
    if isinstance(cell, jaxrnn.MinGRUParams):
        return jaxrnn.mingru_scan(cell, xs, lengths=lengths)
    if isinstance(cell, jaxrnn.MinLSTMParams):
        return jaxrnn.minlstm_scan(cell, xs, lengths=lengths)
    state_T, hs = jaxrnn.lstm_scan(cell, xs, lengths=lengths)
    return state_T.h, hs


def apply(params: dict[str, Any], xs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
    """Logits ``(..., T, d_out)`` of the model at every step."""
    cell = params["cell"]
    if isinstance(cell, jaxrnn.RNNParams):
        return jaxrnn.rnn_scan(cell, xs, lengths=lengths)[2]
    hs = _h(cell, xs, lengths)[1]
    return hs @ params["readout"]["V"].T + params["readout"]["b"]


def final_logits(
    params: dict[str, Any], xs: jax.Array, lengths: jax.Array | None = None
) -> jax.Array:
    """Logits ``(..., d_out)`` read from the final state (at ``lengths`` when given).

    Many-to-one readout: the scans hold the state on padding steps, so ``s_T`` / ``h_T`` is
    the state after each sequence's last valid step.
    """
    cell = params["cell"]
    if isinstance(cell, jaxrnn.RNNParams):
        s_T = jaxrnn.rnn_scan(cell, xs, lengths=lengths)[0]
        return s_T @ cell.V.T + cell.b_o
    h_T = _h(cell, xs, lengths)[0]
    return h_T @ params["readout"]["V"].T + params["readout"]["b"]
