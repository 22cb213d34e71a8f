"""What the Flax and Equinox modules need, written once against :class:`jaxrnn.Cell`.

A framework module wraps one cell. Its parameters are built from the cell's
:meth:`~jaxrnn.Cell.layout` (the parameter NamedTuple with a :class:`jaxrnn.Leaf` per array):
each leaf from the module's initialiser for its role (``kernel_init`` for ``"input"``,
``recurrent_kernel_init`` for ``"recurrent"``, ``bias_init`` for ``"bias"``; an ``"other"``
leaf from its own ``init``), plus its offset option (the LSTM's ``forget_bias``). Frameworks
store them leaf by leaf as nested dicts keyed by the field names (``{"f": {"U", "W", "b"},
...}``; ``{"fwd": ..., "bwd": ...}`` for a bidirectional layer), leaves whose shape has a zero
(an absent readout) not at all; :func:`rebuild` turns such a dict back into the NamedTuple
that the cell's functions take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.typing import Array, DType
from jaxrnn.cell import Cell, Leaf, cell_for, get_cell, is_leaf, registered_cells
from jaxrnn.cell import probe as probe_layout
from jaxrnn.layers import Bidirectional, cast, compute_dtype
from jaxrnn.params import default_bias_init, default_input_init, default_recurrent_init


def cell_options(cell: Cell, **given: Any) -> dict[str, Any]:
    """The cell's :attr:`~jaxrnn.Cell.init_options`, updated by those ``given`` it has."""
    return {**cell.init_options, **{k: v for k, v in given.items() if k in cell.init_options}}


def layer_layout(
    cell: Cell, d_in: int, d_h: int, *, bidirectional: bool, options: Mapping[str, Any]
) -> Any:
    """The layout of one layer of a stack (a ``Bidirectional`` pair when bidirectional)."""
    layout = cell.layout(d_in, d_h, **options)
    return Bidirectional(layout, layout) if bidirectional else layout


def stack_layouts(
    cell: Cell,
    d_in: int,
    d_h: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    merge: str = "concat",
    options: Mapping[str, Any] | None = None,
) -> list[Any]:
    """The layouts of a stack's layers, bottom first (as :func:`jaxrnn.init_stack`); a
    ``d_out`` option goes to the top layer only."""
    options = dict(options or {})
    layouts = []
    for l in range(num_layers):
        top = l == num_layers - 1
        opts = {**options, "d_out": options.get("d_out", 0) if top else 0}
        if "d_out" not in cell.init_options:
            opts.pop("d_out")
        layouts.append(layer_layout(cell, d_in, d_h, bidirectional=bidirectional, options=opts))
        d_y = cell.output_size({**opts, "d_in": d_in, "d_h": d_h})
        d_in = 2 * d_y if (bidirectional and merge == "concat") else d_y
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
    """A module's initialisers by role, its parameter dtype and the cell's options."""

    kernel: Callable[..., Any] = default_input_init
    recurrent_kernel: Callable[..., Any] = default_recurrent_init
    bias: Callable[..., Any] = default_bias_init
    param_dtype: DType = jnp.float32
    options: Mapping[str, Any] = {}

    def __call__(self, key: Array, leaf: Leaf) -> Any:
        """A new array (or metadata box) for ``leaf``."""
        by_role = {"input": self.kernel, "recurrent": self.recurrent_kernel, "bias": self.bias}
        init = leaf.init or by_role[leaf.role]
        value = init(key, leaf.shape, self.param_dtype)
        return add_offset(value, float(self.options.get(leaf.offset, 0.0)) if leaf.offset else 0.0)


def stored(leaf: Leaf) -> bool:
    """A leaf the modules store: one whose shape has no zero."""
    return 0 not in leaf.shape


def raw(value: Any) -> Any:
    """The array inside a Flax metadata box or variable (``nn.Partitioned``, ``nnx.Param``)."""
    if hasattr(value, "unbox"):  # flax.linen AxisMetadata
        return value.unbox()
    if hasattr(value, "get_value"):  # flax.nnx Variable
        return value.get_value()
    if hasattr(value, "raw_value"):  # flax.nnx VariableMetadata
        return value.raw_value
    return value


def derived(leaf: Leaf, siblings: Mapping[str, Any], dtype: DType) -> Any:
    """The initial value of a leaf with :attr:`~jaxrnn.Leaf.derive`, from its siblings
    created before it (arrays, or Flax boxes holding them)."""
    if leaf.derive is None:
        raise ValueError("derived: the leaf has no derive function")
    return jnp.asarray(leaf.derive({k: raw(v) for k, v in siblings.items()}), dtype)


def build(
    layout: Any,
    make: Callable[[tuple[str, ...], Leaf], Any],
    make_derived: Callable[[Leaf, Mapping[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Nested dicts mirroring ``layout``; each stored leaf is ``make(path, leaf)``, a leaf
    with :attr:`~jaxrnn.Leaf.derive` ``make_derived(leaf, siblings)`` (default: the derived
    array itself)."""

    def walk(node: Any, path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in node._fields:
            child = getattr(node, name)
            if isinstance(child, Leaf):
                if not stored(child):
                    continue
                if child.derive is not None:
                    out[name] = (
                        derived(child, out, jnp.result_type(*_dtypes(out)))
                        if make_derived is None
                        else make_derived(child, out)
                    )
                else:
                    out[name] = make((*path, name), child)
            else:
                out[name] = walk(child, (*path, name))
        return out

    return walk(layout, ())


def _dtypes(values: Mapping[str, Any]) -> list[Any]:
    """The dtypes of the arrays in ``values`` (float32 when there are none)."""
    out = [raw(v).dtype for v in values.values() if hasattr(raw(v), "dtype")]
    return out or [jnp.float32]


def init_tree(key: Array, layout: Any, inits: Inits) -> dict[str, Any]:
    """Nested dicts of fresh arrays for ``layout``; stored leaf ``n`` uses ``fold_in(key, n)``."""
    counter = iter(range(1 << 30))
    return build(
        layout,
        lambda path, leaf: inits(jax.random.fold_in(key, next(counter)), leaf),
        lambda leaf, siblings: derived(leaf, siblings, inits.param_dtype),
    )


def _from_layout(layout: Any, tree: Mapping[str, Any]) -> Any:
    """The NamedTuple of ``layout`` with the arrays of ``tree`` (zeros for unstored leaves)."""
    values = {}
    for name in layout._fields:
        spec = getattr(layout, name)
        if isinstance(spec, Leaf):
            values[name] = tree[name] if name in tree else None
        else:
            values[name] = _from_layout(spec, tree[name])
    return type(layout)(**values)


def _fill_unstored(params: Any, layout: Any, dtype: DType) -> Any:
    return jax.tree.map(
        lambda v, leaf: jnp.zeros(leaf.shape, dtype) if v is None else v,
        params, layout, is_leaf=lambda x: x is None or isinstance(x, Leaf),
    )  # fmt: skip


def _fields_match(tree: Mapping[str, Any], probe: Any) -> bool:
    """``tree``'s keys are the fields of ``probe`` (a layout), less unstored leaves at most."""
    keys = set(tree)
    fields = set(probe._fields)
    required = {f for f in fields if not (isinstance(getattr(probe, f), Leaf)
                                          and not stored(getattr(probe, f)))}  # fmt: skip
    if not (required <= keys <= fields):
        return False
    for f in keys:
        spec = getattr(probe, f)
        if not isinstance(spec, Leaf):
            if not isinstance(tree[f], Mapping) or not _fields_match(tree[f], spec):
                return False
    return True


def rebuild(tree: Any, cell: Cell | None = None, layout: Any = None) -> Any:
    """Nested dicts (as stored by a module) -> the cell's parameter NamedTuple.

    With ``layout`` (what a module built its parameters from) the result is exact; without,
    the cell is the registered one whose layout has these field names (``cell`` narrows it),
    and the sizes of unstored leaves (an RNN layer's absent readout) are read by its
    :meth:`~jaxrnn.Cell.dims`. ``{"fwd", "bwd"}`` is a :class:`jaxrnn.Bidirectional` layer.

    Raises:
        TypeError: no registered cell has these fields.
    """
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return tree
    if not isinstance(tree, Mapping):
        return tree
    if set(tree) == {"fwd", "bwd"}:
        lay = (None, None) if layout is None else (layout.fwd, layout.bwd)
        return Bidirectional(rebuild(tree["fwd"], cell, lay[0]), rebuild(tree["bwd"], cell, lay[1]))
    leaves = jax.tree.leaves(tree)
    dtype = leaves[0].dtype if leaves else jnp.float32
    if layout is not None:
        return _fill_unstored(_from_layout(layout, tree), layout, dtype)
    candidates = [cell] if cell is not None else registered_cells()
    for c in candidates:
        probed = probe_layout(c)  # the field names, from a layout of any size it accepts
        if probed is None:
            continue
        probe = probed[0]
        if not _fields_match(tree, probe):
            continue
        partial = _from_layout(probe, tree)
        # unstored leaves take an empty placeholder of their rank, then their real shape
        placeholder = jax.tree.map(
            lambda v, leaf: jnp.zeros((0,) * len(leaf.shape), dtype) if v is None else v,
            partial, probe, is_leaf=lambda x: x is None or isinstance(x, Leaf),
        )  # fmt: skip
        dims = c.dims(placeholder)
        extra = {k: v for k, v in dims.items() if k not in ("d_in", "d_h")}
        real = c.layout(dims["d_in"], dims["d_h"], **{**c.init_options, **extra})
        return _fill_unstored(partial, real, dtype)
    names = [c.params_type.__name__ for c in candidates]
    raise TypeError(
        f"expected a layer's parameters (the fields of one of {names}), got the keys {sorted(tree)}"
    )


def as_dict(params: Any) -> Any:
    """A parameter NamedTuple -> nested dicts (leaves with a zero in their shape dropped)."""
    if isinstance(params, tuple) and hasattr(params, "_fields"):
        return {
            k: as_dict(v)
            for k, v in zip(params._fields, params, strict=True)
            if not (hasattr(v, "shape") and 0 in v.shape)
        }
    return params


def init_carry(
    cell: Cell,
    dims: Mapping[str, int],
    batch: tuple[int, ...],
    dtype: DType,
    init: Callable[..., Any] | None,
    key: Array,
) -> Any:
    """The carry of ``cell`` for ``batch`` axes: its :meth:`~jaxrnn.Cell.initial_carry`, or
    (``init`` given) each leaf ``init(key, shape, dtype)``."""
    carry = cell.initial_carry(dims, tuple(batch), dtype)
    if init is None:
        return carry
    leaves, treedef = jax.tree.flatten(carry)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(treedef, [init(k, z.shape, z.dtype) for k, z in zip(keys, leaves)])


def step(cell: Cell, params: Any, carry: Any, x_t: Array, dtype: DType | None) -> tuple[Any, Array]:
    """One step of ``cell`` in the compute dtype (``None``: promote, as Flax does).

    The new carry is cast back to the dtype of ``carry``; ``y_t`` is in the compute dtype.
    """
    dtype = compute_dtype(dtype, params, carry, x_t)
    carry_t, y_t = cell.step(cast(params, dtype), cast(carry, dtype), x_t.astype(dtype))
    # The carry keeps its dtype, so that a scan over steps sees one carry type.
    return jax.tree.map(lambda new, old: new.astype(old.dtype), carry_t, carry), y_t


__all__ = [
    "Inits",
    "add_offset",
    "as_dict",
    "build",
    "cell_for",
    "derived",
    "cell_options",
    "get_cell",
    "init_carry",
    "init_tree",
    "is_leaf",
    "layer_layout",
    "raw",
    "rebuild",
    "stack_layouts",
    "step",
    "stored",
]
