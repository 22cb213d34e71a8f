"""Trace-time input validation shared by the public entry points.

Shapes and dtypes are static under ``jit``, so these checks run once, in plain Python,
while a function is traced, and cost nothing at run time. Every error says what was
expected and what came: ``ValueError`` for a wrong shape or value, ``TypeError`` for a
wrong pytree type or dtype.
"""

from __future__ import annotations

from typing import Any, overload

import jax.numpy as jnp

from jaxrnn._typing import Array
from jaxrnn.params import Gate, GRUParams, LSTMParams, LSTMState, RNNParams

_LSTM_GATES = ("f", "i", "c", "o")
_GRU_GATES = ("z", "r", "n")


def as_array(x: Any, name: str, where: str) -> Any:
    """Return ``x`` as an array (tracers and arrays pass through unchanged)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    try:
        return jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: expected {name} to be an array, got {type(x).__name__}") from err


def _check_field(where: str, name: str, value: Any, shape: tuple[int, ...], reason: str) -> None:
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise TypeError(f"{where}: expected {name} to be an array, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise ValueError(
            f"{where}: expected {name} to have shape {shape} {reason}, got {tuple(value.shape)}"
        )
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(f"{where}: expected {name} to have a floating dtype, got {value.dtype}")


def _type_error(where: str, expected: str, params: Any) -> TypeError:
    got = type(params).__name__
    hint = ""
    if isinstance(params, LSTMParams) and expected == "RNNParams":
        hint = "; LSTM parameters go to jaxrnn.lstm_step / lstm_scan"
    elif isinstance(params, RNNParams) and expected == "LSTMParams":
        hint = "; RNN parameters go to jaxrnn.rnn_step / rnn_scan"
    elif isinstance(params, GRUParams):
        hint = "; GRU parameters go to jaxrnn.gru_step / gru_scan"
    elif expected == "GRUParams" and isinstance(params, (LSTMParams, RNNParams)):
        hint = "; GRUParams(z, r, n, b_hn) come from jaxrnn.init_gru_params"
    elif isinstance(params, dict):
        hint = f"; build one with jaxrnn.{expected}(...) or jaxrnn.init_*_params"
    return TypeError(f"{where}: expected params to be a jaxrnn.{expected}, got {got}{hint}")


def check_rnn_params(params: Any, where: str) -> tuple[int, int, int]:
    """Validate an ``RNNParams``; return ``(d_in, d_h, d_out)``."""
    if not isinstance(params, RNNParams):
        raise _type_error(where, "RNNParams", params)
    U = params.U
    if not hasattr(U, "shape") or len(U.shape) != 2:
        got = getattr(U, "shape", type(U).__name__)
        raise ValueError(f"{where}: expected params.U to have shape (d_h, d_in), got {got}")
    d_h, d_in = U.shape
    _check_field(where, "params.U", U, (d_h, d_in), "(d_h, d_in)")
    d_out = params.V.shape[0] if hasattr(params.V, "shape") and len(params.V.shape) == 2 else -1
    if d_out < 0:
        got = getattr(params.V, "shape", type(params.V).__name__)
        raise ValueError(f"{where}: expected params.V to have shape (d_out, d_h), got {got}")
    match = f"(d_h={d_h} from params.U)"
    _check_field(where, "params.W", params.W, (d_h, d_h), match)
    _check_field(where, "params.V", params.V, (d_out, d_h), match)
    _check_field(where, "params.b_s", params.b_s, (d_h,), match)
    _check_field(where, "params.b_o", params.b_o, (d_out,), f"(d_out={d_out} from params.V)")
    return d_in, d_h, d_out


def _check_gates(params: Any, gates: tuple[str, ...], where: str) -> tuple[int, int]:
    """Validate the ``Gate`` fields ``gates`` of a gated cell's params; ``(d_in, d_h)``."""
    for g in gates:
        gate = getattr(params, g)
        if not isinstance(gate, Gate):
            raise TypeError(
                f"{where}: expected params.{g} to be a jaxrnn.Gate, got {type(gate).__name__}"
            )
    first = gates[0]
    U_0 = getattr(params, first).U
    if not hasattr(U_0, "shape") or len(U_0.shape) != 2:
        got = getattr(U_0, "shape", type(U_0).__name__)
        raise ValueError(f"{where}: expected params.{first}.U to have shape (d_h, d_in), got {got}")
    d_h, d_in = U_0.shape
    match = f"(d_h={d_h}, d_in={d_in} from params.{first}.U)"
    for g in gates:
        gate = getattr(params, g)
        _check_field(where, f"params.{g}.U", gate.U, (d_h, d_in), match)
        _check_field(where, f"params.{g}.W", gate.W, (d_h, d_h), match)
        _check_field(where, f"params.{g}.b", gate.b, (d_h,), match)
    return d_in, d_h


def check_lstm_params(params: Any, where: str) -> tuple[int, int]:
    """Validate an ``LSTMParams``; return ``(d_in, d_h)``."""
    if not isinstance(params, LSTMParams):
        raise _type_error(where, "LSTMParams", params)
    return _check_gates(params, _LSTM_GATES, where)


def check_gru_params(params: Any, where: str) -> tuple[int, int]:
    """Validate a ``GRUParams``; return ``(d_in, d_h)``."""
    if not isinstance(params, GRUParams):
        raise _type_error(where, "GRUParams", params)
    d_in, d_h = _check_gates(params, _GRU_GATES, where)
    _check_field(where, "params.b_hn", params.b_hn, (d_h,), f"(d_h={d_h} from params.z.U)")
    return d_in, d_h


def check_inputs(xs: Any, d_in: int, where: str, *, name: str, min_rank: int) -> Any:
    """Validate a float input of shape ``(..., d_in)`` with at least ``min_rank`` axes."""
    xs = as_array(xs, name, where)
    layout = "(..., T, d_in)" if min_rank == 2 else "(..., d_in)"
    if xs.ndim < min_rank:
        raise ValueError(
            f"{where}: expected {name} to have rank >= {min_rank}, shape {layout}, "
            f"got shape {tuple(xs.shape)} (rank {xs.ndim})"
        )
    if xs.shape[-1] != d_in:
        raise ValueError(
            f"{where}: expected {name} to have shape {layout} with d_in={d_in} to match "
            f"params, got {tuple(xs.shape)}"
        )
    if not jnp.issubdtype(xs.dtype, jnp.floating):
        raise TypeError(
            f"{where}: expected {name} to have a floating dtype, got {xs.dtype}; "
            f"convert it first, e.g. {name}.astype(jnp.float32) (or embed token ids)"
        )
    return xs


def check_state(state: Any, shape: tuple[int, ...], where: str, *, name: str) -> Any:
    """Validate one state array against the expected ``(..., d_h)`` shape."""
    state = as_array(state, name, where)
    if tuple(state.shape) != tuple(shape):
        raise ValueError(
            f"{where}: expected {name} to have shape {tuple(shape)} (batch axes of the "
            f"input, then d_h), got {tuple(state.shape)}"
        )
    if not jnp.issubdtype(state.dtype, jnp.floating):
        raise TypeError(f"{where}: expected {name} to have a floating dtype, got {state.dtype}")
    return state


def initial_state(state: Any, shape: tuple[int, ...], dtype: Any, where: str, *, name: str) -> Any:
    """``state`` checked and cast to ``dtype``, or zeros of ``shape`` where it is ``None``."""
    if state is None:
        return jnp.zeros(shape, dtype)
    state = check_state(state, shape, where, name=name)
    check_dtype(state, dtype, where)
    return state.astype(dtype)


def check_lengths(lengths: Any, batch_shape: tuple[int, ...], where: str) -> Any:
    """Validate ``lengths``: integer array of shape ``xs.shape[:-2]``."""
    lengths = as_array(lengths, "lengths", where)
    if tuple(lengths.shape) != tuple(batch_shape):
        raise ValueError(
            f"{where}: expected lengths to have shape xs.shape[:-2] = {tuple(batch_shape)}, "
            f"got {tuple(lengths.shape)}"
        )
    if not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise TypeError(f"{where}: expected lengths to have an integer dtype, got {lengths.dtype}")
    return lengths


def check_static_int(value: Any, name: str, where: str, *, minimum: int) -> int:
    """Validate a static Python int option such as ``unroll``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: expected {name} to be an int >= {minimum}, got {value!r}")
    return value


def check_lstm_state(state: object, shape: tuple[int, ...], where: str, *, name: str) -> LSTMState:
    """Validate an ``LSTMState`` whose fields must each have ``shape``."""
    if not isinstance(state, LSTMState):
        raise TypeError(
            f"{where}: expected {name} to be a jaxrnn.LSTMState(h, C), got {type(state).__name__}"
        )
    return LSTMState(
        h=check_state(state.h, shape, where, name=f"{name}.h"),
        C=check_state(state.C, shape, where, name=f"{name}.C"),
    )


def check_dtype(xs: Array, param_dtype: Any, where: str) -> None:
    """Inputs may be of lower precision than the parameters, never higher."""
    if jnp.result_type(xs.dtype, param_dtype) != param_dtype:
        raise TypeError(
            f"{where}: expected xs with dtype {param_dtype} (the parameters' dtype) or a "
            f"lower-precision float, got {xs.dtype}; cast xs or the parameters"
        )


def check_resets(resets: Any, xs: Array, where: str) -> Array | None:
    """Validate ``resets``: None, or a bool array of shape ``xs.shape[:-1]``."""
    if resets is None:
        return None
    resets = as_array(resets, "resets", where)
    if tuple(resets.shape) != tuple(xs.shape[:-1]):
        raise ValueError(
            f"{where}: expected resets to have shape xs.shape[:-1] = {tuple(xs.shape[:-1])} "
            f"(batch axes, then T), got {tuple(resets.shape)}"
        )
    if resets.dtype != jnp.bool_:
        raise TypeError(f"{where}: expected resets to have dtype bool, got {resets.dtype}")
    return resets


# --- derived from validated inputs -------------------------------------------------------


@overload
def valid_mask(lengths: None, T: int, batch: tuple[int, ...]) -> None: ...
@overload
def valid_mask(lengths: Array, T: int, batch: tuple[int, ...]) -> Array: ...
def valid_mask(lengths: Array | None, T: int, batch: tuple[int, ...]) -> Array | None:
    """The padding mask of every loop: ``mask[t, ...] = t < lengths[...]``.

    Shape ``(T, *batch, 1)`` (time first, a trailing axis that broadcasts over ``d_h``), or
    None when there are no ``lengths`` (every step valid).
    """
    if lengths is None:
        return None
    t = jnp.arange(T, dtype=lengths.dtype).reshape((T,) + (1,) * len(batch))
    return (t < lengths[None])[..., None]


# --- minGRU / minLSTM (flat parameter tuples: U_* (d_h, d_in), b_* (d_h,)) ---------------

_MIN_CELLS = {"MinGRUParams": "mingru", "MinLSTMParams": "minlstm"}


def check_min_params(params: Any, cls: type[Any], where: str) -> tuple[int, int]:
    """Validate a ``MinGRUParams`` or ``MinLSTMParams`` (``cls``); return ``(d_in, d_h)``."""
    if not isinstance(params, cls):
        got = type(params).__name__
        hint = ""
        if got in _MIN_CELLS:
            hint = f"; {got} go to jaxrnn.{_MIN_CELLS[got]}_step / {_MIN_CELLS[got]}_scan"
        elif isinstance(params, dict):
            hint = f"; build one with jaxrnn.{cls.__name__}(...) or jaxrnn.init_*_params"
        raise TypeError(f"{where}: expected params to be a jaxrnn.{cls.__name__}, got {got}{hint}")
    first = cls._fields[0]
    U = getattr(params, first)
    if not hasattr(U, "shape") or len(U.shape) != 2:
        got = getattr(U, "shape", type(U).__name__)
        raise ValueError(f"{where}: expected params.{first} to have shape (d_h, d_in), got {got}")
    d_h, d_in = U.shape
    match = f"(d_h={d_h}, d_in={d_in} from params.{first})"
    for name in cls._fields:
        shape = (d_h, d_in) if name.startswith("U") else (d_h,)
        _check_field(where, f"params.{name}", getattr(params, name), shape, match)
    return d_in, d_h


# --- the scans' method= (jaxrnn._loops.newton) -------------------------------------------

SCAN_METHODS = {"sequential": None, "newton": "full", "newton-diagonal": "diagonal"}


def check_method(method: Any, where: str, remat: Any) -> str | None:
    """Validate ``method``; return the Newton Jacobian (``"full"``/``"diagonal"``) or None."""
    if not isinstance(method, str) or method not in SCAN_METHODS:
        raise ValueError(
            f"{where}: expected method to be one of {tuple(SCAN_METHODS)}, got {method!r}"
        )
    if SCAN_METHODS[method] is not None and remat is not None:
        raise ValueError(
            f"{where}: remat applies to method='sequential' only, got remat={remat!r} with "
            f"method={method!r}; Newton's memory is set by its Jacobians (docs/newton.md)"
        )
    return SCAN_METHODS[method]
