"""Sequence models shared by the experiments: one layer of any registered cell with a readout.

``params`` is a dict ``{"cell": the cell's parameters, "readout": {"V", "b"}}``; a cell with
its own readout (the RNN's ``V s_t + b_o``) uses it (``readout`` is empty), the others get
``V y_t + b``. :func:`apply` returns logits ``(..., T, d_out)`` for every step. A cell linear
in its carry (minGRU, minLSTM) runs in parallel over time; with ``blocks > 0`` in
:func:`init_model` the model is the deep recipe (:mod:`experiments.models.deep_min`):
``params = {"blocks": (DeepBlock, ...), "readout"}``, the readout reading the normalised
residual stream.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jaxrnn
from experiments.models.deep_min import deep_scan, init_deep
from experiments.models.registry import cell_name


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
    """Parameters of a model of the registered cell ``model`` (``jaxrnn.cell_names()``; the
    model ``rglru`` is the cell ``hawk``, :func:`experiments.models.registry.cell_name`) with
    ``d_out`` outputs per step: one layer of the cell and a linear readout of its outputs
    (``d_h`` of them, the LRU's ``d_in``), or the cell's own readout (the RNN's ``V s_t + b_o``).

    ``blocks > 0`` gives the deep recipe instead of one layer: ``blocks`` residual blocks of
    width ``d_h`` with MLPs of ``mlp_expansion * d_h`` units; the input is the residual
    stream's first value, so ``d_in`` must equal ``d_h``.
    """
    k_cell, k_out = jax.random.split(key)
    cell = jaxrnn.get_cell(cell_name(model), "model")
    if cell.readout is not None and not blocks:
        return {"cell": cell.init(k_cell, d_in, d_h, d_out=d_out), "readout": {}}
    d_y = d_h if blocks else cell.output_size({"d_in": d_in, "d_h": d_h})  # the LRU's: d_in
    V = jax.nn.initializers.glorot_uniform()(k_out, (d_out, d_y), jnp.float32)
    readout = {"V": V, "b": jnp.zeros((d_out,), jnp.float32)}
    if not blocks:
        return {"cell": cell.init(k_cell, d_in, d_h), "readout": readout}
    if d_in != d_h:
        raise ValueError(
            f"d_in: expected d_in == d_h == {d_h} for the deep recipe (the input is the "
            f"residual stream), got d_in={d_in}"
        )
    return {"blocks": init_deep(k_cell, model, d_h, blocks, mlp_expansion), "readout": readout}


def _scan(cell_params: Any, xs: jax.Array, lengths: jax.Array | None) -> tuple[Any, jax.Array]:
    """``(carry_T, ys)`` of one layer of any cell (in parallel over time when it is linear)."""
    cell = jaxrnn.cell_for(cell_params)
    method = "parallel" if cell.coefficients is not None else "sequential"
    return jaxrnn.cell_scan(cell_params, xs, lengths=lengths, method=method)


def _readout(params: dict[str, Any], ys: jax.Array) -> jax.Array:
    """The cell's own readout, or the model's linear one."""
    cell_params = params.get("cell")
    if cell_params is not None and not params["readout"]:
        readout = jaxrnn.cell_for(cell_params).readout
        if readout is not None:
            return readout(cell_params, ys)
    return ys @ params["readout"]["V"].T + params["readout"]["b"]


def apply(params: dict[str, Any], xs: jax.Array, lengths: jax.Array | None = None) -> jax.Array:
    """Logits ``(..., T, d_out)`` of the model at every step."""
    if "blocks" in params:
        hs = deep_scan(params["blocks"], xs, lengths=lengths)[1]
    else:
        hs = _scan(params["cell"], xs, lengths)[1]
    return _readout(params, hs)


def final_logits(
    params: dict[str, Any], xs: jax.Array, lengths: jax.Array | None = None
) -> jax.Array:
    """Logits ``(..., d_out)`` read from the last valid step (at ``lengths`` when given).

    Many-to-one readout: the scans hold the carry on padding steps, so the output at each
    sequence's last valid step is the final state's (``h_T`` of the LSTM, ``s_T`` of the RNN).
    """
    if "blocks" in params:
        hs = deep_scan(params["blocks"], xs, lengths=lengths)[1]
    else:
        hs = _scan(params["cell"], xs, lengths)[1]
    return _readout(params, last_valid(hs, lengths))


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
