"""Layers of any cell: one layer (:func:`cell_scan`), stacks (:func:`stack`, :func:`init_stack`),
bidirectional pairs (:class:`Bidirectional`), dropout between layers.

Everything here is written against :class:`jaxrnn.Cell` and finds a layer's cell by the type
of its parameters (:func:`jaxrnn.cell_for`), so it works unchanged for every family and for
a user's own registered cell.

A *layer's* parameters are one cell's parameters (an ``LSTMParams``, ...) or a
:class:`Bidirectional` ``(fwd, bwd)`` pair of them. A *stack* is a tuple of layers, bottom
first: layer ``l + 1`` reads the (merged) outputs of layer ``l``. The final carries come back
with the same structure: one carry per layer, a ``Bidirectional(fwd, bwd)`` pair for a
bidirectional layer.

A cell with a readout (:attr:`jaxrnn.Cell.readout`, the vanilla RNN's ``V s_t + b_o``) has it
applied by the top layer only (lower RNN layers carry a readout of size ``d_out = 0``, see
:func:`jaxrnn.without_readout`). For a bidirectional top layer the two readouts are summed,
whatever ``merge``: one linear readout ``[V_fwd, V_bwd] [s_fwd; s_bwd] + b_o^fwd + b_o^bwd``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, TypedDict, Unpack, overload

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src.renames import MISSING, alias, renamed
from jaxrnn._src.typing import Array, Bool, DType, Float, Int, PRNGKey
from jaxrnn.cell import Cell, cell_for, get_cell, serializable
from jaxrnn.params import (
    Initializer,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)

MERGES = ("concat", "sum", "mean")


@serializable
class Bidirectional(NamedTuple):
    """A forward/backward pair: the parameters or the carries of a bidirectional layer.

    Attributes:
        fwd: reads the valid steps first-to-last.
        bwd: reads the valid steps last-to-first (outputs stay aligned with inputs).
    """

    fwd: Any
    bwd: Any


# --- one layer ---------------------------------------------------------------------------------


@overload
def cell_scan(
    params: Any,
    xs: Float[Array, "... T d_in"],
    carry0: Any = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    method: str = "sequential",
    return_carries: Literal[False] = False,
    unroll: int = 1,
    remat: int | None = None,
    reset_carry: Any = None,
) -> tuple[Any, Array]: ...
@overload
def cell_scan(
    params: Any,
    xs: Float[Array, "... T d_in"],
    carry0: Any = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    method: str = "sequential",
    return_carries: Literal[True],
    unroll: int = 1,
    remat: int | None = None,
    reset_carry: Any = None,
) -> tuple[Any, Array, Any]: ...
def cell_scan(
    params: Any,
    xs: Float[Array, "... T d_in"],
    carry0: Any = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    reverse: bool = False,
    method: str = "sequential",
    return_carries: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    reset_carry: Any = None,
) -> tuple[Any, Array] | tuple[Any, Array, Any]:
    r"""Run any registered cell over a sequence, :math:`(c_t, y_t) = \mathrm{step}(c_{t-1}, x_t)`.

    The cell is found by the type of ``params`` (:func:`jaxrnn.cell_for`); the family's own
    ``*_scan`` functions are this with their cell and their options. The sequence rules are
    the same for every cell (``docs/sequences.md``).

    Args:
        params: the parameters of a registered cell.
        xs: inputs ``(..., T, d_in)``: time is the second-to-last axis, leading axes are
            batch axes.
        carry0: the initial carry (leaves ``(..., *shape)``, the cell's
            :meth:`~jaxrnn.Cell.carry_shapes`); default: :meth:`~jaxrnn.Cell.initial_carry`.
        lengths: optional integers ``xs.shape[:-2]``: steps ``t >= lengths`` are padding
            (carry held, outputs zero).
        resets: optional bools ``xs.shape[:-1]``: True where a new segment starts; that
            step reads ``carry0`` in place of the previous carry. With ``reverse`` each
            segment is read last-to-first on its own.
        reverse: read the valid steps last-to-first; outputs stay aligned with inputs.
        method: ``"sequential"`` (the cell's fast loop, or a ``lax.scan`` of its step),
            ``"parallel"`` (a cell linear in its carry: all steps at once), ``"newton"`` or
            ``"newton-diagonal"`` (Newton's method over time, :func:`jaxrnn.newton_scan`).
        return_carries: also return every carry (leaves ``(..., T, *shape)``).
        unroll, remat: loop options of ``"sequential"`` (see :func:`jaxrnn.lstm_scan`).
        reset_carry: the carry a reset restarts from (default: ``carry0``, or the cell's
            initial carry). To stream a sequence in chunks, pass the previous chunk's final
            carry as ``carry0`` and the stream's initial carry here.

    Returns:
        ``(carry_T, ys)``, plus ``carries`` when ``return_carries``; ``ys`` is
        ``(..., T, d_y)``, zero at padding.

    Raises:
        TypeError: ``params`` of no registered cell; a wrong carry or dtype.
        ValueError: shapes that do not match the parameters; a bad ``method``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_T, hs = jaxrnn.cell_scan(p, jnp.ones((2, 6, 3)), resets=jnp.zeros((2, 6), bool))
        >>> bool(jnp.allclose(hs, jaxrnn.gru_scan(p, jnp.ones((2, 6, 3)))[1]))
        True
    """
    cell = cell_for(params, "cell_scan")
    out = _scan(cell, params, xs, carry0, lengths, resets, reset_carry, reverse=reverse,
                method=method, return_carries=return_carries, unroll=unroll, remat=remat,
                where="cell_scan", carry_name="carry0")  # fmt: skip
    return out if return_carries else out[:2]


@functools.partial(
    jax.jit,
    static_argnames=(
        "cell",
        "reverse",
        "method",
        "return_carries",
        "unroll",
        "remat",
        "where",
        "carry_name",
    ),  # fmt: skip
)
def _scan(cell: Cell, params: Any, xs: Any, carry0: Any, lengths: Any, resets: Any,
          reset_carry: Any, *, reverse: bool, method: str, return_carries: bool, unroll: int,
          remat: int | None, where: str, carry_name: str) -> tuple[Any, Array, Any]:  # fmt: skip
    """One direction of one layer, jitted (so that eager calls of :func:`stack` are fast)."""
    return sequence.run_scan(
        cell, params, xs, carry0, lengths=lengths, resets=resets, reverse=reverse,
        method=method, unroll=unroll, remat=remat, return_carries=return_carries,
        reset_carry=reset_carry, where=where, carry_name=carry_name,
    )  # fmt: skip


# --- stacks -----------------------------------------------------------------------------------


def _is_layer(params: Any) -> bool:
    """One layer's parameters (a cell's, or a Bidirectional pair), not a tuple of layers."""
    return isinstance(params, Bidirectional) or hasattr(params, "_fields")


def _check_stack(params: Any, where: str) -> tuple[Any, ...]:
    if _is_layer(params):
        params = (params,)
    if not isinstance(params, (tuple, list)) or not params:
        raise TypeError(
            f"{where}: expected params to be a non-empty tuple of layers (the parameters of "
            f"a registered cell, or Bidirectional pairs of them), got {type(params).__name__}"
        )
    for l, layer in enumerate(params):
        for p in (layer.fwd, layer.bwd) if isinstance(layer, Bidirectional) else (layer,):
            cell_for(p, f"{where}: layer {l}")
    return tuple(params)


class StackOptions(TypedDict, total=False):
    """The keyword arguments of :func:`stack` other than ``return_carries``."""

    seq_lengths: Int[Array, "..."] | None
    lengths: Int[Array, "..."] | None
    resets: Bool[Array, "... T"] | None
    merge: str
    dropout: float
    key: PRNGKey | None
    time_major: bool
    reverse: bool
    keep_order: bool
    unroll: int
    remat: int | None
    dtype: Any
    initial_state: Any
    reset_carry: Any


# stack's result has a third entry exactly when return_carries is True.
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: Literal[False] = False,
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array]: ...
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: Literal[True],
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array, tuple[Any, ...]]: ...
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: bool,
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array] | tuple[tuple[Any, ...], Array, tuple[Any, ...]]: ...
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    seq_lengths: Int[Array, "..."] | None = None,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    merge: str = "concat",
    dropout: float = 0.0,
    key: PRNGKey | None = None,
    return_carries: bool = False,
    time_major: bool = False,
    reverse: bool = False,
    keep_order: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    dtype: Any = None,
    initial_state: Any = MISSING,
    reset_carry: Any = None,
) -> tuple[tuple[Any, ...], Array] | tuple[tuple[Any, ...], Array, tuple[Any, ...]]:
    r"""Run a stack of layers of any registered cells, each uni- or bidirectional.

    Layer ``l`` maps its input sequence to its outputs (``h_t`` for the LSTM, ``s_t`` for
    the RNN); a bidirectional layer runs the forward and the backward direction over the
    same lengths and merges them per step:
    ``concat`` gives ``[h^{fwd}_t; h^{bwd}_t]``, ``sum`` their sum, ``mean`` their mean.
    Between layers (never after the top one) inverted dropout with rate ``dropout`` is
    applied when a ``key`` is given (identity when ``key`` is None or ``dropout == 0``).
    Each layer runs on its cell's fast loop (a cell linear in its carry: its parallel
    form), with ``lengths`` and ``resets`` inside the loop.

    Args:
        params: tuple of layers, bottom first; each the parameters of a registered cell
            (``LSTMParams``, ``GRUParams``, ...) or a ``Bidirectional(fwd, bwd)`` of them.
            A single layer is accepted too.
        xs: inputs, shape ``(..., T, d_in)`` (``(T, ..., d_in)`` when ``time_major``).
        initial_carry: one carry per layer, structured like the returned final carries
            (``LSTMState``, an ``s_0`` array, or a ``Bidirectional`` pair); entries may be
            None (the cell's default). Resets restart from this carry. (Old name:
            ``initial_state``.)
        seq_lengths: optional integer array ``xs.shape[:-2]``; steps ``t >= seq_lengths``
            are padding (carry held, outputs zero). ``lengths`` (the scans' name) is
            accepted too.
        resets: optional bool array ``xs.shape[:-1]``: ``resets[..., t]`` restarts every
            layer from its initial carry before step ``t`` (several episodes packed in one
            stream). The backward direction restarts at the end of each episode.
        merge: ``"concat"`` (default), ``"sum"`` or ``"mean"``.
        dropout: dropout rate in ``[0, 1)`` between layers.
        key: PRNG key for the dropout masks.
        return_carries: also return every carry of every layer: ``LSTMState(h, C)`` with
            fields ``(..., T, d_h)`` (the ``C_t`` sequence), or ``ss`` for the RNN.
        time_major: ``xs`` (and ``resets``, the outputs and carries) have time first.
        reverse: every (unidirectional) layer reads its valid steps last-to-first.
        keep_order: with ``reverse``, return the outputs aligned with the inputs; by
            default (as Flax's ``nn.RNN``) the top layer's outputs come in the order they
            were computed (the valid steps flipped).
        unroll, remat: passed to the loops (:func:`jaxrnn.lstm_scan`); ``unroll=8`` is
            the GPU setting.
        dtype: compute dtype: parameters, inputs and carries are cast to it; None takes
            the promoted dtype of parameters and inputs (bfloat16 parameters with float32
            inputs compute in float32).
        initial_state: deprecated name of ``initial_carry``.
        reset_carry: the carries resets restart from, one per layer like
            ``initial_carry``; None (default): ``initial_carry``; a None entry: that
            layer's default initial carry. To stream a sequence in chunks, pass the previous
            chunk's final carries as ``initial_carry`` and ``(None,) * num_layers`` (or the
            stream's initial carries) here.

    Returns:
        ``(final_carries, outputs)``, plus ``carries`` (a tuple over layers) when
        ``return_carries``. ``outputs`` is the top layer's output sequence
        ``(..., T, d_h)`` (``2 d_h`` for ``concat``); for a cell with a readout (the RNN)
        it is the top layer's logits ``(..., T, d_out)``, zero at padding steps.

    Raises:
        TypeError, ValueError: bad params, shapes, ``merge`` or ``dropout``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> params = (jaxrnn.Bidirectional(jaxrnn.init_lstm_params(k[0], 3, 4),
        ...                                jaxrnn.init_lstm_params(k[1], 3, 4)),
        ...           jaxrnn.init_lstm_params(k[2], 8, 4))
        >>> finals, hs = jaxrnn.stack(params, jnp.ones((2, 5, 3)), seq_lengths=jnp.array([5, 2]))
        >>> hs.shape, finals[0].bwd.C.shape, finals[1].h.shape
        ((2, 5, 4), (2, 4), (2, 4))
    """
    where = "stack"
    initial_carry = renamed(where, "initial_carry", initial_carry, "initial_state", initial_state)
    lengths = alias(where, "seq_lengths", seq_lengths, "lengths", lengths)
    layers = _check_stack(params, where)
    if merge not in MERGES:
        raise ValueError(f"{where}: expected merge to be one of {MERGES}, got {merge!r}")
    if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
        raise ValueError(f"{where}: expected dropout to be a float in [0, 1), got {dropout!r}")
    if reverse and any(isinstance(layer, Bidirectional) for layer in layers):
        raise ValueError(f"{where}: reverse=True needs unidirectional layers, got a Bidirectional")
    if initial_carry is None:
        initial_carry = (None,) * len(layers)
    elif hasattr(initial_carry, "_fields") or hasattr(initial_carry, "shape"):
        initial_carry = (initial_carry,)  # one layer's carry, not a tuple of carries
    if len(initial_carry) != len(layers):
        raise ValueError(
            f"{where}: expected initial_carry to hold one carry per layer "
            f"({len(layers)}), got {len(initial_carry)}"
        )
    if reset_carry is not None:
        if hasattr(reset_carry, "_fields") or hasattr(reset_carry, "shape"):
            reset_carry = (reset_carry,)
        if len(reset_carry) != len(layers):
            raise ValueError(
                f"{where}: expected reset_carry to hold one carry (or None) per layer "
                f"({len(layers)}), got {len(reset_carry)}"
            )
    xs = _to_time_last(checks.as_array(xs, "xs", where), time_major, -2)
    resets = checks.check_resets(_to_time_last(resets, time_major, -1), xs, where)
    if lengths is not None:
        lengths = checks.check_lengths(lengths, tuple(xs.shape[:-2]), where)
    dtype = _compute_dtype(dtype, layers, xs)
    layers, xs, initial_carry = cast((layers, xs, tuple(initial_carry)), dtype)
    resets_to = cast(None if reset_carry is None else tuple(reset_carry), dtype)
    finals, carries = [], []
    h = xs
    for l, (layer, carry0) in enumerate(zip(layers, initial_carry)):
        if l > 0 and key is not None and dropout > 0.0:
            h = _dropout(jax.random.fold_in(key, l), h, dropout)
        top = l == len(layers) - 1

        def run(p: Any, c0: Any, cr: Any, rev: bool, x: Array = h) -> tuple[Any, Array, Any]:
            cell = cell_for(p, where)
            method = "parallel" if cell.coefficients is not None else "sequential"
            if cr is _DEFAULT:  # the cell's default initial carry
                dims = cell.check(p, where)
                cr = cell.initial_carry(dims, tuple(x.shape[:-2]), checks.param_dtype(p))
            return _scan(cell, p, x, c0, lengths, resets, cr, reverse=rev, method=method,
                         return_carries=return_carries, unroll=unroll, remat=remat,
                         where=where, carry_name="initial_carry")  # fmt: skip

        if resets_to is None:
            reset_l: Any = None
        else:
            reset_l = resets_to[l] if resets_to[l] is not None else _DEFAULT
        if isinstance(layer, Bidirectional):
            c0 = carry0 if carry0 is not None else Bidirectional(None, None)
            cr = reset_l if isinstance(reset_l, Bidirectional) else Bidirectional(reset_l, reset_l)
            f_T, f_out, f_car = run(layer.fwd, c0.fwd, cr.fwd, False)
            b_T, b_out, b_car = run(layer.bwd, c0.bwd, cr.bwd, True)
            finals.append(Bidirectional(f_T, b_T))
            carries.append(Bidirectional(f_car, b_car))
            out = _merge(f_out, b_out, merge)
            if top and cell_for(layer.fwd).readout is not None:
                # One linear readout of [s_fwd; s_bwd]: V = [V_fwd, V_bwd].
                out = _readout(layer.fwd, f_out, lengths) + _readout(layer.bwd, b_out, lengths)
        else:
            c_T, out, car = run(layer, carry0, reset_l, reverse)
            finals.append(c_T)
            carries.append(car)
            if top and cell_for(layer).readout is not None:
                out = _readout(layer, out, lengths)
        h = out
    if reverse and not keep_order:
        h = flip_valid(h, lengths)
    h = _to_time_first(h, time_major)
    if return_carries:
        return tuple(finals), h, _to_time_first(tuple(carries), time_major)
    return tuple(finals), h


_DEFAULT: Any = type("Default", (), {"__repr__": lambda self: "DEFAULT"})()
"""A layer's reset carry that is the cell's default initial carry."""


def _readout(params: Any, ys: Array, lengths: Array | None) -> Array:
    """The cell's readout of ``ys (..., T, d)``, zero at padding steps ``t >= lengths``."""
    readout = cell_for(params).readout
    if readout is None:  # stack only calls it for cells with a readout
        raise TypeError(f"the cell of {type(params).__name__} has no readout")
    logits = readout(params, ys)
    if lengths is None:
        return logits
    valid = jnp.arange(ys.shape[-2]) < jnp.asarray(lengths)[..., None]
    return jnp.where(valid[..., None], logits, jnp.zeros_like(logits))


# --- stack plumbing: dtype, time axis, merge, dropout ------------------------------------------


def _floats(tree: Any) -> list[Any]:
    return [
        a for a in jax.tree.leaves(tree) if jnp.issubdtype(getattr(a, "dtype", int), jnp.floating)
    ]


def _compute_dtype(dtype: DType | None, *trees: Any) -> DType:
    """``dtype``, or (None) the promoted dtype of the floating leaves of ``trees`` (Flax's rule)."""
    if dtype is not None:
        return jnp.dtype(dtype)
    return jnp.result_type(*[a.dtype for t in trees for a in _floats(t)])


def cast(tree: Any, dtype: DType | None) -> Any:
    """Cast every floating leaf of ``tree`` to ``dtype`` (None: unchanged)."""
    if dtype is None:
        return tree

    def one(a: Any) -> Any:
        floating = jnp.issubdtype(getattr(a, "dtype", int), jnp.floating)
        return a.astype(dtype) if floating and a.dtype != dtype else a

    return jax.tree.map(one, tree)


def compute_dtype(dtype: DType | None, *trees: Any) -> DType:
    """The compute dtype of a step or a stack: ``dtype``, or the promoted floating dtype."""
    return _compute_dtype(dtype, *trees)


def flip_valid(ys: Array, lengths: Array | None) -> Array:
    """Reverse the valid steps of ``ys (..., T, d)`` in place: ``ys[..., L-1-t, :]`` for ``t < L``.

    Padding steps stay where they are (as Flax's ``flip_sequences``).
    """
    T = ys.shape[-2]
    if lengths is None:
        return jnp.flip(ys, axis=-2)
    t = jnp.arange(T)
    L = jnp.asarray(lengths)[..., None]
    index = jnp.where(t < L, L - 1 - t, t)  # (..., T)
    index = jnp.broadcast_to(index, ys.shape[:-1])
    return jnp.take_along_axis(ys, index[..., None], axis=-2)


def _to_time_last(tree: Any, time_major: bool, axis_from_end: int) -> Any:
    """``time_major`` arrays ``(T, ...)`` -> time at ``axis_from_end`` (-2 for xs, -1 resets)."""
    if not time_major or tree is None:
        return tree
    return jax.tree.map(lambda a: jnp.moveaxis(a, 0, axis_from_end), tree)


def _to_time_first(tree: Any, time_major: bool) -> Any:
    """Outputs and carries ``(..., T, d)`` -> ``(T, ..., d)`` when ``time_major``."""
    if not time_major or tree is None:
        return tree
    return jax.tree.map(lambda a: jnp.moveaxis(a, -2, 0), tree)


def _merge(a: Array, b: Array, mode: str) -> Array:
    """Merge the two directions' outputs per step: ``concat``, ``sum`` or ``mean``."""
    if mode == "concat":
        return jnp.concatenate([a, b], axis=-1)
    if mode == "sum":
        return a + b
    return (a + b) / 2


def _dropout(key: PRNGKey, x: Array, rate: float) -> Array:
    """Inverted dropout: keep each entry with probability ``1 - rate``, scaled up."""
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / jnp.asarray(1.0 - rate, x.dtype), jnp.zeros_like(x))


# --- initialisation ---------------------------------------------------------------------------


def init_stack(
    key: PRNGKey,
    cell: str | Cell,
    in_features: int | None = None,
    features: int | None = None,
    *,
    d_out: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
    merge: str = "concat",
    forget_bias: float = 1.0,
    param_dtype: Any = jnp.float32,
    kernel_init: Initializer = default_input_init,
    recurrent_kernel_init: Initializer = default_recurrent_init,
    bias_init: Initializer = default_bias_init,
    cell_options: dict[str, Any] | None = None,
    d_in: Any = MISSING,
    d_h: Any = MISSING,
    dtype: Any = MISSING,
) -> tuple[Any, ...]:
    """Initialise a stack for :func:`stack`, of any registered cell.

    Layer ``l > 0`` reads the outputs of the layer below: ``features`` of them (the cell's
    :meth:`~jaxrnn.Cell.output_size`; the LRU's is ``in_features``), twice that for a
    bidirectional ``merge="concat"`` stack. Each layer is the cell's own :meth:`~jaxrnn.Cell.init`
    (``init_lstm_params`` for the LSTM, ...). For a cell with a readout (``cell="rnn"``)
    only the top layer has a readout of size ``d_out``; lower layers have none
    (:func:`jaxrnn.without_readout`).

    Args:
        key: PRNG key; layer ``l`` (direction ``j``) uses ``fold_in(fold_in(key, l), j)``.
        cell: a registered cell's name (``"lstm"``, ``"gru"``, ...: :func:`jaxrnn.cell_names`)
            or a :class:`jaxrnn.Cell`.
        in_features, features: input size ``d_in`` and hidden size ``d_h`` (old names
            ``d_in``, ``d_h``).
        d_out: readout size of the top layer (cells with a readout only).
        num_layers, bidirectional, merge: the stack's shape.
        forget_bias: added to every LSTM ``b_f`` (cells with that option only).
        param_dtype: parameter dtype (old name ``dtype``).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of the ``"input"``
            (``U``, and ``V``), ``"recurrent"`` (``W``) and ``"bias"`` leaves, called with
            the stored ``(out, in)`` shapes.
        cell_options: more options of the cell's ``init`` (e.g. ``{"num_heads": 4}``).

    Returns:
        A tuple of ``num_layers`` layers (``Bidirectional`` pairs when bidirectional).

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_stack(jax.random.key(0), "lstm", 3, 4, num_layers=2,
        ...                       bidirectional=True)
        >>> p[1].bwd.f.U.shape
        (4, 8)
    """
    where = "init_stack"
    in_features = renamed(where, "in_features", in_features, "d_in", d_in)
    features = renamed(where, "features", features, "d_h", d_h)
    param_dtype = renamed(where, "param_dtype", param_dtype, "dtype", dtype, default=jnp.float32)
    family = get_cell(cell, where)
    if merge not in MERGES:
        raise ValueError(f"{where}: expected merge to be one of {MERGES}, got {merge!r}")
    checks.check_static_int(num_layers, "num_layers", where, minimum=1)
    inits = {"input": kernel_init, "recurrent": recurrent_kernel_init, "bias": bias_init}
    options = dict(cell_options or {})
    if "forget_bias" in family.init_options:
        options["forget_bias"] = forget_bias
    d_in_l, d_h_l = in_features, features
    layers = []
    for l in range(num_layers):
        top = l == num_layers - 1
        if "d_out" in family.init_options:
            options["d_out"] = d_out if top else 0
        dirs = [
            family.init(
                jax.random.fold_in(jax.random.fold_in(key, l), j),
                d_in_l,
                d_h_l,
                dtype=param_dtype,
                initializers=inits,
                **options,
            )  # fmt: skip
            for j in range(2 if bidirectional else 1)
        ]
        layers.append(Bidirectional(*dirs) if bidirectional else dirs[0])
        d_y = family.output_size({**options, "d_in": d_in_l, "d_h": d_h_l})
        d_in_l = 2 * d_y if (bidirectional and merge == "concat") else d_y
    return tuple(layers)


__all__ = [
    "MERGES",
    "Bidirectional",
    "StackOptions",
    "cast",
    "cell_scan",
    "compute_dtype",
    "flip_valid",
    "init_stack",
    "stack",
]
