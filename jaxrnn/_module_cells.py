"""What the Flax and Equinox modules need to know about each cell, in plain JAX.

A framework module wraps one of jaxrnn's pure step functions. For each cell this table
gives:

- ``layout(d_in, d_h)``: a :data:`Layout`, the parameter NamedTuple as nested dicts keyed
  by its field names (in field order) with a :class:`Leaf` ``(role, shape)`` in place of
  each array. ``role`` selects the initialiser (``kernel``, ``recurrent_kernel``, ``bias``,
  or ``forget_bias``: ``bias`` plus the forget-gate offset); leaves of role ``empty`` (the
  absent readout of a lower RNN layer) are not stored.
- ``step(params, carry, x_t) -> (carry_t, y_t)``: one step (jaxrnn's equations).
- ``zeros(batch, d_h, dtype)``: the zero carry.

Frameworks store a layer's parameters leaf by leaf as nested dicts keyed by the field
names (``{"f": {"U", "W", "b"}, ...}``; ``{"fwd": ..., "bwd": ...}`` for a bidirectional
layer); :func:`rebuild` turns such a dict back into the NamedTuple that
:func:`jaxrnn.lstm_scan` and friends take. Adding a cell is one :class:`Cell` entry in
:data:`CELLS` and its parameter type in :data:`PARAM_TYPES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple, Protocol, TypeAlias

import jax
import jax.numpy as jnp

from jaxrnn._stack_io import cast, compute_dtype
from jaxrnn._typing import Array, DType
from jaxrnn.cells import gru_step, lstm_step, rnn_step
from jaxrnn.cells_min import mingru_step, minlstm_step
from jaxrnn.layer_params import Bidirectional
from jaxrnn.params import (
    Gate,
    GRUParams,
    LSTMParams,
    LSTMState,
    MinGRUParams,
    MinLSTMParams,
    RNNParams,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)


class Leaf(NamedTuple):
    """Where a parameter array will be: its initialiser's role and its shape."""

    role: str
    shape: tuple[int, ...]


Layout: TypeAlias = dict[str, "Leaf | Layout"]
"""A parameter NamedTuple's fields, by name, each a :class:`Leaf` or a nested layout."""


class LayoutFn(Protocol):
    """The layout of a cell's parameters for input size ``d_in``, hidden size ``d_h``."""

    def __call__(self, d_in: int, d_h: int, d_out: int = 0) -> Layout: ...


class Cell(NamedTuple):
    """One recurrent cell as the framework modules see it."""

    layout: LayoutFn
    step: Callable[[Any, Any, Array], tuple[Any, Array]]
    zeros: Callable[[tuple[int, ...], int, DType], Any]


def _gate_layout(d_in: int, d_h: int, bias: str = "bias") -> Layout:  # a Gate
    U, W = Leaf("kernel", (d_h, d_in)), Leaf("recurrent_kernel", (d_h, d_h))
    return {"U": U, "W": W, "b": Leaf(bias, (d_h,))}


def _lstm_layout(d_in: int, d_h: int, d_out: int = 0) -> Layout:  # an LSTMParams
    f, i, c, o = (_gate_layout(d_in, d_h, b) for b in ("forget_bias", "bias", "bias", "bias"))
    return {"f": f, "i": i, "c": c, "o": o}


def _gru_layout(d_in: int, d_h: int, d_out: int = 0) -> Layout:  # a GRUParams
    z, r, n = (_gate_layout(d_in, d_h) for _ in range(3))
    return {"z": z, "r": r, "n": n, "b_hn": Leaf("bias", (d_h,))}


def _mingru_layout(d_in: int, d_h: int, d_out: int = 0) -> Layout:  # a MinGRUParams
    U, b = Leaf("kernel", (d_h, d_in)), Leaf("bias", (d_h,))
    return {"U_z": U, "b_z": b, "U_h": U, "b_h": b}


def _minlstm_layout(d_in: int, d_h: int, d_out: int = 0) -> Layout:  # a MinLSTMParams
    U, b = Leaf("kernel", (d_h, d_in)), Leaf("bias", (d_h,))
    return {"U_f": U, "b_f": b, "U_i": U, "b_i": b, "U_h": U, "b_h": b}


def _rnn_layout(d_in: int, d_h: int, d_out: int = 0) -> Layout:  # an RNNParams
    readout = "kernel" if d_out else "empty"
    return {
        "U": Leaf("kernel", (d_h, d_in)),
        "W": Leaf("recurrent_kernel", (d_h, d_h)),
        "V": Leaf(readout, (d_out, d_h)),
        "b_s": Leaf("bias", (d_h,)),
        "b_o": Leaf("bias" if d_out else "empty", (d_out,)),
    }


def _h_zeros(batch: tuple[int, ...], d_h: int, dtype: DType) -> Array:
    return jnp.zeros((*batch, d_h), dtype)


def _lstm_zeros(batch: tuple[int, ...], d_h: int, dtype: DType) -> LSTMState:
    zeros = jnp.zeros((*batch, d_h), dtype)
    return LSTMState(h=zeros, C=zeros)


def _rnn_step(params: RNNParams, s_prev: Array, x_t: Array) -> tuple[Array, Array]:
    s_t, _ = rnn_step(params, s_prev, x_t)
    return s_t, s_t


CELLS: dict[str, Cell] = {
    "lstm": Cell(_lstm_layout, lstm_step, _lstm_zeros),
    "gru": Cell(_gru_layout, gru_step, _h_zeros),
    "rnn": Cell(_rnn_layout, _rnn_step, _h_zeros),
    "mingru": Cell(_mingru_layout, mingru_step, _h_zeros),
    "minlstm": Cell(_minlstm_layout, minlstm_step, _h_zeros),
}
"""The cells the modules wrap, by the name :func:`jaxrnn.layers.init_stack` uses."""

PARAM_TYPES: Final = (
    LSTMParams, GRUParams, Gate, RNNParams, MinGRUParams, MinLSTMParams, Bidirectional,
)  # fmt: skip
"""NamedTuples that :func:`rebuild` recognises by their field names."""

# A lower RNN layer stores no readout.
_OPTIONAL: dict[type, tuple[str, ...]] = {RNNParams: ("V", "b_o")}


def layer_layout(cell: str, d_in: int, d_h: int, *, d_out: int = 0, bidirectional: bool) -> Layout:
    """The layout of one layer of a stack (a ``Bidirectional`` pair when bidirectional)."""
    layout = CELLS[cell].layout
    if bidirectional:
        return {"fwd": layout(d_in, d_h, d_out), "bwd": layout(d_in, d_h, d_out)}
    return layout(d_in, d_h, d_out)


def stack_layouts(
    cell: str,
    d_in: int,
    d_h: int,
    *,
    d_out: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
    merge: str = "concat",
) -> list[Layout]:
    """The layouts of a stack's layers, bottom first (as :func:`jaxrnn.layers.init_stack`)."""
    layouts = []
    for l in range(num_layers):
        top = l == num_layers - 1
        layouts.append(
            layer_layout(cell, d_in, d_h, d_out=d_out if top else 0, bidirectional=bidirectional)
        )
        d_in = 2 * d_h if (bidirectional and merge == "concat") else d_h
    return layouts


def add_offset(value: Any, offset: float) -> Any:
    """``value + offset`` for an array or a Flax metadata box holding one."""
    if offset == 0.0:
        return value
    if hasattr(value, "replace_boxed"):  # flax.linen: nn.Partitioned and other AxisMetadata
        return value.replace_boxed(value.unbox() + offset)
    if hasattr(value, "raw_value"):  # flax.nnx: VariableMetadata from nnx.with_partitioning
        return dataclasses.replace(value, raw_value=value.raw_value + offset)
    return value + jnp.asarray(offset, value.dtype)


class Inits(NamedTuple):
    """The initialisers of a module, by role, and its parameter dtype."""

    kernel: Callable[..., Any] = default_input_init
    recurrent_kernel: Callable[..., Any] = default_recurrent_init
    bias: Callable[..., Any] = default_bias_init
    forget_bias: float = 1.0
    param_dtype: DType = jnp.float32

    def __call__(self, key: Array, leaf: Leaf) -> Any:
        """A new array (or metadata box) for ``leaf``."""
        role = "bias" if leaf.role == "forget_bias" else leaf.role
        value = getattr(self, role)(key, leaf.shape, self.param_dtype)
        return add_offset(value, self.forget_bias if leaf.role == "forget_bias" else 0.0)


def build(layout: Layout, make: Callable[[tuple[str, ...], Leaf], Any]) -> dict[str, Any]:
    """Nested dicts mirroring ``layout``; each stored leaf is ``make(path, leaf)``."""

    def walk(node: Layout, path: tuple[str, ...]) -> dict[str, Any]:
        return {
            name: make((*path, name), child)
            if isinstance(child, Leaf)
            else walk(child, (*path, name))
            for name, child in node.items()
            if not (isinstance(child, Leaf) and child.role == "empty")
        }

    return walk(layout, ())


def init_tree(key: Array, layout: Layout, inits: Inits) -> dict[str, Any]:
    """Nested dicts of fresh arrays for ``layout``; leaf ``n`` uses ``fold_in(key, n)``."""
    counter = iter(range(1 << 30))
    return build(layout, lambda path, leaf: inits(jax.random.fold_in(key, next(counter)), leaf))


def rebuild(tree: Any) -> Any:
    """Nested dicts (as stored by a module) -> jaxrnn's parameter NamedTuple.

    The type is recognised by the field names; a missing readout of an RNN layer comes
    back as ``V`` of shape ``(0, d_h)`` and ``b_o`` of shape ``(0,)``.
    """
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return tree
    if not isinstance(tree, Mapping):
        return tree
    keys = set(tree)
    for cls in PARAM_TYPES:
        fields, optional = set(cls._fields), set(_OPTIONAL.get(cls, ()))
        if fields - optional <= keys <= fields:
            values = {k: rebuild(tree[k]) for k in keys}
            if cls is RNNParams and "V" not in values:
                d_h = values["W"].shape[0]
                values["V"] = jnp.zeros((0, d_h), values["W"].dtype)
                values["b_o"] = jnp.zeros((0,), values["W"].dtype)
            return cls(**values)
    raise TypeError(
        f"expected a layer's parameters (the fields of one of "
        f"{[c.__name__ for c in PARAM_TYPES]}), got the keys {sorted(keys)}"
    )


def as_dict(params: Any) -> Any:
    """jaxrnn's parameter NamedTuple -> nested dicts (empty readouts dropped)."""
    if isinstance(params, tuple) and hasattr(params, "_fields"):
        return {
            k: as_dict(v)
            for k, v in zip(params._fields, params, strict=True)
            if not (hasattr(v, "shape") and 0 in v.shape and k in ("V", "b_o"))
        }
    return params


def init_carry(
    cell: str, batch: tuple[int, ...], d_h: int, dtype: DType, init: Callable[..., Any], key: Array
) -> Any:
    """The carry of ``cell`` for ``batch`` axes, each leaf from ``init(key, shape, dtype)``."""
    leaves, treedef = jax.tree.flatten(CELLS[cell].zeros(tuple(batch), d_h, dtype))
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(treedef, [init(k, z.shape, z.dtype) for k, z in zip(keys, leaves)])


def step(cell: str, params: Any, carry: Any, x_t: Array, dtype: DType | None) -> tuple[Any, Array]:
    """One step of ``cell`` in the compute dtype (``None``: promote, as Flax does).

    The new carry is cast back to the dtype of ``carry``; ``y_t`` is in the compute dtype.
    """
    dtype = compute_dtype(dtype, params, carry, x_t)
    carry_t, y_t = CELLS[cell].step(cast(params, dtype), cast(carry, dtype), x_t.astype(dtype))
    # The carry keeps its dtype, so that a scan over steps sees one carry type.
    return jax.tree.map(lambda new, old: new.astype(old.dtype), carry_t, carry), y_t
