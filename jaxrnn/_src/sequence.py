"""The sequence driver: one set of rules for every cell, written once against ``jaxrnn.Cell``.

Every public ``*_scan`` and :func:`jaxrnn.cell_scan` calls :func:`run`, which

1. checks the parameters (``cell.check``), the inputs ``xs (..., T, d_in)`` (rank, size,
   a floating dtype no more precise than the parameters'), ``lengths``, ``resets`` and
   the initial carry (shaped like ``cell.initial_carry``; ``None`` takes that default);
2. passes the carry through when ``T = 0``;
3. flattens the batch axes into one (``n``), puts time first, and turns ``lengths`` into a
   mask ``(T, n)`` and ``resets`` into the order the steps are taken: with ``reverse`` each
   segment is read last-to-first, so the loop enters the segment that starts at ``s`` at
   its last step, the one before the next segment's start: ``resets_rev[t] = resets[t + 1]``
   (:func:`reverse_resets`);
4. runs one method: the cell's fast loop (``cell.sequence``) or the generic loop
   :func:`scan_steps` (``"sequential"``), the linear recurrence of ``cell.coefficients``
   (``"parallel"``, :func:`jaxrnn._src.linear.linear_sequence`), or Newton's method over time
   (``"newton"``, ``"newton-diagonal"``);
5. puts the batch axes back, time second-to-last in the outputs.

The padding rule (``lengths``): a padding step holds the carry and emits zeros, so the
final carry is the carry after the last valid step. The reset rule (``resets``): the step
at ``t`` reads the initial carry in place of the previous one (``reset_rule = "initial"``),
or the cell applies its own rule (``"cell"``).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec

from jaxrnn._src import checks, ops
from jaxrnn._src.typing import Array
from jaxrnn.cell import Cell

METHODS = ("sequential", "parallel", "newton", "newton-diagonal")
INFINITE_CARRY = 1e4
"""What an infinite entry of the initial carry becomes under Newton's method (with its sign)."""


def rows(m: Array, leaf: Array) -> Array:
    """The per-example flags ``m (n,)`` shaped to broadcast over ``leaf (n, ...)``."""
    return m.reshape(m.shape + (1,) * (leaf.ndim - m.ndim))


def where_rows(m: Array | None, new: Any, old: Any) -> Any:
    """``new`` where ``m (n,)`` is True, ``old`` elsewhere, leaf by leaf (``m`` None: ``new``)."""
    if m is None:
        return new
    return jax.tree.map(lambda a, b: jnp.where(rows(m, a), a, b), new, old)


def zero_rows(m: Array | None, tree: Any) -> Any:
    """``tree`` with the examples where ``m (n,)`` is False set to zero."""
    if m is None:
        return tree
    return jax.tree.map(lambda a: jnp.where(rows(m, a), a, jnp.zeros_like(a)), tree)


def zero_padding(mask: Array | None, tree: Any) -> Any:
    """Time-major ``tree`` (leaves ``(T, n, ...)``) set to zero where ``mask (T, n)`` is False."""
    if mask is None:
        return tree
    return jax.tree.map(
        lambda a: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 2)), a, 0).astype(a.dtype),
        tree,
    )


def _flags(flags: Array, a: Array) -> Array:
    """Time-major flags ``(T, n)`` shaped to broadcast over ``a (T, n, ...)``."""
    return flags.reshape(flags.shape + (1,) * (a.ndim - 2))


def column(flags: Array | None) -> Array | None:
    """Flags ``(T, n)`` as ``(T, n, 1)`` (the fast loops' layout); None stays None."""
    return None if flags is None else flags[..., None]


def reverse_resets(resets: Array | None) -> Array | None:
    """Time-major resets ``(T, ...)`` for a reverse loop: ``r_rev[t] = r[t + 1]``, and False
    at ``T - 1``.

    Read backwards, the segment that starts at ``s`` is entered at its last step, ``e``,
    which is the step before the next segment's start: the restart moves there.
    """
    if resets is None:
        return None
    return jnp.concatenate([resets[1:], jnp.zeros_like(resets[:1])])


# --- the generic loop -------------------------------------------------------------------------


def scan_steps(
    cell: Cell,
    params: Any,
    xs: Array,
    carry0: Any,
    mask: Array | None,
    resets: Array | None,
    *,
    reverse: bool,
    return_carries: bool,
    unroll: int = 1,
    remat: int | None = None,
    reset_carry: Any = None,
) -> tuple[Any, Array, Any]:
    """A ``lax.scan`` of ``cell.step`` with the padding and reset rules (time-major).

    A reset makes the step read ``reset_carry`` (default ``carry0``). ``remat=k`` runs the
    loop on segments of ``k`` steps, each under ``jax.checkpoint``: the backward pass stores
    the carry at segment boundaries and recomputes the rest.
    """
    target = carry0 if reset_carry is None else reset_carry

    def body(carry: Any, inp: tuple[Array, Array | None, Array | None]) -> tuple[Any, Any]:
        x_t, m_t, r_t = inp
        if r_t is not None and cell.reset_rule == "cell":
            step_with_reset: Any = cell.step  # such a cell's step takes reset=
            new, y_t = step_with_reset(params, carry, x_t, reset=r_t)
        else:
            start = where_rows(r_t, target, carry) if r_t is not None else carry
            new, y_t = cell.step(params, start, x_t)
        new = where_rows(m_t, new, carry)  # padding holds the carry
        out = (zero_rows(m_t, y_t), zero_rows(m_t, new) if return_carries else None)
        return new, out

    seq = (xs, mask, resets)
    if remat is None:
        carry_T, (ys, carries) = ops.scan(body, carry0, seq, reverse=reverse, unroll=unroll)
        return carry_T, ys, carries
    T, n = xs.shape[:2]
    k = remat
    n_seg = -(-T // k)
    pad = n_seg * k - T
    # Padding steps at the end: a forward loop meets them last, a reverse one first, and
    # either way they hold the carry.
    m = jnp.ones((T, n), bool) if mask is None else mask
    seg = jax.tree.map(
        lambda a: jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)).reshape(n_seg, k, *a.shape[1:]),
        (xs, m, resets),
    )

    def segment(carry: Any, s: Any) -> tuple[Any, Any]:
        return ops.scan(body, carry, s, reverse=reverse, unroll=unroll)

    carry_T, (ys, carries) = ops.scan(jax.checkpoint(segment), carry0, seg, reverse=reverse)
    unseg = jax.tree.map(lambda a: a.reshape(n_seg * k, *a.shape[2:])[:T], (ys, carries))
    return carry_T, unseg[0], unseg[1]


# --- Newton's method over time ----------------------------------------------------------------


def newton_path(
    cell: Cell,
    params: Any,
    xs: Array,
    carry0: Any,
    mask: Array | None,
    resets: Array | None,
    *,
    reverse: bool,
    jacobian: str,
    reset_carry: Any = None,
) -> tuple[Any, Array, Any]:
    """``method="newton"``: every carry at once by Newton iterations over time, then the
    outputs of every step from the carries (one more evaluation of the step, all steps at
    once). Time-major in and out, like :func:`scan_steps`."""
    from jaxrnn._src.newton import newton_sequence

    if cell.reset_rule == "cell" and resets is not None:
        raise ValueError(
            f"method={'newton' if jacobian == 'full' else 'newton-diagonal'!r} does not take "
            f"resets for the cell {cell.name!r} (it restarts by its own rule); use "
            "method='sequential'"
        )

    leaves = jax.tree.leaves(carry0)  # (n, ...) each
    if any(c.ndim != 2 or not jnp.issubdtype(c.dtype, jnp.floating) for c in leaves):
        got = ", ".join(f"{c.dtype}{list(c.shape[1:])}" for c in leaves)
        raise ValueError(
            f"method={'newton' if jacobian == 'full' else 'newton-diagonal'!r} needs a carry "
            f"of real vectors, and the cell {cell.name!r} carries {got}; use "
            "method='sequential'"
        )
    # Newton's method subtracts carries, so it needs finite ones: an infinite entry of the
    # initial carry (a log-space stabiliser with no history yet, the sLSTM's m_0 = -inf)
    # enters as +-INFINITE_CARRY, whose exponential is 0 in every float dtype.
    carry0 = jax.tree.map(
        lambda c: jnp.where(jnp.isinf(c), jnp.sign(c) * INFINITE_CARRY, c).astype(c.dtype), carry0
    )

    def step(carry: Any, x_t: Array) -> Any:
        return cell.step(params, carry, x_t)[0]

    diag = None
    if cell.jacobian_diagonal is not None:
        jacobian_diagonal = cell.jacobian_diagonal

        def diag(carry: Any, x_t: Array) -> Any:
            return jacobian_diagonal(params, carry, x_t)

    xs_b = jnp.moveaxis(xs, 0, 1)  # (n, T, d_in)
    mask_b = None if mask is None else mask[..., None]  # (T, n, 1)
    target = carry0 if reset_carry is None else reset_carry
    carry_T, carries_b = newton_sequence(
        step, diag, carry0, xs_b, mask_b, reverse=reverse, jacobian=jacobian,
        resets=None if resets is None else jnp.moveaxis(resets, 0, 1), reset_carry=target,
    )  # fmt: skip
    carries = jax.tree.map(lambda a: jnp.moveaxis(a, 1, 0), carries_b)  # (T, n, ...)
    # The carry each step read: the previous one (reverse: the next), or the initial one.
    before = jax.tree.map(
        lambda c, c0: jnp.concatenate([c[1:], c0[None]]) if reverse
        else jnp.concatenate([c0[None], c[:-1]]),
        carries, carry0,
    )  # fmt: skip
    if mask is not None:
        # The carries come back zero at padding, where the loop held the carry. Padding is
        # a tail (lengths): a reverse loop meets it first, holding carry0, so a valid step
        # whose neighbour is padding read carry0.
        src = (
            jnp.concatenate([mask[1:], jnp.zeros_like(mask[:1])])
            if reverse
            else jnp.concatenate([jnp.ones_like(mask[:1]), mask[:-1]])
        )
        before = jax.tree.map(
            lambda b, c0: jnp.where(_flags(src, b), b, c0[None]),
            before, carry0,
        )  # fmt: skip
    if resets is not None:
        before = jax.tree.map(
            lambda b, c0: jnp.where(_flags(resets, b), c0[None], b),
            before, target,
        )  # fmt: skip
    ys = cell.step(params, before, xs)[1]  # steps take any leading axes: (T, n)
    return carry_T, zero_padding(mask, ys), carries


# --- the driver --------------------------------------------------------------------------------


def run(
    cell: Cell,
    params: Any,
    xs: Any,
    carry0: Any = None,
    *,
    lengths: Any = None,
    resets: Any = None,
    reverse: bool = False,
    method: str = "sequential",
    return_carries: bool = False,
    reset_carry: Any = None,
    where: str,
    carry_name: str = "carry0",
    options: dict[str, Any] | None = None,
) -> tuple[Any, Array, Any]:
    """``(carry_T, ys, carries or None)`` of ``cell`` over ``xs (..., T, d_in)``: the checks,
    the batch axes, ``T = 0``, ``lengths``, ``resets``, ``reverse`` and ``method`` (see the
    module docstring). ``ys`` is ``(..., T, ...)``; ``carries`` has leaves ``(..., T, ...)``."""
    options = dict(options or {})
    methods = tuple(m for m in METHODS if m != "parallel" or cell.coefficients is not None)
    if method == "parallel" and cell.coefficients is None:
        raise ValueError(
            f"{where}: method='parallel' needs a cell that is linear in its carry "
            f"(Cell.coefficients), and {cell.name!r} is not"
        )
    if not isinstance(method, str) or method not in methods:
        raise ValueError(f"{where}: expected method to be one of {methods}, got {method!r}")
    dims = cell.check(params, where)
    dtype = checks.param_dtype(params)
    params = ops.replicated(params)  # explicit sharding: gathered once, not at every step
    xs = checks.check_inputs(xs, dims["d_in"], where, name="xs", min_rank=2)
    checks.check_dtype(xs, dtype, where)
    batch, T = tuple(xs.shape[:-2]), xs.shape[-2]
    if lengths is not None:
        lengths = checks.check_lengths(lengths, batch, where)
    resets = checks.check_resets(resets, xs, where)
    expected = cell.initial_carry(dims, batch, dtype)
    carry0 = _initial(carry0, expected, where, carry_name)
    if reset_carry is not None:
        reset_carry = _initial(reset_carry, expected, where, "reset_carry")
    nb = len(batch)
    if T == 0:  # no steps: the carry passes through
        one = jax.tree.map(lambda c: jax.ShapeDtypeStruct(c.shape[nb:], c.dtype), carry0)
        x_t = jax.ShapeDtypeStruct(xs.shape[-1:], dtype)
        y = jax.eval_shape(lambda c, x: cell.step(params, c, x)[1], one, x_t)
        ys = jnp.zeros((*batch, 0, *y.shape), y.dtype)
        carries = jax.tree.map(lambda c: jnp.zeros((*batch, 0, *c.shape[nb:]), c.dtype), carry0)
        return carry0, ys, carries if return_carries else None
    n = math.prod(batch)
    xs_t = jnp.moveaxis(xs, -2, 0)
    if nb != 1:  # one batch axis passes as it is (and keeps an explicit sharding)
        xs_t = xs_t.reshape(T, n, xs.shape[-1])
    xs_t = xs_t.astype(dtype)
    mask = None
    if lengths is not None:
        mask = jnp.arange(T, dtype=lengths.dtype)[:, None] < lengths.reshape(1, n)
    r = None
    if resets is not None:
        r = jnp.moveaxis(resets, -1, 0).reshape(T, n)
        if mask is not None:  # a flag at padding marks no segment (a reverse read would
            r = r & mask  # otherwise restart its first valid step by the cell's own rule)
        r = reverse_resets(r) if reverse else r
    c0 = batch_like(jax.tree.map(lambda c: c.reshape(n, *c.shape[nb:]), carry0), xs_t)
    cr = None if reset_carry is None else batch_like(
        jax.tree.map(lambda c: c.reshape(n, *c.shape[nb:]), reset_carry), xs_t
    )  # fmt: skip
    if method == "parallel":
        from jaxrnn._src.linear import linear_sequence

        carry_T, ys, carries = linear_sequence(
            cell, params, xs_t, c0, mask, r, reverse=reverse, reset_carry=cr
        )
        carries = carries if return_carries else None
    elif method in ("newton", "newton-diagonal"):
        jacobian = "full" if method == "newton" else "diagonal"
        carry_T, ys, carries = newton_path(
            cell, params, xs_t, c0, mask, r, reverse=reverse, jacobian=jacobian, reset_carry=cr
        )
        carries = carries if return_carries else None
    else:
        loop = cell.sequence if cell.sequence is not None else _generic(cell)
        if cr is not None and r is not None:
            if _takes(loop, "reset_carry"):
                options["reset_carry"] = cr
            else:  # a fast loop that restarts from carry0 only: the generic loop does both
                loop = _generic(cell)
                options["reset_carry"] = cr
        carry_T, ys, carries = loop(
            params, xs_t, c0, mask, r, reverse=reverse, return_carries=return_carries, **options
        )

    def unflatten(a: Array) -> Array:  # (n, ...) -> (*batch, ...)
        return a if nb == 1 else a.reshape(*batch, *a.shape[1:])

    def time_second(a: Array) -> Array:  # (T, n, ...) -> (*batch, T, ...)
        return jnp.moveaxis(a if nb == 1 else a.reshape(T, *batch, *a.shape[2:]), 0, nb)

    carry_T = jax.tree.map(unflatten, carry_T)
    ys = time_second(ys)
    carries = None if carries is None else jax.tree.map(time_second, carries)
    return carry_T, ys, carries


def run_scan(
    cell: Cell,
    params: Any,
    xs: Any,
    carry0: Any = None,
    *,
    lengths: Any = None,
    resets: Any = None,
    reverse: bool = False,
    method: str = "sequential",
    unroll: int = 1,
    remat: int | None = None,
    return_carries: bool = False,
    reset_carry: Any = None,
    where: str,
    carry_name: str = "carry0",
    **options: Any,
) -> tuple[Any, Array, Any]:
    """:func:`run` for a public scan: checks ``unroll`` and ``remat`` (the loop options every
    scan with a sequential loop takes) and that ``remat`` goes with ``method="sequential"``."""
    checks.check_static_int(unroll, "unroll", where, minimum=1)
    if remat is not None:
        checks.check_static_int(remat, "remat (None or a segment length)", where, minimum=1)
        if method != "sequential":
            raise ValueError(
                f"{where}: remat applies to method='sequential' only, got remat={remat!r} "
                f"with method={method!r}; Newton's memory is set by its Jacobians "
                "(docs/newton.md)"
            )
    return run(
        cell, params, xs, carry0, lengths=lengths, resets=resets, reverse=reverse,
        method=method, return_carries=return_carries, reset_carry=reset_carry, where=where,
        carry_name=carry_name, options={"unroll": unroll, "remat": remat, **options},
    )  # fmt: skip


def checked_step(
    cell: Cell, params: Any, carry: Any, x_t: Any, *, where: str, name: str, **kw: Any
) -> tuple[Any, Array]:
    """``cell.step`` behind the checks of a public step function: the parameters, ``x_t``
    ``(..., d_in)`` and the carry (shaped like the cell's carry for those leading axes)."""
    dims = cell.check(params, where)
    x_t = checks.check_inputs(x_t, dims["d_in"], where, name="x_t", min_rank=1)
    batch = tuple(x_t.shape[:-1])
    dtype = checks.param_dtype(params)
    expected = jax.eval_shape(lambda: cell.initial_carry(dims, batch, dtype))
    carry = checks.check_carry(carry, expected, where, name=name)
    return cell.step(params, carry, x_t, **kw)


def batch_like(tree: Any, xs: Array) -> Any:
    """Carries ``(n, ...)`` sharded over the batch like ``xs (T, n, ...)`` when the mesh has
    explicit axes (``jax.sharding.AxisType.Explicit``): a loop's carry must keep the sharding
    it comes back with. Elsewhere (no mesh, automatic axes) ``tree`` as it is."""
    sharding = jax.typeof(xs).sharding
    if not getattr(sharding, "mesh", None) or not sharding.mesh._any_axis_explicit:
        return tree
    spec = tuple(sharding.spec) + (None,) * xs.ndim
    return jax.tree.map(
        lambda c: jax.sharding.reshard(c, PartitionSpec(spec[1], *(None,) * (c.ndim - 1))), tree
    )


def _initial(carry: Any, expected: Any, where: str, name: str) -> Any:
    """A given initial carry checked against ``expected`` (structure, shapes, no more precise
    than it) and cast to its dtypes; ``None`` is ``expected``."""
    if carry is None:
        return expected
    carry = checks.check_carry(carry, expected, where, name=name)
    for leaf, want in zip(jax.tree.leaves(carry), jax.tree.leaves(expected)):
        checks.check_dtype(leaf, want.dtype, where)
    return jax.tree.map(lambda c, w: c.astype(w.dtype), carry, expected)


def _takes(fn: Any, name: str) -> bool:
    """Whether ``fn`` takes the keyword ``name`` (or any keyword)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _generic(cell: Cell) -> Any:
    def loop(params, xs, carry0, mask, resets, **kw):  # noqa: ANN001, ANN202
        return scan_steps(cell, params, xs, carry0, mask, resets, **kw)

    return loop


__all__ = [
    "INFINITE_CARRY", "METHODS", "checked_step", "column", "reverse_resets", "rows", "run",
    "run_scan", "scan_steps", "where_rows", "zero_padding",
]  # fmt: skip
