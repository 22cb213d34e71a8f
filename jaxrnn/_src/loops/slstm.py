r"""The sLSTM's sequence loop (see :mod:`jaxrnn._src.loops` for the design of the loops).

The recurrent matrices of the sLSTM are block-diagonal over heads, ``W_g (H, d, d)``, so the
loop keeps its carries head-major, ``(H, n, d)``: the recurrent product of all four gates is
one batched product over heads, ``(H, n, d) x (H, d, 4 d)``, with no transpose inside the
loop. The input products of all steps are one matrix product before the loop (columns in the
same head-major order), and the outputs are put back to ``(T, n, d_h)`` once, after it.

The equations are the cell's own: the family passes its ``update`` function (pre-activations
and the previous ``(c, n, m)`` to the new ``(h, c, n, m)``), so the step and the loop cannot
drift apart.

Derivatives: the loop has a custom JVP (:func:`_slstm_jvp`) whose tangent loop carries only
``(dh, dc, dn, dm)`` and multiplies by per-step coefficients the primal loop emits; every
other tangent enters through one product over all steps before the loop,
``dz_proj = X dU^T + dX U^T + H_prev dW^T + db``; reverse mode is JAX's transpose of it, so
the weight gradients are single products after the loop (the LSTM's structure,
:mod:`jaxrnn._src.loops.lstm`). The derivation is written above :func:`_slstm_jvp`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.loops.common import (
    cpu_float32,
    hold,
    in_segments,
    materialise,
    restart,
    shift,
    zero_padding,
)
from jaxrnn._src.typing import Array
from jaxrnn.params import Gate


class HeadWeights(NamedTuple):
    """The four gates ``(i, f, z, o)`` stacked head-major.

    Attributes:
        U_T: ``(d_in, H 4 d)``: column ``(h, g, j)`` is row ``h d + j`` of ``U_g``.
        U_rows: ``(H 4 d, d_in)``, ``U_T.T`` (materialised; tangents ``dx U^T``).
        W_T: ``(H, d, 4 d)``: ``W_T[h, j, g d + k] = W_g[h, k, j]``.
        W_rows: ``(H, 4 d, d)``, ``W_T`` with its last two axes swapped.
        b: ``(H, 4 d)``.
    """

    U_T: Array
    U_rows: Array
    W_T: Array
    W_rows: Array
    b: Array


def head_weights(gates: Sequence[Gate]) -> HeadWeights:
    """Stack the gates ``(i, f, z, o)`` head-major (outside the loop)."""
    H, d, _ = gates[0].W.shape
    d_in = gates[0].U.shape[1]
    U_rows = jnp.stack([g.U.reshape(H, d, d_in) for g in gates], axis=1).reshape(H * 4 * d, d_in)
    W_rows = jnp.stack([g.W for g in gates], axis=1).reshape(H, 4 * d, d)
    b = jnp.stack([g.b.reshape(H, d) for g in gates], axis=1).reshape(H, 4 * d)
    U_T, U_rows, W_T, W_rows = materialise(U_rows.T, U_rows, jnp.swapaxes(W_rows, 1, 2), W_rows)
    return HeadWeights(U_T=U_T, U_rows=U_rows, W_T=W_T, W_rows=W_rows, b=b)


def _recurrent(h: Array, W_T: Array) -> Array:
    """``(H, n, d) x (H, d, 4 d) -> (H, n, 4 d)``: every gate's block-diagonal ``W_g h``."""
    return jax.lax.dot_general(h, W_T, (((2,), (1,)), ((0,), (0,))))


def _heads(a: Array, H: int) -> Array:
    """``(n, d_h) -> (H, n, d)``."""
    n, d_h = a.shape
    return jnp.swapaxes(a.reshape(n, H, d_h // H), 0, 1)


def _unheads(a: Array) -> Array:
    """``(..., H, n, d) -> (..., n, H d)``."""
    a = jnp.swapaxes(a, -3, -2)
    return a.reshape(*a.shape[:-2], -1)


def _head_mask(mask: Array | None) -> Array | None:
    """``(T, n, 1) -> (T, 1, n, 1)``, against head-major outputs ``(T, H, n, d)``."""
    return None if mask is None else mask[:, None]


def _project(w: HeadWeights, xs: Array) -> Array:
    """The input products of all steps, ``(T, n, d_in) -> (T, H, n, 4 d)`` (bias added)."""
    T, n, _ = xs.shape
    H = w.W_T.shape[0]
    zx = (xs @ w.U_T).reshape(T, n, H, -1)  # no flattening: batch shardings pass
    return jnp.swapaxes(zx, 1, 2) + w.b[None, :, None]


# The loop carries (h, c, n, m) head-major; ``mask``, ``resets`` are (T, n, 1), which
# broadcast against (H, n, d).


def _loop(update: Callable, w: HeadWeights, xs, carry0, carry_r, mask, resets, reverse: bool,
          unroll: int, save: bool, carries: bool):  # fmt: skip
    zx = _project(w, xs)

    def body(carry, inp):
        zx_t, m_t, r_t = inp
        h, c, n, m = restart(r_t, carry_r, carry)
        z = zx_t + _recurrent(h, w.W_T)
        i_pre, f_pre, z_pre, o_pre = jnp.split(z, 4, axis=-1)
        new = update(i_pre, f_pre, z_pre, o_pre, c, n, m)
        new = hold(m_t, tuple(new), carry)
        out = new if carries else (new[0],)
        if not save:
            return new, out
        return new, (*out, *_coefficients(update, (i_pre, f_pre, z_pre, o_pre), (c, n, m)))

    return jax.lax.scan(body, carry0, (zx, mask, resets), reverse=reverse, unroll=unroll)


def _coefficients(update, pre, state) -> tuple[Array, ...]:
    """What the tangent loop multiplies by at one step: the partial derivatives of
    ``update`` in its seven arguments, for each of its four results (elementwise), taken by
    forward mode of the family's own update at the primal point.

    ``(P_pre (4, 4, ...), P_state (4, 3, ...))``: ``P_pre[r, a]`` is d(result r) / d(pre a),
    ``P_state[r, a]`` d(result r) / d(state a); results ``(h, c, n, m)``, pre
    ``(i, f, z, o)``, state ``(c, n, m)``.
    """
    args = (*pre, *state)

    def column(a):  # the derivatives of every result in argument a
        tangents = tuple(
            jnp.ones_like(x) if j == a else jnp.zeros_like(x) for j, x in enumerate(args)
        )
        return jnp.stack(jax.jvp(update, args, tangents)[1])  # (4, ...)

    cols = [column(a) for a in range(7)]  # each (4 results, ...)
    return jnp.stack(cols[:4], axis=1), jnp.stack(cols[4:], axis=1)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 7, 8, 9))
def _slstm(update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, carries):
    carry_T, out = _loop(update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, False,
                         carries)  # fmt: skip
    return carry_T, zero_padding(out, _head_mask(mask))


# The tangent recurrence. Per step, on the stacked pre-activation z_t = zx_t + W h_{t-1}
# (head-major, z = [i~, f~, z~, o~] per head) and the update (h, c, n, m) = u(z, c, n, m):
#
#   dz_t  = dz_proj_t + dW-free part dh_{t-1} W_T,
#           dz_proj_t = x_t dU_T + dx_t U_T + h_{t-1} dW_T + db     (all steps at once)
#   d(result r)_t = sum_a P_pre[r, a] dz_a,t + sum_s P_state[r, s] d(state s)_{t-1}
#
# with P the partial derivatives of u at the primal point (elementwise in the d columns,
# :func:`_coefficients`). The sLSTM's u is elementwise, so these 4 x 7 coefficient arrays
# give the whole Jacobian of a step; the primal loop emits them (no primal work is left for
# the tangent loop). Carried: (dh, dc, dn, dm). At a reset the tangents read the initial
# carry's; at padding they are held, as the primal carries.
@_slstm.defjvp
def _slstm_jvp(update, reverse, unroll, carries, primals, tangents):
    w, xs, carry0, carry_r, mask, resets = primals
    dw, dxs, dcarry0, dcarry_r, _, _ = tangents
    carry_T, (*out, P_pre, P_state) = _loop(
        update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, True, carries
    )
    T, n, _ = xs.shape
    H = w.W_T.shape[0]
    hs = out[0]  # (T, H, n, d)
    h_prev = shift(hs, carry0[0], reverse)
    if resets is not None:
        h_prev = jnp.where(resets[:, None], carry_r[0][None], h_prev)
    dx_U = jax.lax.dot_general(dxs, w.U_rows, (((2,), (1,)), ((), ())))
    dz_proj = (xs @ dw.U_T + dx_U).reshape(T, n, H, -1)
    dz_proj = jnp.swapaxes(dz_proj, 1, 2) + dw.b[None, :, None]
    dz_proj = dz_proj + jax.vmap(lambda hp: _recurrent(hp, dw.W_T))(h_prev)

    def body(carry, inp):
        dz_proj_t, P_pre_t, P_state_t, m_t, r_t = inp
        dh, dc, dn, dm = restart(r_t, dcarry_r, carry)
        dz = dz_proj_t + jax.lax.dot_general(dh, w.W_rows, (((2,), (2,)), ((0,), (0,))))
        dpre = jnp.split(dz, 4, axis=-1)
        dstate = (dc, dn, dm)
        new = tuple(
            sum(P_pre_t[r, a] * dpre[a] for a in range(4))
            + sum(P_state_t[r, s] * dstate[s] for s in range(3))
            for r in range(4)
        )
        new = hold(m_t, new, carry)
        return new, (new if carries else (new[0],))

    seq = (dz_proj, P_pre, P_state, mask, resets)
    dcarry_T, dout = jax.lax.scan(body, dcarry0, seq, reverse=reverse, unroll=unroll)
    primal = (carry_T, zero_padding(tuple(out), _head_mask(mask)))
    return primal, (dcarry_T, zero_padding(dout, _head_mask(mask)))


def slstm_sequence(
    update: Callable, gates: tuple[Gate, ...], xs, carry0, mask, resets, *, reverse: bool,
    unroll: int, remat: int | None = None, carries: bool = False,
):  # fmt: skip
    """``(carry_T, outs)`` of the sLSTM over time-major ``xs (T, n, d_in)``.

    ``update(i~, f~, z~, o~, c, n, m) -> (h, c, n, m)`` is the family's step after the
    pre-activations; ``gates`` are ``(i, f, z, o)``; ``carry0`` is ``(h, c, n, m)``, each
    ``(n, d_h)``; ``mask``, ``resets`` ``(T, n, 1)`` or None. ``outs`` is ``(hs,)``, or
    ``(hs, cs, ns, ms)`` with ``carries``, each ``(T, n, d_h)``; ``carry_T`` ``(h, c, n, m)``.
    """
    H = gates[0].W.shape[0]

    def run(gates, xs, carry0, mask, resets):
        w = head_weights(gates)
        c0 = tuple(_heads(a, H) for a in carry0)
        if remat is None:
            carry_T, out = _slstm(update, w, xs, c0, c0, mask, resets, reverse, unroll, carries)
        else:

            def segment(carry, x, m, r):
                return _slstm(update, w, x, carry, c0, m, r, reverse, unroll, carries)

            carry_T, out = in_segments(segment, c0, (xs, mask, resets), k=remat, reverse=reverse)
        return tuple(_unheads(a) for a in carry_T), tuple(_unheads(a) for a in out)

    return cpu_float32(run, tuple(gates), xs, tuple(carry0), mask, resets)
