"""The LSTM's sequence loop and its tangent loop (see :mod:`jaxrnn._src.loops` for the design)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

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
from jaxrnn._src.typing import Array
from jaxrnn.params import Gate

CHUNK_BYTES = 4 << 20  # at most this much projected input per chunk (forward loop on CPU)

# Gates in the order [f, i, c, o]. The sigmoid gates are evaluated with the tanh of the
# cell candidate, sigma(x) = (1 + tanh(x / 2)) / 2: their U, W, b are halved in
# fuse_gates (exact), so one tanh covers the whole stacked row (see jaxrnn._src.loops).
GATE_SCALES = (0.5, 0.5, 1.0, 0.5)


def _per_column(values, d_h: int, dtype) -> Array:
    """One value per gate, repeated over the gate's ``d_h`` columns: ``(4 d_h,)``."""
    return jnp.concatenate([jnp.full((d_h,), v, dtype) for v in values])


def _lstm_loop(w: FusedWeights, xs, h0, C0, hr, Cr, mask, resets, reverse: bool, unroll: int,
               save: bool, carries: bool):  # fmt: skip
    """The primal loop on the halved weights; ``hs`` holds the carry at padding steps.

    With ``save``, each step also emits the coefficients the tangent loop multiplies by
    (see the derivation above :func:`_lstm_jvp`): ``gate_coef_t``, ``f_t`` and
    ``o_dtanh_t = o_t (1 - tanh^2 C_t)``; with ``carries``, ``C_t`` too. The loop starts from
    ``(h0, C0)``; at a reset the step reads ``(hr, Cr)`` (the same arrays, but in a segment
    of ``remat``).
    """
    T, n, _ = xs.shape
    d_h = w.W_T.shape[0]
    # d(gate)/d(tanh_z) per column: 1/2 for a sigmoid gate (f = 1/2 + tanh_z_f / 2), 1 for C~
    dgate = _per_column(GATE_SCALES, d_h, w.W_T.dtype)
    K = T if save else chunk_len(T, n * 4 * d_h * w.W_T.dtype.itemsize, CHUNK_BYTES)

    def project(chunk):  # the input products of K steps, one GEMM
        x, m, r = chunk
        return x @ w.U_T, m, r  # (K, n, 4 d_h): no flattening, so batch shardings pass

    def body(carry, inp):
        zx_t, m_t, r_t = inp
        h, C = restart(r_t, (hr, Cr), carry)
        tanh_z = jnp.tanh(zx_t + h @ w.W_T + w.b)  # one tanh over the whole stacked row
        tanh_z_f, tanh_z_i, C_tilde, tanh_z_o = jnp.split(tanh_z, 4, axis=-1)
        f, i, o = 0.5 * tanh_z_f + 0.5, 0.5 * tanh_z_i + 0.5, 0.5 * tanh_z_o + 0.5
        C_new = f * C + i * C_tilde  # C_t = f_t * C_{t-1} + i_t * C~_t
        tanh_C = jnp.tanh(C_new)
        h_new, C_new = hold(m_t, (o * tanh_C, C_new), carry)  # h_t = o_t * tanh(C_t)
        out = (h_new, C_new) if carries else (h_new,)
        if not save:
            return (h_new, C_new), out
        gate_coef = dgate * (1 - tanh_z * tanh_z) * jnp.concatenate([C, C_tilde, i, tanh_C], -1)
        return (h_new, C_new), (*out, gate_coef, f, o * (1 - tanh_C * tanh_C))

    seq = (xs, mask, resets)
    return chunked_scan(body, project, (h0, C0), seq, K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(8, 9, 10))
def _lstm(w: FusedWeights, xs, h0, C0, hr, Cr, mask, resets, reverse, unroll, carries):
    (h_T, C_T), out = _lstm_loop(
        w, xs, h0, C0, hr, Cr, mask, resets, reverse, unroll, False, carries
    )
    return h_T, C_T, zero_padding(out, mask)


# The tangent recurrence. Forward, on the halved weights (z: the stacked pre-activation):
#
#   z_t = x_t U_T + h_{t-1} W_T + b = [z_f, z_i, z_c, z_o],   tanh_z = tanh(z_t)
#   f_t = 1/2 + tanh_z_f / 2,  i_t = 1/2 + tanh_z_i / 2,  C~_t = tanh_z_c,  o_t = 1/2 + tanh_z_o / 2
#   C_t = f_t C_{t-1} + i_t C~_t,   h_t = o_t tanh(C_t)
#
# Differentials (d tanh_z = (1 - tanh_z^2) dz; dgate = [1/2, 1/2, 1, 1/2] per gate):
#
#   dz_t  = dz_proj_t + dh_{t-1} W_T,    dz_proj_t = x_t dU_T + dx_t U_T + h_{t-1} dW_T + db
#   terms = gate_coef_t * dz_t = [df_t C_{t-1}, di_t C~_t, i_t dC~_t, do_t tanh C_t]
#           with gate_coef_t = dgate (1 - tanh_z^2) [C_{t-1}, C~_t, i_t, tanh C_t]
#   dC_t  = terms_f + terms_i + terms_c + f_t dC_{t-1}
#   dh_t  = terms_o + o_dtanh_t dC_t,    o_dtanh_t = o_t (1 - tanh^2 C_t)
#
# Carried: (dh, dC). Projected outside the loop: dz_proj for all steps, one GEMM per
# tangent (it needs only the primal h_{t-1}, i.e. hs shifted by one step, h_0 at resets).
# From the primal loop, per step: gate_coef_t, f_t, o_dtanh_t, so the tangent loop does no
# work that depends on primal values only. At a reset, (h_{t-1}, C_{t-1}) is (h_0, C_0), so
# the tangents read (dh_0, dC_0) there. The recurrent product dh_{t-1} W_T is taken as
# dot_t(dh, W_rows) (W_rows = W_T.T, FusedWeights' invariant), and dx U_T as
# dot_t(dx, U_rows); the tangents of U_rows and W_rows are never read.
@_lstm.defjvp
def _lstm_jvp(reverse, unroll, carries, primals, tangents):
    w, xs, h0, C0, hr, Cr, mask, resets = primals
    dw, dxs, dh0, dC0, dhr, dCr, _, _ = tangents
    (h_T, C_T), (*out, gate_coef, fs, o_dtanh) = _lstm_loop(
        w, xs, h0, C0, hr, Cr, mask, resets, reverse, unroll, True, carries
    )
    T, n, _ = xs.shape
    K = T  # one chunk (see chunked_scan)

    def project(chunk):  # dz_proj of K steps: one GEMM per tangent
        x, dx, h_prev, *rest = chunk
        dz_proj = x @ dw.U_T + dot_t(dx, w.U_rows) + h_prev @ dw.W_T + dw.b
        return dz_proj, *rest

    def body(carry, inp):
        dz_proj_t, gate_coef_t, f_t, o_dtanh_t, m_t, r_t = inp
        dh, dC = restart(r_t, (dhr, dCr), carry)
        terms = gate_coef_t * (dz_proj_t + dot_t(dh, w.W_rows))
        term_f, term_i, term_c, term_o = jnp.split(terms, 4, axis=-1)
        dC_new = term_f + term_i + term_c + f_t * dC
        dh_new = term_o + o_dtanh_t * dC_new
        dh_new, dC_new = hold(m_t, (dh_new, dC_new), carry)
        return (dh_new, dC_new), ((dh_new, dC_new) if carries else (dh_new,))

    h_prev = read_carries(out[0], h0, hr, resets, reverse)
    seq = (xs, dxs, h_prev, gate_coef, fs, o_dtanh, mask, resets)
    (dh_T, dC_T), dout = chunked_scan(
        body, project, (dh0, dC0), seq, K=K, reverse=reverse, unroll=unroll
    )
    primal = (h_T, C_T, zero_padding(tuple(out), mask))
    return primal, (dh_T, dC_T, zero_padding(dout, mask))


def lstm_sequence(
    gates: tuple[Gate, ...], xs, h0, C0, mask, resets, *, reverse: bool, unroll: int,
    remat: int | None = None, carries: bool = False, reset_to: tuple | None = None,
):  # fmt: skip
    """``(h_T, C_T, (hs,))``, or ``(h_T, C_T, (hs, Cs))`` with ``carries``, of the LSTM over
    time-major ``xs (T, n, d_in)``.

    ``gates`` are ``(f, i, c, o)``; ``h0``, ``C0`` are ``(n, d_h)``; ``mask`` and ``resets``
    are ``(T, n, 1)`` or None; ``T`` must be at least 1; ``xs`` has the parameters' dtype.
    A reset restarts from ``reset_to = (h_r, C_r)`` (default ``(h0, C0)``).
    """
    hr, Cr = (h0, C0) if reset_to is None else reset_to

    def run(gates, xs, h0, C0, hr, Cr, mask, resets):
        w = fuse_gates(gates, GATE_SCALES)
        if remat is None:
            return _lstm(w, xs, h0, C0, hr, Cr, mask, resets, reverse, unroll, carries)

        def segment(carry, x, m, r):
            h_T, C_T, out = _lstm(w, x, *carry, hr, Cr, m, r, reverse, unroll, carries)
            return (h_T, C_T), out

        (h_T, C_T), out = in_segments(
            segment, (h0, C0), (xs, mask, resets), k=remat, reverse=reverse
        )
        return h_T, C_T, out

    return cpu_float32(run, tuple(gates), xs, h0, C0, hr, Cr, mask, resets)
