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


# --- loops under explicit sharding -----------------------------------------------------------


def _explicit_mesh() -> bool:
    """A mesh with explicit axes (``jax.sharding.AxisType.Explicit``) is in effect."""
    mesh = jax.sharding.get_abstract_mesh()
    return bool(getattr(mesh, "_any_axis_explicit", False))


def settle(body, carry, *example):
    """``carry`` resharded to the sharding that ``body(carry, *example)`` gives it back with.

    Under a mesh with explicit axes a loop's carry must keep its type, sharding included,
    and a step's products can change it (a weight sharded over its output axis shards the
    new state). One abstract evaluation of the body (``jax.eval_shape``) says how; the
    initial carry is resharded to that, until it is stable. Without such a mesh ``carry``
    is returned as it is (and the body is not evaluated).
    """
    if not _explicit_mesh():
        return carry
    for _ in range(3):
        out = jax.eval_shape(body, carry, *example)[0]
        got = jax.tree.map(lambda c: jax.typeof(c).sharding.spec, carry)
        want = jax.tree.map(lambda o: o.sharding.spec, out)
        if got == want:
            break
        carry = jax.tree.map(lambda c, o: jax.sharding.reshard(c, o.sharding.spec), carry, out)
    return carry


def replicated(tree):
    """Under a mesh with explicit axes, every leaf of ``tree`` gathered onto every device
    (the loops' weights: a recurrence needs all of ``W`` at every step, and a weight
    sharded over its rows would shard the state it multiplies); elsewhere ``tree``."""
    if not _explicit_mesh():
        return tree
    return jax.tree.map(lambda a: jax.sharding.reshard(a, jax.sharding.PartitionSpec()), tree)


def scan(body, carry, xs, **kw):
    """``jax.lax.scan``, with the carry's sharding settled first (:func:`settle`)."""
    if _explicit_mesh():
        first = jax.tree.map(lambda a: a[0], xs)
        carry = settle(body, carry, first)
    return jax.lax.scan(body, carry, xs, **kw)


def fori_loop(lower, upper, body, carry):
    """``jax.lax.fori_loop``, with the carry's sharding settled first (:func:`settle`)."""
    if _explicit_mesh():
        carry = settle(lambda c, i: (body(i, c),), carry, lower)
    return jax.lax.fori_loop(lower, upper, body, carry)
