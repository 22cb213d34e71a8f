"""Trace-time input validation shared by the public entry points.

Shapes and dtypes are static under ``jit``, so these checks run once, in plain Python,
while a function is traced, and cost nothing at run time. Every error says what was
expected and what came: ``ValueError`` for a wrong shape or value, ``TypeError`` for a
wrong pytree type or dtype.
"""

from __future__ import annotations

from typing import Any, overload

import jax
import jax.numpy as jnp

from jaxrnn._src.typing import Array


def as_array(x: Any, name: str, where: str) -> Any:
    """Return ``x`` as an array (tracers and arrays pass through unchanged)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return x
    try:
        return jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: expected {name} to be an array, got {type(x).__name__}") from err


def check_field(where: str, name: str, value: Any, shape: tuple[int, ...], reason: str) -> None:
    if not (hasattr(value, "shape") and hasattr(value, "dtype")):
        raise TypeError(f"{where}: expected {name} to be an array, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise ValueError(
            f"{where}: expected {name} to have shape {shape} {reason}, got {tuple(value.shape)}"
        )
    if not jnp.issubdtype(value.dtype, jnp.floating):
        raise TypeError(f"{where}: expected {name} to have a floating dtype, got {value.dtype}")


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
    if not jnp.issubdtype(state.dtype, jnp.inexact):
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


# --- pytrees: parameters and carries of any cell ---------------------------------------------


def check_size(name: str, value: object) -> None:
    """A size argument (``d_in``, ``d_h``) must be a positive int."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def is_shape(x: Any) -> bool:
    """``True`` for a shape (a tuple of ints), a leaf of :meth:`jaxrnn.Cell.carry_shapes`."""
    return isinstance(x, tuple) and not hasattr(x, "_fields") and all(isinstance(d, int) for d in x)


def check_type(params: Any, cls: type, where: str, *, name: str = "params", hint: str = "") -> None:
    """``params`` must be an instance of the NamedTuple ``cls``."""
    if isinstance(params, cls):
        return
    if not hint and isinstance(params, dict):
        hint = f"; build one with jaxrnn.{cls.__name__}(...) or its init function"
    raise TypeError(
        f"{where}: expected {name} to be a jaxrnn.{cls.__name__}, got {type(params).__name__}{hint}"
    )


def leaf_at(params: Any, path: str) -> Any:
    """The leaf of ``params`` at a dotted field path (``"f.U"``)."""
    for field in path.split("."):
        params = getattr(params, field)
    return params


def matrix_shape(params: Any, path: str, layout: str = "(d_h, d_in)") -> tuple[int, ...]:
    """The shape of the rank-2 array at ``params.<path>``, which a cell reads its sizes from
    (``ValueError`` naming it otherwise; :meth:`jaxrnn.Cell.check` adds where)."""
    value = leaf_at(params, path)
    if not hasattr(value, "shape") or len(value.shape) != 2:
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"expected params.{path} to have shape {layout}, got {got}")
    return tuple(value.shape)


def check_against_layout(params: Any, layout: Any, where: str, note: str) -> None:
    """Every field of ``params`` is what ``layout`` (the same NamedTuple with a
    ``jaxrnn.Leaf`` per array) says: a nested NamedTuple of the same type, or a floating
    array of the leaf's shape. ``note`` says where the expected sizes come from."""

    def walk(value: Any, spec: Any, path: str) -> None:
        if hasattr(spec, "_fields"):  # a nested NamedTuple (an LSTM's Gate)
            if type(value) is not type(spec):
                raise TypeError(
                    f"{where}: expected {path} to be a jaxrnn.{type(spec).__name__}, got "
                    f"{type(value).__name__}"
                )
            for field in spec._fields:
                walk(getattr(value, field), getattr(spec, field), f"{path}.{field}")
            return
        check_field(where, path, value, spec.shape, note)

    walk(params, layout, "params")


def param_dtype(params: Any) -> Any:
    """The parameters' dtype: the promoted dtype of their floating leaves."""
    dtypes = [a.dtype for a in jax.tree.leaves(params) if jnp.issubdtype(a.dtype, jnp.inexact)]
    return jnp.result_type(*dtypes) if dtypes else jnp.dtype(jnp.float32)


def check_carry(carry: Any, expected: Any, where: str, *, name: str) -> Any:
    """``carry`` shaped like ``expected`` (a carry of the right batch axes): the same
    structure and shapes, floating leaves. Arrays pass through; others become arrays."""
    want_leaves, want_tree = jax.tree.flatten(expected)
    if hasattr(expected, "_fields") and type(carry) is not type(expected):
        fields = ", ".join(expected._fields)
        raise TypeError(
            f"{where}: expected {name} to be a jaxrnn.{type(expected).__name__}({fields}), got "
            f"{type(carry).__name__}"
        )
    leaves, tree = jax.tree.flatten(carry)
    if str(tree) != str(want_tree):  # PyTreeDefs print canonically
        raise TypeError(f"{where}: expected {name} to have the structure {want_tree}, got {tree}")
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(expected)[0]]
    out = []
    for path, leaf, want in zip(paths, leaves, want_leaves):
        label = f"{name}{path}"
        out.append(check_state(leaf, tuple(want.shape), where, name=label))
    return jax.tree.unflatten(tree, out)


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


# --- the scans' method= (jaxrnn._src.newton) -------------------------------------------

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
