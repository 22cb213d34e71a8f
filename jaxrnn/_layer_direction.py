"""One direction of one layer of :func:`jaxrnn.stack`: the scan that runs it.

A unidirectional layer without resets runs its cell's own whole-sequence function
(:func:`jaxrnn.lstm_scan`, :func:`jaxrnn.gru_scan`, :func:`jaxrnn.rnn_scan`,
:func:`jaxrnn.mingru_scan`, :func:`jaxrnn.minlstm_scan`); per-step resets and the LSTM's
``C_t`` sequence scan the cell's step with ``jax.lax.scan`` here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._loops.resets import scan_with_resets
from jaxrnn._typing import Array
from jaxrnn.cells import _gru_state, _lstm_state, _rnn_state
from jaxrnn.cells_min import _mingru_state, _minlstm_state
from jaxrnn.parallel.minrnn import mingru_scan, minlstm_scan
from jaxrnn.params import GRUParams, LSTMParams, LSTMState, MinGRUParams, MinLSTMParams
from jaxrnn.scan import lstm_scan, rnn_scan
from jaxrnn.scan_gru import gru_scan

# minGRU / minLSTM layers: their scan (run in parallel over time) and their step.
_MIN_CELLS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {
    MinGRUParams: (mingru_scan, _mingru_state),
    MinLSTMParams: (minlstm_scan, _minlstm_state),
}


def _zeros_state(params: Any, batch: tuple[int, ...]) -> Any:
    if isinstance(params, LSTMParams):
        zeros = jnp.zeros((*batch, params.f.W.shape[0]), params.f.W.dtype)
        return LSTMState(h=zeros, C=zeros)
    if isinstance(params, GRUParams):
        return jnp.zeros((*batch, params.z.W.shape[0]), params.z.W.dtype)
    if type(params) in _MIN_CELLS:
        return jnp.zeros((*batch, params[0].shape[0]), params[0].dtype)
    return jnp.zeros((*batch, params.W.shape[0]), params.W.dtype)


def _direction(
    params: Any,
    xs: Array,
    state0: Any,
    lengths: Array | None,
    resets: Array | None,
    *,
    reverse: bool,
    return_carries: bool,
    unroll: int = 1,
    remat: int | None = None,
) -> tuple[Any, Array, Any]:
    """One direction of one layer: ``(state_T, outputs, carries_or_None)``.

    Without resets this is :func:`jaxrnn.lstm_scan` / :func:`jaxrnn.gru_scan` /
    :func:`jaxrnn.rnn_scan` (the RNN's and GRU's carries are their outputs); resets, and
    the LSTM's ``C_t`` sequence, scan the same equations here with ``jax.lax.scan``. GRU
    layers run with ``reset_after=True``.
    """
    is_lstm = isinstance(params, LSTMParams)
    is_gru = isinstance(params, GRUParams)
    mini = _MIN_CELLS.get(type(params))
    if resets is None and mini is not None:
        h_T, hs = mini[0](params, xs, state0, lengths=lengths, reverse=reverse)
        return h_T, hs, hs if return_carries else None
    if resets is None and is_lstm and not return_carries:
        state_T, hs = lstm_scan(
            params, xs, state0, lengths=lengths, reverse=reverse, unroll=unroll, remat=remat
        )
        return state_T, hs, None
    if resets is None and is_gru:
        h_T, hs = gru_scan(
            params, xs, state0, lengths=lengths, reverse=reverse, unroll=unroll, remat=remat
        )
        return h_T, hs, hs if return_carries else None
    if resets is None and not is_lstm:
        s_T, ss, _ = rnn_scan(
            params, xs, state0, lengths=lengths, reverse=reverse, unroll=unroll, remat=remat
        )
        return s_T, ss, ss if return_carries else None
    where = "stack"
    if is_lstm:
        d_in, d_h = _checks.check_lstm_params(params, where)
    elif is_gru:
        d_in, d_h = _checks.check_gru_params(params, where)
    elif mini is not None:
        d_in, d_h = _checks.check_min_params(params, type(params), where)
    else:
        d_in, d_h, _ = _checks.check_rnn_params(params, where)
    xs = _checks.check_inputs(xs, d_in, where, name="xs", min_rank=2)
    shape = (*xs.shape[:-2], d_h)
    if state0 is None:
        state0 = _zeros_state(params, xs.shape[:-2])
    elif is_lstm:
        state0 = _checks.check_lstm_state(state0, shape, where, name="initial_carry")
    else:
        state0 = _checks.check_state(state0, shape, where, name="initial_carry")
    step: Callable[..., Any] = _lstm_state if is_lstm else _gru_state if is_gru else _rnn_state
    step = mini[1] if mini is not None else step
    cell: Callable[..., Any] = functools.partial(step, params)
    if remat is not None:
        cell = jax.checkpoint(cell)
    state_T, carries = scan_with_resets(
        cell, state0, xs, lengths, resets, reverse=reverse, unroll=unroll
    )
    outputs = carries.h if is_lstm else carries
    return state_T, outputs, carries if return_carries else None
