r"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (elementwise), over all steps.

The minGRU and minLSTM reduce to it once their gates are computed for every step at once
(their gates read ``x_t`` only). Two exact forms, neither of which divides:

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
  a block stays in cache: :mod:`jaxrnn._loops.minrnn`, the minGRU/minLSTM forward.) The
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
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxrnn._loops._common import cpu_float32, shift
from jaxrnn._typing import Array


def _sequential(a: Array, b: Array, h0: Array, reverse: bool) -> tuple[Array, Array]:
    def step(h_prev, ab_t):
        a_t, b_t = ab_t
        h_t = a_t * h_prev + b_t
        return h_t, h_t

    return jax.lax.scan(step, h0, (a, b), reverse=reverse)


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

    return jax.lax.fori_loop(0, T, step, (h0, b))


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


def linear_recurrence(
    a: Array, b: Array, h0: Array, *, reverse: bool = False, form: str = "platform"
) -> tuple[Array, Array]:
    """``(h_T, hs)`` of ``h_t = a_t * h_{t-1} + b_t`` over time-major ``a, b (T, ...)``.

    ``h0`` has the shape of one step. With ``reverse`` the steps run from ``T-1`` down to
    0 and ``h_T`` is the state after step 0. ``form`` is ``"platform"`` (``"in_place"``
    on CPU, ``"associative"`` elsewhere), ``"platform_scan"`` (``"sequential"`` on CPU),
    ``"sequential"`` (a ``lax.scan``), ``"in_place"`` (a loop that writes over ``b``'s
    buffer) or ``"associative"``; all give the same values. On CPU, 16-bit
    floats are computed in float32 and rounded once (as the LSTM's loops do).
    """
    if form not in _FORMS:
        raise ValueError(f"expected form to be one of {sorted(_FORMS)}, got {form!r}")
    return cpu_float32(lambda a, b, h0: _recurrence(a, b, h0, reverse, form), a, b, h0)
