"""Small numeric operations shared by the steps, the loops and the linear recurrence."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jaxrnn._src.typing import Array


def _plain(v: Array, M: Array) -> Array:
    return v @ M.T


def _kept_apart(v: Array, M: Array) -> Array:
    return jax.lax.optimization_barrier(v @ M.T)


def mul(M: Array, v: Array) -> Array:
    """``M v`` over the last axis of ``v``, i.e. ``v @ M.T``, with ``M`` stored ``(out, in)``.

    On CPU the product is kept out of the fusion of the elementwise gate that reads it
    (``optimization_barrier``). Inside a loop of steps (Flax's ``nn.RNN`` of a jaxrnn cell,
    a user's ``lax.scan`` of a step) XLA's CPU backend otherwise fuses the transposed
    product into the gate's ``tanh`` / ``sigmoid``, which is several times slower at small
    batch sizes (``docs/design_loops.md`` has the measurements). Other platforms multiply
    as written.
    """
    return jax.lax.platform_dependent(v, M, cpu=_kept_apart, default=_plain)


def materialise(*arrays: Array) -> tuple[Array, ...]:
    """The arrays as they are: ``optimization_barrier`` stops XLA from folding a transpose
    back into the product that uses it."""
    return jax.lax.optimization_barrier(arrays)


def dot_t(a: Array, b_rows: Array) -> Array:
    """``a @ b_rows.T`` written as one ``dot_general`` (its transpose is ``ct @ b_rows``)."""
    return jax.lax.dot_general(a, b_rows, (((a.ndim - 1,), (1,)), ((), ())))


def cpu_float32(fn, *args):
    """``fn(*args)``; on CPU, 16-bit float arguments are computed in float32 instead.

    XLA's CPU backend has no 16-bit float arithmetic: it widens each 16-bit operation to
    float32, including the per-step write of a loop's stacked outputs, which becomes a
    conversion of the whole ``(T, ...)`` buffer at every step, so gradients through a
    16-bit loop cost O(T^2) (measured in ``docs/design_loops.md``). Computing in float32
    and rounding the results once is linear in T, and more accurate. The dtype is that of
    the first leaf of ``args``; other platforms keep it.
    """
    dtype = jax.tree.leaves(args)[0].dtype
    if not jnp.issubdtype(dtype, jnp.floating) or jnp.finfo(dtype).bits > 16:
        return fn(*args)

    def in_float32(*a):
        wide = jax.tree.map(lambda x: x.astype(jnp.float32) if x.dtype == dtype else x, a)
        return jax.tree.map(lambda y: y.astype(dtype), fn(*wide))

    return jax.lax.platform_dependent(*args, cpu=in_float32, default=fn)


@jax.custom_jvp
def product(xs: Array, U: Array, b: Array) -> Array:
    """``xs @ U.T + b``, with ``U.T`` materialised once: a product against a transposed
    operand ran slower on XLA's CPU backend (:class:`jaxrnn._src.loops.common.FusedWeights`)."""
    (U_T,) = materialise(U.T)
    return xs @ U_T + b


@functools.partial(product.defjvp, symbolic_zeros=True)
def _product_jvp(primals, tangents):
    # Tangents multiply ``U`` as stored (``dot_t``): their transposes, the backward
    # products ``ct @ U`` and ``ct^T xs``, then need no transposed weights either.
    xs, U, b = primals
    dxs, dU, db = (None if isinstance(t, SymbolicZero) else t for t in tangents)
    out = product(xs, U, b)
    terms = [dot_t(dxs, U) if dxs is not None else None,  # d(x U^T) = dx U^T + x dU^T
             dot_t(xs, dU) if dU is not None else None, db]  # fmt: skip
    terms = [t for t in terms if t is not None]
    return out, jnp.broadcast_to(sum(terms[1:], terms[0]) if terms else 0.0, out.shape).astype(
        out.dtype
    )


__all__ = ["cpu_float32", "dot_t", "materialise", "mul", "product"]
