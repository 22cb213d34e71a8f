r"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (elementwise), over all steps.

Every cell linear in its carry (one with ``Cell.coefficients``, a user's own included)
reduces to it once its coefficients are computed for every step at once.
:func:`linear_scan` is the recurrence, with two exact forms, neither of which divides:

- **Associative scan** (GPU, TPU and other accelerators): the steps are affine maps
  ``h -> a h + b``, and composing two of them is associative,
  ``(a_1, b_1) \circ (a_2, b_2) = (a_1 a_2,\ a_2 b_1 + b_2)``, so
  ``jax.lax.associative_scan`` evaluates all prefixes in ``O(log T)`` parallel depth.
  ``h_0`` is folded into the first step (``b_1 <- a_1 h_0 + b_1``). Products of ``a``
  are only ever multiplied, never divided by: a product that underflows to 0 is the
  correct (vanishing) contribution, so the form is stable at any ``T``. The alternative
  closed form ``h_t = A_t (h_0 + \sum_{s \le t} b_s / A_s)`` with ``A_t = \prod a``
  divides by products that underflow after a few hundred steps of a forget gate below 1,
  and is not used.
- **Sequential loop** (CPU): ``h = a * h + b``, step after step. On 2 CPU cores it
  was the fastest exact form measured (``docs/minrnn.md``): the associative scan's
  ``log T`` extra passes over memory cost more than its parallel depth saves when there
  are only two cores, and blocked forms of the recurrence alone (a scan inside blocks,
  vectorised across blocks, then a pass over block boundaries) lost to it as well, as did
  unrolling it. (What did pay is blocking the gates' product together with this loop, so
  a block stays in cache: :func:`linear_sequence`, the CPU forward of every linear cell.) The
  primal loop writes ``h_t`` over ``b_t`` in ``b``'s buffer (``"in_place"``), which saves
  allocating and zeroing an output buffer; the tangent recurrence is a ``jax.lax.scan``
  (``"sequential"``), whose transpose JAX derives. Its rounding error grows at most
  linearly in ``T`` (each step is one multiply-add of a contraction when ``|a| <= 1``).

``jax.lax.platform_dependent`` picks the form when the program is lowered.

Derivatives: the recurrence is linear in ``(b, h_0)`` and its tangent is the same
recurrence, ``dh_t = a_t dh_{t-1} + (da_t h_{t-1} + db_t)``, so the JVP rule reuses it
(as a ``lax.scan`` on CPU, the associative scan elsewhere); reverse mode is JAX's
transpose of it, the reverse-time recurrence ``g_t = \bar h_t + a_{t+1} g_{t+1}`` with
``\bar a_t = g_t h_{t-1}`` and ``\bar b_t = g_t``. Derivatives of every order work in
both modes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jaxrnn._src import ops
from jaxrnn._src.loops.common import shift
from jaxrnn._src.ops import cpu_float32
from jaxrnn._src.typing import Array


def _sequential(a: Array, b: Array, h0: Array, reverse: bool) -> tuple[Array, Array]:
    def step(h_prev, ab_t):
        a_t, b_t = ab_t
        h_t = a_t * h_prev + b_t
        return h_t, h_t

    return ops.scan(step, h0, (a, b), reverse=reverse)


def _in_place(a: Array, b: Array, h0: Array, reverse: bool) -> tuple[Array, Array]:
    """The sequential loop, writing ``h_t`` over ``b_t`` in ``b``'s buffer (no output buffer
    to allocate and zero). Not for differentiation: a loop that updates a carried buffer
    would store the buffer at every step; the JVP rule runs :func:`_sequential` instead."""
    T = a.shape[0]

    def step(i, carry):
        h_prev, hs = carry
        t = T - 1 - i if reverse else i
        at = functools.partial(jax.lax.dynamic_index_in_dim, index=t, keepdims=False)
        h_t = at(a) * h_prev + at(hs)
        return h_t, jax.lax.dynamic_update_index_in_dim(hs, h_t, t, 0)

    return ops.fori_loop(0, T, step, (h0, b))


def compose(earlier, later):
    """``(a_1, b_1) o (a_2, b_2) = (a_1 a_2, a_2 b_1 + b_2)``: apply step 1, then step 2."""
    a_1, b_1 = earlier
    a_2, b_2 = later
    return a_1 * a_2, a_2 * b_1 + b_2


def _associative(a: Array, b: Array, h0: Array, reverse: bool) -> tuple[Array, Array]:
    first = -1 if reverse else 0  # the step that reads h0
    b = jnp.asarray(b).at[first].add(a[first] * h0)
    _, hs = jax.lax.associative_scan(compose, (a, b), reverse=reverse)
    return (hs[0] if reverse else hs[-1]), hs


def _by_platform(a, b, h0, reverse: bool, cpu) -> tuple[Array, Array]:
    return jax.lax.platform_dependent(
        a, b, h0,
        cpu=functools.partial(cpu, reverse=reverse),
        default=functools.partial(_associative, reverse=reverse),
    )  # fmt: skip


@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _recurrence(a: Array, b: Array, h0: Array, reverse: bool, form: str) -> tuple[Array, Array]:
    return _FORMS[form](a, b, h0, reverse)


@_recurrence.defjvp
def _recurrence_jvp(reverse, form, primals, tangents):
    a, b, h0 = primals
    da, db, dh0 = tangents
    h_T, hs = _recurrence(a, b, h0, reverse, form)
    h_prev = shift(hs, h0, reverse)  # the state each step read
    dh_T, dhs = _recurrence(a, da * h_prev + db, dh0, reverse, _TANGENT_FORM[form])
    return (h_T, hs), (dh_T, dhs)


_FORMS: dict[str, Callable[..., tuple[Array, Array]]] = {
    "sequential": _sequential,
    "in_place": _in_place,
    "associative": _associative,
    "platform": functools.partial(_by_platform, cpu=_in_place),
    "platform_scan": functools.partial(_by_platform, cpu=_sequential),
}
# The form of the tangent recurrence: one that JAX can transpose (reverse mode) cheaply.
_TANGENT_FORM = {"sequential": "sequential", "in_place": "sequential",
                 "associative": "associative", "platform": "platform_scan",
                 "platform_scan": "platform_scan"}  # fmt: skip


def linear_scan(
    a: Array, b: Array, h0: Array, *, reverse: bool = False, form: str = "platform"
) -> tuple[Array, Array]:
    """``(h_T, hs)`` of ``h_t = a_t * h_{t-1} + b_t`` over time-major ``a, b (T, ...)``.

    ``h0`` has the shape of one step. With ``reverse`` the steps run from ``T-1`` down to
    0 and ``h_T`` is the state after step 0. ``form`` is ``"platform"`` (``"in_place"``
    on CPU, ``"associative"`` elsewhere; the loop on every platform when ``T`` is a symbolic
    size, which ``jax.lax.associative_scan`` cannot take), ``"platform_scan"`` (``"sequential"``
    on CPU),
    ``"sequential"`` (a ``lax.scan``), ``"in_place"`` (a loop that writes over ``b``'s
    buffer) or ``"associative"``; all give the same values. On CPU, 16-bit
    floats are computed in float32 and rounded once (as the LSTM's loops do).
    """
    if form not in _FORMS:
        raise ValueError(f"expected form to be one of {sorted(_FORMS)}, got {form!r}")
    if not isinstance(a.shape[0], int):  # a symbolic T (jax.export): no associative scan
        form = {"platform": "in_place", "platform_scan": "sequential",
                "associative": "sequential"}.get(form, form)  # fmt: skip
    return cpu_float32(lambda a, b, h0: _recurrence(a, b, h0, reverse, form), a, b, h0)


# --- every linear cell: coefficients, then the recurrence ------------------------------------
#
# A cell with ``Cell.coefficients`` is ``h_t = a_t * h_{t-1} + b_t``. :func:`linear_sequence`
# is what ``parallel=True`` runs for every such cell, in one of two forms:
#
# - unblocked (:func:`unblocked`; accelerators, and every derivative): the coefficients of
#   all T steps at once (for the min cells, one matrix product of all the gates), then
#   :func:`linear_scan` (an associative scan on accelerators, a sequential loop on CPU);
# - blocked (:func:`blocked`; the CPU forward pass): the unblocked form makes three passes
#   over ``(T, n, ...)`` arrays that do not fit in cache (the coefficients are written, then
#   read back by the loop). Here the steps are cut into blocks of ``K`` steps; for each block
#   (a ``lax.scan`` over blocks) the coefficients and the loop run on a block that stays in
#   cache, the loop writing ``h_t`` over ``b_t`` in the block's buffer. Each step is the same
#   arithmetic. About 4096 rows (``K n``) per block was fastest from ``n = 1`` to ``n = 128``
#   (``python -m benchmarks.min_blocked``, ``docs/minrnn.md``).
#
# The blocked form is primal only: the JVP rule of :func:`_linear` differentiates the
# unblocked form, whose tangent is the same recurrence and whose transpose (reverse mode)
# is the reverse-time one, so derivatives of every order in both modes are the unblocked
# form's.
#
# Padding sets ``a_t = 1, b_t = 0`` (the state is held exactly). A reset (rule
# ``"initial"``) sets ``a_t = 0`` and ``b_t <- b_t + a_t h_0``: the step reads ``h_0``.

BLOCK_ROWS = 4096  # rows (steps x batch) of a block, about; see block_steps


def block_steps(T: int, n: int, rows: int = BLOCK_ROWS) -> int:
    """Steps per block: the divisor of ``T`` nearest (in ratio) to ``rows / n``, or ``T``
    (one block) when no divisor is within a factor 4 of it. A divisor keeps every block
    the same shape, so the scan over blocks has one body and no remainder. Symbolic sizes
    (``jax.export``) give one block."""
    if not (isinstance(T, int) and isinstance(n, int)):
        return T
    target = max(rows // max(n, 1), 1)
    if target >= T:
        return T
    small = [k for k in range(1, math.isqrt(T) + 1) if T % k == 0]
    divisors = sorted(set(small) | {T // k for k in small})
    best = min(divisors, key=lambda k: abs(math.log(k / target)))
    return best if target / 4 <= best <= 4 * target else T


def _bcast(m: Array, a: Array) -> Array:
    """Flags ``(T, n)`` shaped to broadcast over ``a (T, n, ...)``."""
    return m.reshape(m.shape + (1,) * (a.ndim - m.ndim))


def masked_coefficients(cell, params, xs, h0, mask, resets):
    """``(a, b)`` of the cell for time-major ``xs``, with the padding and reset rules
    (``h0``: the carry a reset restarts from)."""
    a, b = cell.coefficients(params, xs, resets if cell.reset_rule == "cell" else None)
    if resets is not None and cell.reset_rule == "initial":
        r = _bcast(resets, a)
        b = jnp.where(r, b + a * h0, b)  # the step reads h_0: a_t h_0 + b_t
        a = jnp.where(r, jnp.zeros_like(a), a)
    if mask is not None:  # padding: a_t = 1, b_t = 0 holds the state exactly
        m = _bcast(mask, a)
        a = jnp.where(m, a, jnp.ones_like(a))
        b = jnp.where(m, b, jnp.zeros_like(b))
    return a, b


def unblocked(cell, reverse: bool, params, xs, h0, mask, resets, hr=None):
    """The coefficients of all steps at once, then :func:`linear_scan` from ``h0``; a reset
    restarts from ``hr`` (default ``h0``)."""
    a, b = masked_coefficients(cell, params, xs, h0 if hr is None else hr, mask, resets)
    return linear_scan(a, b, h0, reverse=reverse)


def blocked(cell, reverse: bool, params, xs, h0, mask, resets, hr=None, K: int | None = None):
    """The same numbers ``K`` steps at a time (default :func:`block_steps`); ``K`` divides ``T``."""
    T, n = xs.shape[:2]
    K = block_steps(T, n) if K is None else K
    blocks = T // K

    def block(h, inputs):
        x_blk, m_blk, r_blk = inputs
        a, b = masked_coefficients(cell, params, x_blk, h0 if hr is None else hr, m_blk, r_blk)
        return _in_place(a, b, h, reverse)

    split = jax.tree.map(lambda v: v.reshape(blocks, K, *v.shape[1:]), (xs, mask, resets))
    h_T, hs = ops.scan(block, h0, split, reverse=reverse)
    return h_T, hs.reshape(T, *hs.shape[2:])


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _linear(cell, reverse: bool, params, xs, h0, hr, mask, resets):
    """``(h_T, hs)``: blocked on CPU, unblocked elsewhere; derivatives are the unblocked
    form's (:func:`_linear_jvp`)."""
    return jax.lax.platform_dependent(
        params, xs, h0, mask, resets, hr,
        cpu=functools.partial(blocked, cell, reverse),
        default=functools.partial(unblocked, cell, reverse),
    )  # fmt: skip


@functools.partial(_linear.defjvp, symbolic_zeros=True)
def _linear_jvp(cell, reverse, primals, tangents):
    # The unblocked form, differentiated in the inputs whose tangents are not symbolic
    # zeros (a zero tangent of ``xs`` would otherwise cost a product): its tangent is the
    # same recurrence, and its transpose (reverse mode) the reverse-time one.
    params, xs, h0, hr, mask, resets = primals
    leaves, tree = jax.tree.flatten((params, xs, h0, hr))
    dleaves = jax.tree.leaves(tangents[:4], is_leaf=lambda t: isinstance(t, SymbolicZero))
    live = [i for i, t in enumerate(dleaves) if not isinstance(t, SymbolicZero)]

    def f(*live_leaves):
        full = list(leaves)
        for i, v in zip(live, live_leaves):
            full[i] = v
        p, x, h, r = jax.tree.unflatten(tree, full)
        return unblocked(cell, reverse, p, x, h, mask, resets, r)

    return jax.jvp(f, tuple(leaves[i] for i in live), tuple(dleaves[i] for i in live))


def linear_sequence(cell, params, xs, h0, mask, resets, *, reverse: bool, reset_carry=None):
    """``(h_T, ys, hs)`` of a linear cell over time-major ``xs (T, n, d_in)`` (the driver's
    ``method="parallel"``): ``ys = cell.outputs(params, hs, xs)`` (or ``hs``), both zero
    at padding; a reset restarts from ``reset_carry`` (default ``h0``). 16-bit floats take
    the unblocked form (computed in float32 on CPU)."""
    dtype = h0.dtype
    hr = h0 if reset_carry is None else reset_carry
    if jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits <= 16:
        h_T, hs = unblocked(cell, reverse, params, xs, h0, mask, resets, hr)
    else:
        h_T, hs = _linear(cell, reverse, params, xs, h0, hr, mask, resets)
    ys = hs if cell.outputs is None else cell.outputs(params, hs, xs)
    if mask is not None:
        hs = jnp.where(_bcast(mask, hs), hs, jnp.zeros_like(hs))
        ys = jnp.where(_bcast(mask, ys), ys, jnp.zeros_like(ys))
    return h_T, ys, hs
