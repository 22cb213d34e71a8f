r"""The sLSTM's sequence loop (see :mod:`jaxrnn._src.loops` for the design of the loops).

The recurrent matrices of the sLSTM are block-diagonal over heads, ``W_g (H, d, d)``, so the
loop keeps its carries head-major, ``(H, n, d)``: the recurrent product of all four gates is
one batched product over heads, ``(H, n, d) x (H, d, 4 d)``. Each step also takes its input
product ``x_t U^T`` (columns in the same head-major order) and writes its outputs as
``(n, d_h)``; the step's moves between ``(n, H k)`` and ``(H, n, k)`` are reshapes for one
head and small transposes fused into the step's elementwise work for several. Taking the
input products step by step rather than as one product over all steps before the loop keeps
a ``(T, n, 4 d_h)`` array out of memory while the loop runs (beside the nine coefficient
arrays of the derivatives, below); it measured faster, forward and forward+backward, on CPU
(``python -m benchmarks.slstm_loop``).

The primal values are the cell's own equations: the family passes its ``update`` function
(pre-activations and the previous ``(c, n, m)`` to the new ``(h, c, n, m)``), so the step
and the loop cannot drift apart.

Derivatives: the loop has a custom JVP (:func:`_slstm_jvp`) whose tangent loop carries only
``(dh, dc, dn, dm)`` and multiplies by nine per-step coefficients that the primal loop
emits, derived by hand for the sLSTM's equations (written above :func:`_slstm_jvp`); every
other tangent enters through one product over all steps before the loop,
``dz_proj = X dU^T + dX U^T + H_prev dW^T + db``; reverse mode is JAX's transpose of it, so
the weight gradients are single products after the loop (the LSTM's structure,
:mod:`jaxrnn._src.loops.lstm`).
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
    read_carries,
    restart,
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
    """``(n, H k) -> (H, n, k)``."""
    n, Hk = a.shape
    return jnp.swapaxes(a.reshape(n, H, Hk // H), 0, 1)


def _unheads(a: Array) -> Array:
    """``(..., H, n, d) -> (..., n, H d)``."""
    a = jnp.swapaxes(a, -3, -2)
    return a.reshape(*a.shape[:-2], -1)


# The loop carries (h, c, n, m) head-major, (H, n, d); ``mask``, ``resets`` are (T, n, 1),
# which broadcast against them; the outputs of a step are (n, H d).


def _loop(update: Callable, w: HeadWeights, xs, carry0, carry_r, mask, resets, reverse: bool,
          unroll: int, save: bool, carries: bool):  # fmt: skip
    H = w.W_T.shape[0]

    def body(carry, inp):
        x_t, m_t, r_t = inp
        h, c, n, m = restart(r_t, carry_r, carry)
        z = _heads(x_t @ w.U_T, H) + _recurrent(h, w.W_T) + w.b[:, None]  # (H, n, 4 d)
        i_pre, f_pre, z_pre, o_pre = jnp.split(z, 4, axis=-1)
        new = update(i_pre, f_pre, z_pre, o_pre, c, n, m)
        held = hold(m_t, tuple(new), carry)
        out = tuple(_unheads(a) for a in (held if carries else held[:1]))
        if not save:
            return held, out
        return held, (*out, _coefficients((i_pre, f_pre, z_pre, o_pre), (c, n, m), new))

    return jax.lax.scan(body, carry0, (xs, mask, resets), reverse=reverse, unroll=unroll)


class Coefficients(NamedTuple):
    """What the tangent loop multiplies by at one step (the derivation is written above
    :func:`_slstm_jvp`); each ``(H, n, d)``, elementwise.

    Attributes:
        lam: ``sigma(-f~_t)``, the derivative of ``log sigma(f~_t)``.
        kappa: ``dm_t / da_t`` of ``m_t = max(a_t, i~_t)``, ``a_t = log sigma(f~_t) + m_{t-1}``:
            1 where ``a_t`` is the larger, 0 where ``i~_t`` is, 1/2 at a tie (JAX's rule).
        f: ``f_t``.
        z: ``i_t (1 - tanh^2 z~_t)``.
        c: ``C_t = kappa i_t tanh z~_t - (1 - kappa) f_t c_{t-1}``.
        n: ``N_t = kappa i_t - (1 - kappa) f_t n_{t-1}``.
        o: ``(1 - sigma(o~_t)) h_t``.
        h_c: ``sigma(o~_t) / n_t``.
        h_n: ``h_t / n_t``.
    """

    lam: Array
    kappa: Array
    f: Array
    z: Array
    c: Array
    n: Array
    o: Array
    h_c: Array
    h_n: Array


def _coefficients(pre, state, new) -> Coefficients:
    """The :class:`Coefficients` of one step of the sLSTM's equations from its
    pre-activations ``(i~, f~, z~, o~)``, the state it read ``(c, n, m)`` and the state it
    made ``(h, c, n, m)``. The intermediate values are the family update's own expressions
    again (XLA evaluates each once)."""
    i_pre, f_pre, z_pre, o_pre = pre
    c_prev, n_prev, m_prev = state
    h_t, _, n_t, m_t = new
    a = jax.nn.log_sigmoid(f_pre) + m_prev
    i_t = jnp.exp(i_pre - m_t)
    f_t = jnp.exp(a - m_t)
    one = jnp.ones_like(m_t)
    kappa = jnp.where(a == m_t, jnp.where(i_pre == m_t, 0.5 * one, one), 0 * one)
    tanh_z = jnp.tanh(z_pre)
    o_t = jax.nn.sigmoid(o_pre)
    k_i, k_f = kappa * i_t, (1 - kappa) * f_t
    return Coefficients(
        lam=jax.nn.sigmoid(-f_pre),
        kappa=kappa,
        f=f_t,
        z=i_t * (1 - tanh_z * tanh_z),
        c=k_i * tanh_z - k_f * c_prev,
        n=k_i - k_f * n_prev,
        o=(1 - o_t) * h_t,
        h_c=o_t / n_t,
        h_n=h_t / n_t,
    )


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 7, 8, 9))
def _slstm(update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, carries):
    carry_T, out = _loop(update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, False,
                         carries)  # fmt: skip
    return carry_T, zero_padding(out, mask)


# The tangent recurrence, derived by hand (as the LSTM's, :mod:`jaxrnn._src.loops.lstm`).
# Forward, per head (z_t = x_t U_T + h_{t-1} W_T + b = [i~, f~, z~, o~], W_T block-diagonal)
# and then elementwise:
#
#   a_t = log sigma(f~_t) + m_{t-1},   m_t = max(a_t, i~_t)
#   i_t = exp(i~_t - m_t),   f_t = exp(a_t - m_t),   g_t = tanh(z~_t),   o_t = sigma(o~_t)
#   c_t = f_t c_{t-1} + i_t g_t,   n_t = f_t n_{t-1} + i_t,   h_t = o_t c_t / n_t
#
# Differentials (d log sigma(x) = sigma(-x) dx, dg = (1 - g^2) dz~, do = o (1 - o) do~):
#
#   da_t = lam_t df~_t + dm_{t-1},              lam_t = sigma(-f~_t)
#   dm_t = kappa_t da_t + (1 - kappa_t) di~_t,  kappa_t = dm_t / da_t: 1 where a_t > i~_t,
#                                               0 where a_t < i~_t, 1/2 at a tie (JAX's
#                                               rule for max: both modes agree with
#                                               JAX's derivative of the step)
#
# With delta_t = di~_t - da_t = di~_t - lam_t df~_t - dm_{t-1}:
#
#   dm_t = di~_t - kappa_t delta_t
#   di_t = i_t (di~_t - dm_t) = kappa_t i_t delta_t
#   df_t = f_t (da_t - dm_t)  = -(1 - kappa_t) f_t delta_t
#   dc_t = df_t c_{t-1} + f_t dc_{t-1} + di_t g_t + i_t dg_t
#        = f_t dc_{t-1} + i_t (1 - g_t^2) dz~_t + C_t delta_t,
#          C_t = kappa_t i_t g_t - (1 - kappa_t) f_t c_{t-1}
#   dn_t = df_t n_{t-1} + f_t dn_{t-1} + di_t
#        = f_t dn_{t-1} + N_t delta_t,   N_t = kappa_t i_t - (1 - kappa_t) f_t n_{t-1}
#   dh_t = (1 - o_t) h_t do~_t + (o_t / n_t) dc_t - (h_t / n_t) dn_t
#
# So a step multiplies by nine coefficients (:class:`Coefficients`): lam_t, kappa_t, f_t,
# i_t (1 - g_t^2), C_t, N_t, (1 - o_t) h_t, o_t / n_t and h_t / n_t, which the primal loop
# emits (the tangent loop does no work that depends on primal values only: JAX would move
# such work into an extra loop and store its results). From m_0 = -inf (the default), the
# first step has a_1 = -inf < i~_1: kappa_1 = 0 and f_1 = 0, so the coefficients of dc_0,
# dn_0 and dm_0 are 0 (C_1 = -f_1 c_0 and N_1 = -f_1 n_0 with c_0, n_0 finite, not NaN).
#
# The pre-activations' tangents:
#
#   dz_t = dz_proj_t + dh_{t-1} W_T,   dz_proj_t = x_t dU_T + dx_t U_T + h_{t-1} dW_T + db
#
# with dz_proj projected for all steps at once, before the tangent loop (it needs only the
# primal h_{t-1}: the outputs shifted by one step, the initial h at resets). Carried:
# (dh, dc, dn, dm). At a reset the tangents read the initial carry's; at padding they are
# held, as the primal carries.
@_slstm.defjvp
def _slstm_jvp(update, reverse, unroll, carries, primals, tangents):
    w, xs, carry0, carry_r, mask, resets = primals
    dw, dxs, dcarry0, dcarry_r, _, _ = tangents
    carry_T, (*out, coef) = _loop(
        update, w, xs, carry0, carry_r, mask, resets, reverse, unroll, True, carries
    )
    T, n, _ = xs.shape
    H, d, _ = w.W_T.shape
    h_prev = read_carries(out[0], _unheads(carry0[0]), _unheads(carry_r[0]), resets, reverse)
    dx_U = jax.lax.dot_general(dxs, w.U_rows, (((2,), (1,)), ((), ())))
    if H == 1:  # the same product as the input's (XLA shares the transpose of its cotangent)
        dh_W = h_prev @ dw.W_T[0]
    else:
        dh_W = jnp.einsum("tnhj,hjk->tnhk", h_prev.reshape(T, n, H, d), dw.W_T).reshape(T, n, -1)
    dz_proj = xs @ dw.U_T + dx_U + dh_W + dw.b.reshape(-1)  # (T, n, H 4 d)

    def body(carry, inp):
        dz_proj_t, k, m_t, r_t = inp
        dh, dc, dn, dm = restart(r_t, dcarry_r, carry)
        dz_rec = jax.lax.dot_general(dh, w.W_rows, (((2,), (2,)), ((0,), (0,))))
        dz = _heads(dz_proj_t, H) + dz_rec
        di, df, dz_, do = jnp.split(dz, 4, axis=-1)
        delta = di - k.lam * df - dm
        dm_new = di - k.kappa * delta
        dc_new = k.f * dc + k.z * dz_ + k.c * delta
        dn_new = k.f * dn + k.n * delta
        dh_new = k.o * do + k.h_c * dc_new - k.h_n * dn_new
        new = hold(m_t, (dh_new, dc_new, dn_new, dm_new), carry)
        return new, tuple(_unheads(a) for a in (new if carries else new[:1]))

    seq = (dz_proj, coef, mask, resets)
    dcarry_T, dout = jax.lax.scan(body, dcarry0, seq, reverse=reverse, unroll=unroll)
    primal = (carry_T, zero_padding(tuple(out), mask))
    return primal, (dcarry_T, zero_padding(dout, mask))


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
        return tuple(_unheads(a) for a in carry_T), out

    return cpu_float32(run, tuple(gates), xs, tuple(carry0), mask, resets)
