r"""The GRU's sequence loop: a ``jax.custom_jvp`` whose tangent loop carries only ``dh``.

The gates are stacked ``[z, r, n]``; the sigmoid gates' rows of ``U``, ``W`` and their
biases arrive halved, so that :math:`\sigma(x) = (1 + \tanh(x/2)) / 2` is one ``tanh``
over the stacked ``[z, r]`` pre-activation (see :mod:`jaxrnn._src.loops.common`). Write
:math:`a_t = U x_t + b` (all steps in one product before the loop) and
:math:`g_t = W h_{t-1}`, split ``[z, r, n]``; :math:`t_z, t_r` are the two ``tanh``\ s,
:math:`Q_t = (1 - z_t)(1 - n_t^2)`.

``reset_after=True``: :math:`n_t = \tanh(a_n + r_t (g_n + b_{hn}))`. Differentiating
:math:`h_t = n_t + z_t (h_{t-1} - n_t)`,

.. math::

    dh_t = z_t\,dh_{t-1} + F_t + \textstyle\sum_{g \in \{z, r, n\}} C_{g,t}\,(dh_{t-1} W_g^\top)

    C_z = \tfrac12 (1 - t_z^2)(h_{t-1} - n_t), \quad
    C_r = \tfrac12 (1 - t_r^2)\,Q_t\,(g_n + b_{hn}), \quad C_n = Q_t\,r_t

where :math:`F_t = C_z E_z + C_r E_r + C_n E_{hn} + Q_t E_{xn}` gathers every tangent
from outside the loop: :math:`E_x = X\,dU^\top + dX\,U^\top + db` and
:math:`E_h = H_{\mathrm{prev}}\,dW^\top` (two large products), :math:`E_{z,r}` their sums,
:math:`E_{xn}`, :math:`E_{hn} = E_{h,n} + db_{hn}` the candidate's two parts. ``F`` is an
elementwise expression over all steps, computed before the loop; the loop does one
``(d_h, 3 d_h)`` product per step and carries ``dh`` only.

``reset_after=False``: :math:`n_t = \tanh(a_n + W_n (r_t h_{t-1}))` (``b_hn`` folded into
the projected bias), two products per step in both loops:

.. math::

    dh_t = z_t\,dh_{t-1} + F_t + C_z\,G_z + Q_t\,\big(v_t W_n^\top\big), \quad
    v_t = V_t + B_t\,G_r + r_t\,dh_{t-1}, \quad G = dh_{t-1} W_{zr}^\top

with :math:`B_t = \tfrac12 (1 - t_r^2) h_{t-1}`, :math:`V_t = B_t E_r`,
:math:`F_t = C_z E_z + Q_t E_n`, and the outside products
:math:`E_{zr} \mathrel{+}= H_{\mathrm{prev}}\,dW_{zr}^\top`,
:math:`E_n \mathrel{+}= (R \odot H_{\mathrm{prev}})\,dW_n^\top` (the primal loop saves
:math:`r_t h_{t-1}`).

Reverse mode is JAX's transpose of these linear loops: a reverse loop carrying ``dh`` with
one (or two) small products per step, and the weight gradients as single products over
all steps after it.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxrnn._src import ops
from jaxrnn._src.loops.common import (
    FusedWeights,
    chunk_len,
    chunked_scan,
    cpu_float32,
    dot_t,
    fuse_gates,
    hold,
    in_segments,
    read_carries,
    restart,
    zero_padding,
)
from jaxrnn.params import Gate

CHUNK_BYTES = 4 << 20  # at most this much projected input per chunk (forward loop on CPU)

# Gates in the order [z, r, n]; the sigmoid gates' U, W, b are halved in fuse_gates (exact)
# so that one tanh covers the stacked [z, r] pre-activation (see jaxrnn._src.loops).
GATE_SCALES = (0.5, 0.5, 1.0)


def _project(w: FusedWeights, n: int):
    """The input products of a chunk of steps, one GEMM: ``a_t = U x_t + b``."""

    def project(chunk):
        x, m, r = chunk
        return x @ w.U_T + w.b, m, r  # (K, n, 3 d_h): no flattening, so batch shardings pass

    return project


def _chunk(save: bool, T: int, n: int, w: FusedWeights) -> int:
    step_bytes = n * w.U_T.shape[1] * w.U_T.dtype.itemsize
    return T if save else chunk_len(T, step_bytes, CHUNK_BYTES)


# --- reset_after=True --------------------------------------------------------------------


def _after_loop(w: FusedWeights, b_hn, xs, h0, hr, mask, resets, reverse: bool, unroll: int,
                save: bool):  # fmt: skip
    """Primal loop (``reset_after=True``); ``save`` adds ``(C, Q, z)`` of the module doc.
    It starts from ``h0``; at a reset the step reads ``hr``."""
    T, n, _ = xs.shape
    d_h = w.W_T.shape[0]
    K = _chunk(save, T, n, w)

    def body(carry, inp):
        a_t, m_t, r_t = inp
        h = restart(r_t, hr, carry)
        g = h @ w.W_T
        t_zr = jnp.tanh(a_t[..., : 2 * d_h] + g[..., : 2 * d_h])  # one tanh for z and r
        t_z, t_r = jnp.split(t_zr, 2, axis=-1)
        z, r = 0.5 * t_z + 0.5, 0.5 * t_r + 0.5
        g_n = g[..., 2 * d_h :] + b_hn
        n_t = jnp.tanh(a_t[..., 2 * d_h :] + r * g_n)  # n_t = tanh(U_n x + b_n + r (W_n h + b_hn))
        h_new = hold(m_t, n_t + z * (h - n_t), carry)  # h_t = (1 - z_t) n_t + z_t h_{t-1}
        if not save:
            return h_new, h_new
        Q = (1 - z) * (1 - n_t * n_t)
        C = jnp.concatenate(
            [0.5 * (1 - t_z * t_z) * (h - n_t), 0.5 * (1 - t_r * t_r) * Q * g_n, Q * r], -1
        )
        return h_new, (h_new, C, Q, z)

    project = _project(w, n)
    seq = (xs, mask, resets)
    return chunked_scan(body, project, h0, seq, K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(7, 8))
def _after(w: FusedWeights, b_hn, xs, h0, hr, mask, resets, reverse, unroll):
    h_T, hs = _after_loop(w, b_hn, xs, h0, hr, mask, resets, reverse, unroll, save=False)
    return h_T, zero_padding(hs, mask)


# The tangent recurrence of reset_after=True is derived in the module docstring. Carried:
# dh. Outside the loop: E_x, E_h (one GEMM per tangent, all steps) and F. The tangents of
# w.U_rows and w.W_rows are never read (FusedWeights' invariant).
@_after.defjvp
def _after_jvp(reverse, unroll, primals, tangents):
    w, b_hn, xs, h0, hr, mask, resets = primals
    dw, db_hn, dxs, dh0, dhr, _, _ = tangents
    h_T, (hs, C, Q, Z) = _after_loop(w, b_hn, xs, h0, hr, mask, resets, reverse, unroll, True)
    T, n, _ = xs.shape
    d_h = w.W_T.shape[0]
    E_x = xs @ dw.U_T + dot_t(dxs, w.U_rows) + dw.b  # every step at once
    E_h = read_carries(hs, h0, hr, resets, reverse) @ dw.W_T
    E = jnp.concatenate(
        [E_x[..., : 2 * d_h] + E_h[..., : 2 * d_h], E_h[..., 2 * d_h :] + db_hn], -1
    )
    F = (C * E).reshape(T, n, 3, d_h).sum(2) + Q * E_x[..., 2 * d_h :]

    def body(carry, inp):
        F_t, C_t, z, m_t, r_t = inp
        dh = restart(r_t, dhr, carry)
        P = (C_t * dot_t(dh, w.W_rows)).reshape(n, 3, d_h).sum(1)
        dh_new = hold(m_t, z * dh + F_t + P, carry)
        return dh_new, dh_new

    seq = (F, C, Z, mask, resets)
    dh_T, dhs = ops.scan(body, dh0, seq, reverse=reverse, unroll=unroll)
    return (h_T, zero_padding(hs, mask)), (dh_T, zero_padding(dhs, mask))


# --- reset_after=False -------------------------------------------------------------------


def _split_W(W_T, W_rows):
    """``(W_zr_T, W_n_T, W_zr_rows, W_n_rows)``: the recurrent matrices of ``[z, r]`` and
    of ``n``, which ``reset_after=False`` multiplies by different vectors."""
    d_h = W_T.shape[0]
    return W_T[:, : 2 * d_h], W_T[:, 2 * d_h :], W_rows[: 2 * d_h], W_rows[2 * d_h :]


def _before_loop(w: FusedWeights, xs, h0, hr, mask, resets, reverse: bool, unroll: int,
                 save: bool):  # fmt: skip
    """Primal loop (``reset_after=False``); ``save`` adds ``(C_z, B, r, Q, z, r h_{t-1})``.
    It starts from ``h0``; at a reset the step reads ``hr``."""
    T, n, _ = xs.shape
    d_h = w.W_T.shape[0]
    K = _chunk(save, T, n, w)
    W_zr_T, W_n_T, _, _ = _split_W(w.W_T, w.W_rows)

    def body(carry, inp):
        a_t, m_t, r_t = inp
        h = restart(r_t, hr, carry)
        t_z, t_r = jnp.split(jnp.tanh(a_t[..., : 2 * d_h] + h @ W_zr_T), 2, axis=-1)
        z, r = 0.5 * t_z + 0.5, 0.5 * t_r + 0.5
        rh = r * h
        n_t = jnp.tanh(a_t[..., 2 * d_h :] + rh @ W_n_T)  # n_t = tanh(U_n x + W_n (r h) + b)
        h_new = hold(m_t, n_t + z * (h - n_t), carry)  # h_t = (1 - z_t) n_t + z_t h_{t-1}
        if not save:
            return h_new, h_new
        Q = (1 - z) * (1 - n_t * n_t)
        C_z = 0.5 * (1 - t_z * t_z) * (h - n_t)
        return h_new, (h_new, C_z, 0.5 * (1 - t_r * t_r) * h, r, Q, z, rh)

    project = _project(w, n)
    seq = (xs, mask, resets)
    return chunked_scan(body, project, h0, seq, K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(6, 7))
def _before(w: FusedWeights, xs, h0, hr, mask, resets, reverse, unroll):
    h_T, hs = _before_loop(w, xs, h0, hr, mask, resets, reverse, unroll, save=False)
    return h_T, zero_padding(hs, mask)


# The tangent recurrence of reset_after=False is derived in the module docstring. Carried:
# dh; two products per step (dh W_zr^T, then v W_n^T), as in the primal loop.
@_before.defjvp
def _before_jvp(reverse, unroll, primals, tangents):
    w, xs, h0, hr, mask, resets = primals
    dw, dxs, dh0, dhr, _, _ = tangents
    h_T, (hs, C_z, B, R, Q, Z, RH) = _before_loop(
        w, xs, h0, hr, mask, resets, reverse, unroll, save=True
    )
    T, n, _ = xs.shape
    d_h = w.W_T.shape[0]
    _, _, W_zr_rows, W_n_rows = _split_W(w.W_T, w.W_rows)
    dW_zr_T, dW_n_T = dw.W_T[:, : 2 * d_h], dw.W_T[:, 2 * d_h :]
    E_x = xs @ dw.U_T + dot_t(dxs, w.U_rows) + dw.b
    H_prev = read_carries(hs, h0, hr, resets, reverse)
    E_zr = E_x[..., : 2 * d_h] + H_prev @ dW_zr_T
    E_n = E_x[..., 2 * d_h :] + RH @ dW_n_T
    E_z, E_r = jnp.split(E_zr, 2, axis=-1)
    F = C_z * E_z + Q * E_n
    V = B * E_r

    def body(carry, inp):
        F_t, V_t, C_z_t, B_t, r, Q_t, z, m_t, r_t = inp
        dh = restart(r_t, dhr, carry)
        G_z, G_r = jnp.split(dot_t(dh, W_zr_rows), 2, axis=-1)
        v = V_t + B_t * G_r + r * dh
        dh_new = z * dh + F_t + C_z_t * G_z + Q_t * dot_t(v, W_n_rows)
        dh_new = hold(m_t, dh_new, carry)
        return dh_new, dh_new

    seq = (F, V, C_z, B, R, Q, Z, mask, resets)
    dh_T, dhs = ops.scan(body, dh0, seq, reverse=reverse, unroll=unroll)
    return (h_T, zero_padding(hs, mask)), (dh_T, zero_padding(dhs, mask))


# --- entry point -------------------------------------------------------------------------


def gru_sequence(
    gates: tuple[Gate, Gate, Gate], b_hn, xs, h0, mask, resets, *, reverse: bool, unroll: int,
    remat=None, reset_after=True, reset_to=None,
):  # fmt: skip
    """``(h_T, hs)`` of the GRU over time-major ``xs (T, n, d_in)``.

    ``gates`` are ``(z, r, n)``; ``h0 (n, d_h)``; ``mask`` and ``resets`` are ``(T, n, 1)``
    or None; ``T`` must be at least 1; ``xs`` has the parameters' dtype. A reset restarts
    from ``reset_to`` (default ``h0``).
    """

    def run(gates, b_hn, xs, h0, hr, mask, resets):
        if not reset_after:  # without the reset product, b_hn adds to b_n
            gates = (*gates[:2], gates[2]._replace(b=gates[2].b + b_hn))
        w = fuse_gates(gates, GATE_SCALES)
        if reset_after:
            loop = functools.partial(_after, w, b_hn)
        else:
            loop = functools.partial(_before, w)
        if remat is None:
            return loop(xs, h0, hr, mask, resets, reverse, unroll)

        def segment(h, x, m, r):
            return loop(x, h, hr, m, r, reverse, unroll)

        return in_segments(segment, h0, (xs, mask, resets), k=remat, reverse=reverse)

    hr = h0 if reset_to is None else reset_to
    return cpu_float32(run, tuple(gates), b_hn, xs, h0, hr, mask, resets)
