r"""The cell contract: what a recurrent family declares once, for every generic part of jaxrnn.

A *cell* is a recurrence :math:`(c_t, y_t) = \mathrm{step}(\theta, c_{t-1}, x_t)` on an
explicit parameter pytree :math:`\theta` (a ``NamedTuple``) and a carry :math:`c` (any pytree
of arrays). A family (the LSTM, the GRU, ...) subclasses :class:`Cell` once, in its own
module, and registers an instance with :func:`register_cell`. Everything generic is written
against this class and never names a family:

- the sequence driver (:func:`cell_scan`; every ``*_scan`` is a thin wrapper around it):
  checks, batch axes, ``lengths``, ``resets``, ``reverse``, ``T = 0``, the choice between
  the cell's fast loop, its parallel form and Newton's method;
- :func:`jaxrnn.stack`, ``Bidirectional`` layers, dropout between layers, ``init_stack``;
- the Flax Linen and NNX cells and stacks and the Equinox modules (their parameters are
  built from the cell's :meth:`Cell.layout`);
- the decoding step builder :func:`jaxrnn.decode.make_step_fn`, ``method="newton"``,
  :func:`jaxrnn.truncated_bptt`.

A user's own cell gets the same machinery without touching ``jaxrnn/``::

    class MGUParams(NamedTuple):        # the minimal gated unit (Zhou et al. 2016)
        f: jaxrnn.Gate
        h: jaxrnn.Gate

    class MGU(jaxrnn.Cell):
        name = "mgu"
        params_type = MGUParams

        def dims(self, params):
            d_h, d_in = params.f.U.shape
            return {"d_in": d_in, "d_h": d_h}

        def layout(self, d_in, d_h):
            gate = jaxrnn.Gate(U=Leaf("input", (d_h, d_in)), W=Leaf("recurrent", (d_h, d_h)),
                               b=Leaf("bias", (d_h,)))
            return MGUParams(f=gate, h=gate)

        def step(self, params, h_prev, x_t):
            f_t = jax.nn.sigmoid(x_t @ params.f.U.T + h_prev @ params.f.W.T + params.f.b)
            h_tilde = jnp.tanh(x_t @ params.h.U.T + (f_t * h_prev) @ params.h.W.T + params.h.b)
            h_t = (1 - f_t) * h_prev + f_t * h_tilde
            return h_t, h_t

    jaxrnn.register_cell(MGU())

``docs/cells.md`` walks through it. The contract, in the notation of the docstrings
(``...`` leading batch axes, ``T`` steps, ``n`` the batch axes flattened into one):

Required:
    ``name``, ``params_type`` (class attributes), :meth:`Cell.dims`, :meth:`Cell.layout`,
    :meth:`Cell.step`.
Defaults that a family may replace:
    :meth:`Cell.carry_shapes` (one ``(d_h,)`` array), :meth:`Cell.initial_carry` (zeros),
    :meth:`Cell.output_size` (``d_h``),
    :meth:`Cell.check` (the parameter type and every shape against the layout),
    :meth:`Cell.init` (each leaf from its role's initialiser).
Optional (``None`` when absent):
    :attr:`Cell.sequence` (a fast loop; the default is a ``lax.scan`` of :meth:`Cell.step`),
    :attr:`Cell.coefficients` and :attr:`Cell.outputs` (a cell linear in its carry:
    ``h_t = a_t * h_{t-1} + b_t``, evaluated in parallel over time), :attr:`Cell.jacobian_diagonal`
    (Newton's ``"newton-diagonal"`` in ``O(d_h)``), :attr:`Cell.readout` (the RNN's
    ``V s_t + b_o``, applied by the top layer of a stack).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import jax
import jax.export
import jax.numpy as jnp

from jaxrnn._src import checks
from jaxrnn._src.typing import Array, DType, PRNGKey
from jaxrnn.params import Initializer, default_initializers

ROLES = ("input", "recurrent", "bias", "other")
"""The roles of parameter arrays. A module's ``kernel_init`` initialises the ``"input"``
leaves, ``recurrent_kernel_init`` the ``"recurrent"`` ones, ``bias_init`` the biases; an
``"other"`` leaf (RG-LRU's ``Λ``, the LRU's ``ν``) is initialised by its own
:attr:`Leaf.init`."""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One parameter array in a :meth:`Cell.layout`: its role, its shape, how it starts.

    Attributes:
        role: one of :data:`ROLES`.
        shape: the stored shape (matrices ``(out, in)``). A shape with a zero in it (the
            absent readout of a lower RNN layer, ``V (0, d_h)``) is not stored by the
            framework modules and comes back as zeros.
        init: the leaf's own initialiser ``init(key, shape, dtype)``; required for role
            ``"other"``, and it overrides the role's initialiser for the others.
        offset: the name of an option of :meth:`Cell.init` whose value is added to the
            initial value (the LSTM's ``b_f`` has ``offset="forget_bias"``).
        derive: the initial value as a function of the leaves before it in the same
            NamedTuple, ``derive(siblings) -> array`` with ``siblings`` a dict of their
            initial values by field name, in place of a random draw (the LRU's
            ``γ = sqrt(1 - |λ|²)`` is set from the ``ν`` drawn before it).
    """

    role: str
    shape: tuple[int, ...]
    init: Initializer | None = None
    offset: str | None = None
    derive: Callable[[Mapping[str, Any]], Any] | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Leaf: expected role to be one of {ROLES}, got {self.role!r}")
        if self.role == "other" and self.init is None and self.derive is None:
            raise ValueError("Leaf: a leaf of role 'other' needs its own init (or derive)")
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))


def leaf(role: str, shape: tuple[int, ...], *, init: Initializer | None = None,
         offset: str | None = None,
         derive: Callable[[Mapping[str, Any]], Any] | None = None) -> Any:  # fmt: skip
    """A :class:`Leaf`, typed ``Any`` so that a layout type-checks where the parameter
    NamedTuple's fields are annotated as arrays (``Gate(U=leaf("input", (d_h, d_in)), ...)``)."""
    return Leaf(role, shape, init, offset, derive)


def is_leaf(x: Any) -> bool:
    """``True`` for a :class:`Leaf` (for ``jax.tree.map(..., is_leaf=is_leaf)``)."""
    return isinstance(x, Leaf)


class Cell:
    """Base class of a recurrent family; subclass it and :func:`register_cell` an instance.

    A cell is a frozen description (hashable, so it can be a static argument or a Flax
    module attribute): options such as the GRU's ``reset_after`` are fields of a dataclass
    subclass, and each option value is its own instance.

    Attributes:
        name: the name under which :func:`get_cell`, :func:`jaxrnn.init_stack` and the
            framework modules find the cell (``"lstm"``).
        params_type: the parameter ``NamedTuple``; the registry is keyed by it, so
            :func:`cell_for` finds the cell of a parameter pytree.
        init_options: options of :meth:`init` and :meth:`layout` with their defaults,
            e.g. ``{"forget_bias": 1.0}``.
        entry_points: the family's public functions, for error messages
            (``"jaxrnn.lstm_step / lstm_scan"``).
        reset_rule: ``"initial"`` (default): at a reset the step reads the initial carry
            in place of the previous one. ``"cell"``: the cell's :meth:`step` takes
            ``reset=`` and its :attr:`coefficients` ``resets=`` and apply their own rule
            (RG-LRU: no carry and no normalisation, as RecurrentGemma).
    """

    name: ClassVar[str] = ""
    params_type: ClassVar[Any] = type(None)
    init_options: ClassVar[Mapping[str, Any]] = {}
    reset_rule: ClassVar[str] = "initial"
    entry_points: ClassVar[str] = ""

    # --- required ---------------------------------------------------------------------

    def dims(self, params: Any) -> dict[str, int]:
        """The named sizes of ``params``, read from its shapes: at least ``d_in`` and
        ``d_h``, and any other size :meth:`layout` takes (``num_heads``, ``d_out``).

        Called after the type check; read the sizes from one leaf (raise ``ValueError``
        saying which leaf and what shape was expected when its rank is wrong):
        :meth:`check` compares every other leaf with the layout of these sizes.
        """
        raise NotImplementedError(f"{type(self).__name__}.dims")

    def layout(self, d_in: int, d_h: int, **options: Any) -> Any:
        """The parameters as a pytree of :class:`Leaf` (the ``params_type`` with a
        :class:`Leaf` in place of each array), for input size ``d_in`` and size ``d_h``.

        ``options`` are the other sizes of :meth:`dims` and the :attr:`init_options`.
        """
        raise NotImplementedError(f"{type(self).__name__}.layout")

    def step(self, params: Any, carry: Any, x_t: Array) -> tuple[Any, Array]:
        """One step, ``(carry_{t-1}, x_t) -> (carry_t, y_t)``, unchecked: the equations.

        ``x_t`` is ``(..., d_in)`` and the carry's leaves have the same leading axes. With
        ``reset_rule == "cell"`` it also takes ``reset=`` (bool, broadcast over the carry).
        """
        raise NotImplementedError(f"{type(self).__name__}.step")

    # --- defaults -----------------------------------------------------------------------

    def carry_shapes(self, dims: Mapping[str, int]) -> Any:
        """The carry of one example as a pytree of shapes (default: one ``(d_h,)`` array)."""
        return (dims["d_h"],)

    def output_size(self, dims: Mapping[str, int]) -> int:
        """The size of the output ``y_t`` (default ``d_h``; the LRU's is ``d_in``): what the
        next layer of a stack reads."""
        return dims["d_h"]

    def initial_carry(self, dims: Mapping[str, int], batch: tuple[int, ...], dtype: DType) -> Any:
        """The default initial carry for the sizes ``dims`` (:meth:`dims`) and leading axes
        ``batch``: zeros of ``dtype``, leaves ``(*batch, *shape)``. It takes sizes, not
        parameters, so that a module can make a carry before it has parameters."""
        shapes = self.carry_shapes(dims)
        return jax.tree.map(
            lambda s: jnp.zeros((*batch, *s), dtype), shapes, is_leaf=checks.is_shape
        )

    def check(self, params: Any, where: str) -> dict[str, int]:
        """Validate ``params`` (type, every leaf's shape and floating dtype); its :meth:`dims`.

        Raises:
            TypeError: ``params`` is not a :attr:`params_type`, or a leaf is not a
                floating array.
            ValueError: a leaf's shape does not match the layout of the sizes read by
                :meth:`dims`.
        """
        checks.check_type(params, self.params_type, where, hint=_hint(params))
        try:
            dims = self.dims(params)
        except AttributeError as err:  # a nested field of the wrong type
            raise TypeError(
                f"{where}: expected params to be a jaxrnn.{self.params_type.__name__} of "
                f"the layout {self.layout.__qualname__} gives ({err})"
            ) from None
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        options = {k: v for k, v in dims.items() if k not in ("d_in", "d_h")}
        expected = self.layout(dims["d_in"], dims["d_h"], **options)
        checks.check_against_layout(params, expected, where, _sizes_note(dims))
        return dims

    def init(self, key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32,
             initializers: Mapping[str, Initializer] | None = None,
             **options: Any) -> Any:  # fmt: skip
        """Fresh parameters: each leaf of :meth:`layout` from its role's initialiser
        (``initializers[role]``, else :func:`jaxrnn.params.default_initializers`), or its own
        :attr:`Leaf.init`; leaf ``j`` uses ``fold_in(key, j)``.

        ``options``: the :attr:`init_options` (their defaults fill in the rest) and the
        other sizes of :meth:`layout`. A family replaces this with its ``init_*_params``.
        """
        for name, value in (("d_in", d_in), ("d_h", d_h)):
            checks.check_size(name, value)
        options = {**self.init_options, **options}
        layout = self.layout(d_in, d_h, **options)
        inits = {**default_initializers(), **(initializers or {})}
        return init_from_layout(key, layout, inits, options, dtype)

    # --- optional -----------------------------------------------------------------------

    sequence: Callable[..., tuple[Any, Array, Any]] | None = None
    """The family's fast loop, ``sequence(params, xs, carry0, mask, resets, *, reverse,
    return_carries, **options) -> (carry_T, ys, carries or None)``, time-major.

    ``xs (T, n, d_in)`` has the parameters' dtype, ``T >= 1``; the carry's leaves are
    ``(n, ...)``; ``mask (T, n)`` (``False`` at padding: the carry is held and ``y_t`` is
    zero) and ``resets (T, n)`` (``True`` where the step reads ``carry0``, already in the
    order the steps are taken) are bool or None. ``ys`` is ``(T, n, ...)``; ``carries``
    (leaves ``(T, n, ...)``, zero at padding) only when ``return_carries``. ``options`` are
    the family's own (``unroll``, ``remat``). ``None``: the generic loop, a ``lax.scan`` of
    :meth:`step` (:func:`jaxrnn._src.sequence.scan_steps`), which takes ``unroll`` and
    ``remat``."""

    coefficients: Callable[..., tuple[Array, Array]] | None = None
    """``coefficients(params, xs, resets) -> (a, b)`` for a cell whose carry is one array
    with ``h_t = a_t * h_{t-1} + b_t`` (elementwise): ``xs (T, n, d_in)``, ``resets (T, n)``
    bool or None (only read when ``reset_rule == "cell"``), ``a`` and ``b`` ``(T, n, d_h)``.
    Then ``parallel=True`` evaluates every step at once (:func:`jaxrnn._src.linear.linear_scan`)."""

    outputs: Callable[..., Array] | None = None
    """``outputs(params, hs, xs) -> ys`` for a linear cell whose output is not its state
    (the LRU's ``Re(C h_t) + D x_t``); ``None``: ``y_t = h_t``."""

    jacobian_diagonal: Callable[..., Any] | None = None
    """``jacobian_diagonal(params, carry, x_t)``: the diagonal of ``d carry_t / d carry_{t-1}``,
    shaped like the carry (``method="newton-diagonal"`` then needs no ``D`` forward-mode
    products)."""

    readout: Callable[..., Array] | None = None
    """``readout(params, ys) -> logits``: applied by the top layer of :func:`jaxrnn.stack`
    (the vanilla RNN's ``V s_t + b_o``)."""

    # --- identity ------------------------------------------------------------------------
    # A cell without options is equal to every instance of its class (hashable, so that it
    # can be a static argument); a dataclass subclass compares its fields instead.

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _hint(params: Any) -> str:
    cell = _REGISTRY.get(type(params))
    if cell is None:
        return ""
    where = cell.entry_points or f"the cell {cell.name!r}"
    return f"; {type(params).__name__} go to {where}"


def _sizes_note(dims: Mapping[str, int]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in dims.items()) + ")"


def init_from_layout(
    key: PRNGKey,
    layout: Any,
    initializers: Mapping[str, Initializer],
    options: Mapping[str, Any],
    dtype: DType,
) -> Any:
    """The layout's parameters: stored leaf ``j`` (in tree order) is its initialiser at
    ``fold_in(key, j)``, plus ``options[leaf.offset]`` when the leaf has an offset; a leaf
    whose shape has a zero is zeros; a leaf with :attr:`Leaf.derive` is computed from its
    siblings before it (and takes no key)."""
    j = 0

    def walk(node: Any) -> Any:
        nonlocal j
        values: dict[str, Any] = {}
        for name in node._fields:
            spec = getattr(node, name)
            if not isinstance(spec, Leaf):
                values[name] = walk(spec)
            elif 0 in spec.shape:  # not stored (an absent readout): zeros, and no key
                values[name] = jnp.zeros(spec.shape, dtype)
            elif spec.derive is not None:
                values[name] = jnp.asarray(spec.derive(values), dtype)
            else:
                init = spec.init or initializers[spec.role]
                value = init(jax.random.fold_in(key, j), spec.shape, dtype)
                if spec.offset is not None:
                    value = value + jnp.asarray(options[spec.offset], dtype)
                values[name] = value
                j += 1
        return type(node)(**values)

    return walk(layout)


# --- the registry --------------------------------------------------------------------------

_REGISTRY: dict[type, Cell] = {}
_BY_NAME: dict[str, Cell] = {}


def register_cell(cell: Cell) -> Cell:
    """Register ``cell`` under its :attr:`Cell.params_type` and :attr:`Cell.name`; returns it.

    Registering a cell for a parameter type or a name that already has one replaces it.

    Raises:
        TypeError: ``cell`` is not a :class:`Cell`, or its ``params_type`` is not a
            ``NamedTuple`` class.
        ValueError: it has no ``name``.
    """
    if not isinstance(cell, Cell):
        raise TypeError(f"register_cell: expected a jaxrnn.Cell, got {type(cell).__name__}")
    p = cell.params_type
    if not (isinstance(p, type) and issubclass(p, tuple) and hasattr(p, "_fields")):
        raise TypeError(
            f"register_cell: expected {type(cell).__name__}.params_type to be a NamedTuple "
            f"class, got {p!r}"
        )
    if not isinstance(cell.name, str) or not cell.name:
        raise ValueError(f"register_cell: expected {type(cell).__name__}.name to be a name")
    _REGISTRY[p] = cell
    _BY_NAME[cell.name] = cell
    _serializable(cell)
    return cell


_SERIALIZABLE: set[type] = set()


def serializable(cls: type) -> type:
    """Register a NamedTuple type for ``jax.export`` serialization (once), under its module
    and name: an exported function may then take and return it."""
    if cls not in _SERIALIZABLE:
        _SERIALIZABLE.add(cls)
        try:
            jax.export.register_namedtuple_serialization(
                cls, serialized_name=f"{cls.__module__}.{cls.__qualname__}"
            )
        except ValueError:  # registered by other code already
            pass
    return cls


PROBE_SIZES = (1, 64)
"""Sizes tried for a layout whose field structure is all that is wanted (:func:`probe`): 1,
then 64 for a cell that splits its size over heads."""


def probe(cell: Cell) -> tuple[Any, dict[str, Any]] | None:
    """A layout of ``cell`` at the first of :data:`PROBE_SIZES` it accepts (``d_in = d_h``),
    and those sizes with its ``init_options``; None when it accepts none."""
    for size in PROBE_SIZES:
        dims = {"d_in": size, "d_h": size, **cell.init_options}
        try:
            return cell.layout(size, size, **cell.init_options), dims
        except ValueError:
            continue
    return None


def _serializable(cell: Cell) -> None:
    """The cell's parameter and carry NamedTuples (nested ones too), for ``jax.export``."""
    found: list[Any] = [cell.params_type]
    probed = probe(cell)
    if probed is not None:
        found.append(probed[0])
        try:
            found.append(cell.carry_shapes(probed[1]))
        except (KeyError, ValueError):  # carry sizes this probe does not give: the types seen
            pass

    def walk(node: Any) -> None:
        if isinstance(node, type):
            serializable(node)
        elif isinstance(node, tuple) and hasattr(node, "_fields"):
            serializable(type(node))
            for child in node:
                walk(child)

    for node in found:
        walk(node)


def get_cell(cell: str | Cell, where: str = "get_cell") -> Cell:
    """The registered cell named ``cell`` (a :class:`Cell` passes through).

    Raises:
        ValueError: no cell of that name is registered.
    """
    if isinstance(cell, Cell):
        return cell
    if isinstance(cell, str) and cell in _BY_NAME:
        return _BY_NAME[cell]
    raise ValueError(f"{where}: expected cell to be one of {cell_names()}, got {cell!r}")


def cell_for(params: Any, where: str = "cell_for") -> Cell:
    """The registered cell of a parameter pytree (looked up by its type).

    Raises:
        TypeError: no cell is registered for ``type(params)``.
    """
    cell = _REGISTRY.get(type(params))
    if cell is None:
        raise TypeError(
            f"{where}: expected the parameters of a registered cell (one of "
            f"{sorted(t.__name__ for t in _REGISTRY)}), got {type(params).__name__}; "
            "register a new family with jaxrnn.register_cell"
        )
    return cell


def cell_names() -> tuple[str, ...]:
    """The names of the registered cells, in registration order."""
    return tuple(_BY_NAME)


def registered_cells() -> tuple[Cell, ...]:
    """The registered cells, one per parameter type, in registration order."""
    return tuple(_REGISTRY.values())


__all__ = [
    "ROLES",
    "Cell",
    "Leaf",
    "cell_for",
    "cell_names",
    "get_cell",
    "init_from_layout",
    "is_leaf",
    "leaf",
    "probe",
    "register_cell",
    "registered_cells",
    "serializable",
]
