"""The vanilla RNN's sequence loop and its tangent loop (see :mod:`jaxrnn._src.loops`)."""

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
from jaxrnn.params import Gate

# The RNN's steps carry a quarter of the LSTM's work: its forward loop runs in chunks of at
# most CHUNK_BYTES of projected input, and as one chunk when a step's projected input is
# narrower than MIN_STEP_BYTES (measurements in docs/design_loops.md).
CHUNK_BYTES = 1 << 20
MIN_STEP_BYTES = 64 << 10


def _rnn_loop(w: FusedWeights, xs, s0, sr, mask, resets, reverse: bool, unroll: int,
              save: bool):  # fmt: skip
    """The primal loop; ``ss`` holds the carry at padding steps; ``save`` adds ``1 - s_t^2``.
    It starts from ``s0``; at a reset the step reads ``sr``."""
    T, n, _ = xs.shape
    step_bytes = n * w.W_T.shape[1] * w.W_T.dtype.itemsize
    one_chunk = save or not isinstance(step_bytes, int) or step_bytes < MIN_STEP_BYTES
    K = T if one_chunk else chunk_len(T, step_bytes, CHUNK_BYTES)

    def project(chunk):
        x, m, r = chunk
        return x @ w.U_T, m, r  # no flattening, so batch shardings pass

    def body(s, inp):
        zx_t, m_t, r_t = inp
        s_prev = restart(r_t, sr, s)
        s_new = jnp.tanh(zx_t + s_prev @ w.W_T + w.b)  # s_t = tanh(U x_t + W s_{t-1} + b_s)
        s_new = hold(m_t, s_new, s)
        return s_new, ((s_new, 1 - s_new * s_new) if save else s_new)

    seq = (xs, mask, resets)
    return chunked_scan(body, project, s0, seq, K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(6, 7))
def _rnn(w: FusedWeights, xs, s0, sr, mask, resets, reverse, unroll):
    s_T, ss = _rnn_loop(w, xs, s0, sr, mask, resets, reverse, unroll, save=False)
    return s_T, zero_padding(ss, mask)


# The tangent recurrence. Forward: s_t = tanh(z_t), z_t = x_t U_T + s_{t-1} W_T + b.
# Differentials:
#
#   ds_t = dtanh_t * (dz_proj_t + ds_{t-1} W_T),   dtanh_t = 1 - s_t^2
#   dz_proj_t = x_t dU_T + dx_t U_T + s_{t-1} dW_T + db
#
# Carried: ds (ds_r at a reset). Projected outside the loop: dz_proj for all steps, one
# GEMM per tangent (it needs only the primal s_{t-1}: ss shifted by one step, s_r at
# resets). From the primal loop, per step: dtanh_t. The products with tangents use the row
# orientations (dot_t with U_rows, W_rows: FusedWeights' invariant); the tangents of U_rows
# and W_rows are never read.
@_rnn.defjvp
def _rnn_jvp(reverse, unroll, primals, tangents):
    w, xs, s0, sr, mask, resets = primals
    dw, dxs, ds0, dsr, _, _ = tangents
    s_T, (ss, dtanh) = _rnn_loop(w, xs, s0, sr, mask, resets, reverse, unroll, save=True)
    T, n, _ = xs.shape
    K = T  # one chunk (see chunked_scan)

    def project(chunk):  # dz_proj of K steps: one GEMM per tangent
        x, dx, s_prev, *rest = chunk
        dz_proj = x @ dw.U_T + dot_t(dx, w.U_rows) + s_prev @ dw.W_T + dw.b
        return dz_proj, *rest

    def body(ds, inp):
        dz_proj_t, dtanh_t, m_t, r_t = inp
        ds_prev = restart(r_t, dsr, ds)
        ds_new = hold(m_t, dtanh_t * (dz_proj_t + dot_t(ds_prev, w.W_rows)), ds)
        return ds_new, ds_new

    seq = (xs, dxs, read_carries(ss, s0, sr, resets, reverse), dtanh, mask, resets)
    ds_T, dss = chunked_scan(body, project, ds0, seq, K=K, reverse=reverse, unroll=unroll)
    return (s_T, zero_padding(ss, mask)), (ds_T, zero_padding(dss, mask))


def rnn_sequence(
    gate: Gate, xs, s0, mask, resets, *, reverse: bool, unroll: int, remat: int | None = None,
    reset_to=None,
):  # fmt: skip
    """``(s_T, ss)`` of the tanh RNN over time-major ``xs (T, n, d_in)``.

    ``gate`` holds ``(U, W, b_s)``; ``s0`` is ``(n, d_h)``; ``mask`` and ``resets`` are
    ``(T, n, 1)`` or None; ``T`` must be at least 1; ``xs`` has the parameters' dtype. The
    readout is not part of the loop. A reset restarts from ``reset_to`` (default ``s0``).
    """

    def run(gates, xs, s0, sr, mask, resets):
        w = fuse_gates(gates)
        if remat is None:
            return _rnn(w, xs, s0, sr, mask, resets, reverse, unroll)

        def segment(s, x, m, r):
            return _rnn(w, x, s, sr, m, r, reverse, unroll)

        return in_segments(segment, s0, (xs, mask, resets), k=remat, reverse=reverse)

    sr = s0 if reset_to is None else reset_to
    return cpu_float32(run, (gate,), xs, s0, sr, mask, resets)
