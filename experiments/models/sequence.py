"""Sequence models shared by the experiments: ``rnn``, ``lstm``, ``gru``, ``mingru`` or
``minlstm`` with a linear readout.

``params`` is a dict ``{"cell": RNNParams | LSTMParams | GRUParams | MinGRUParams |
MinLSTMParams, "readout": {"V", "b"}}``; the RNN uses its own readout ``V s_t + b_o`` (so
``readout`` is empty), the others get ``V h_t + b``. :func:`apply` returns logits
``(..., T, d_out)`` for every step. The minGRU and minLSTM run one layer with
``parallel=True``, or, with ``blocks > 0`` in :func:`init_model`, the paper's deep recipe
(:mod:`experiments.models.deep_min`): ``params = {"blocks": (DeepBlock, ...), "readout"}``,
the readout reading the normalised residual stream.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from experiments.models.deep_min import MIN_MODELS, deep_scan, init_deep


def init_model(
    key: jax.Array,
    model: str,
    d_in: int,
    d_h: int,
    d_out: int,
    *,
    blocks: int = 0,
    mlp_expansion: int = 4,
) -> dict[str, Any]:
    """Parameters of an ``rnn``, ``lstm``, ``gru``, ``mingru`` or ``minlstm`` model with
    ``d_out`` outputs per step.

    ``blocks > 0`` (``mingru``/``minlstm`` only) gives the deep recipe instead of one layer:
    ``blocks`` residual blocks of width ``d_h`` with MLPs of ``mlp_expansion * d_h`` units;
    the input is the residual stream's first value, so ``d_in`` must equal ``d_h``.
    """
    k_cell, k_out = jax.random.split(key)
    if blocks and model not in MIN_MODELS:
        raise ValueError(f"model: expected one of {MIN_MODELS} for blocks > 0, got {model!r}")
    if model == "rnn":
        return {"cell": jaxrnn.init_rnn_params(k_cell, d_in, d_h, d_out), "readout": {}}
    if model not in _INITS:
        raise ValueError(f"model: expected one of {('rnn', *_INITS)}, got {model!r}")
    V = jax.nn.initializers.glorot_uniform()(k_out, (d_out, d_h), jnp.float32)
    readout = {"V": V, "b": jnp.zeros((d_out,), jnp.float32)}
    if not blocks:
        return {"cell": _INITS[model](k_cell, d_in, d_h), "readout": readout}
    if d_in != d_h:
        raise ValueError(
            f"d_in: expected d_in == d_h == {d_h} for the deep recipe (the input is the "
            f"residual stream), got d_in={d_in}"
        )
    return {"blocks": init_deep(k_cell, model, d_h, blocks, mlp_expansion), "readout": readout}


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
    if "blocks" in params:
        hs = deep_scan(params["blocks"], xs, lengths=lengths)[1]
        return hs @ params["readout"]["V"].T + params["readout"]["b"]
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
    the state after each sequence's last valid step. The deep recipe reads its normalised
    residual stream at that step, ``t = lengths - 1``.
    """
    if "blocks" in params:
        hs = deep_scan(params["blocks"], xs, lengths=lengths)[1]
        h_n = last_valid(hs, lengths)
        return h_n @ params["readout"]["V"].T + params["readout"]["b"]
    cell = params["cell"]
    if isinstance(cell, jaxrnn.RNNParams):
        s_T = jaxrnn.rnn_scan(cell, xs, lengths=lengths)[0]
        return s_T @ cell.V.T + cell.b_o
    h_T = _h(cell, xs, lengths)[0]
    return h_T @ params["readout"]["V"].T + params["readout"]["b"]


def last_valid(hs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
    """``hs[..., lengths - 1, :]`` of ``hs (..., T, d)`` (the last step without ``lengths``).

    Example:
        >>> hs = jnp.arange(6.0).reshape(1, 3, 2)
        >>> last_valid(hs, jnp.array([2])).tolist()
        [[2.0, 3.0]]
    """
    if lengths is None:
        return hs[..., -1, :]
    t = jnp.clip(jnp.asarray(lengths) - 1, 0, hs.shape[-2] - 1)
    return jnp.take_along_axis(hs, t[..., None, None], axis=-2)[..., 0, :]
