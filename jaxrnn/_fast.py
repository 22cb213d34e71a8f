r"""The sequence loops behind ``rnn_scan`` and ``lstm_scan``, built for speed on every backend.

Each network's loop is a ``jax.custom_jvp`` whose tangent loop carries only the recurrent
tangents (``ds``, or ``(dh, dC)``). Every other tangent enters through one large product
over all steps, before the loop:

.. math::

    E = X\,dU^\top + dX\,U^\top + H_{\mathrm{prev}}\,dW^\top + db

Forward mode (``jax.jvp``, ``jax.jacfwd``) runs this directly. Reverse mode is JAX's
transpose of it, which is the structure cuDNN uses: the reverse loop carries
``(dh, dC)`` and does one small product per step, and the weight gradients
``dW = \sum_t dz_t^\top h_{t-1}``, ``dU = \sum_t dz_t^\top x_t`` come out as single large
products after it. JAX's autodiff of a plain scan instead adds two small products into
the weight gradients at every step.

What the profile of XLA's CPU backend showed, and what is done about it:

- The input projection ``x_t U^\top`` is one product over all steps, before the loop.
- A fused elementwise kernel that applies ``exp``/``tanh`` to slices of a row (the four
  gates of ``z``) ran ~5x slower than one that applies them to the whole row. So the LSTM
  applies a single ``tanh`` to the whole stacked pre-activation, using
  ``sigma(x) = (1 + tanh(x/2)) / 2``; the halving is folded into the sigmoid gates' rows
  of ``U``, ``W`` and ``b`` (multiplying by 0.5 is exact).
- A product against the transpose of a matrix (``dz W`` with ``W^\top`` stored) ran
  ~2x slower than against a matrix stored in that orientation, so both orientations of
  ``W`` are materialised once, outside the loops (``optimization_barrier`` stops XLA
  from folding the transpose back into the product).
- The primal loop emits exactly the per-step coefficients the tangent loop multiplies
  by, so the tangent loop has no work that depends on the primal values only (JAX would
  move such work into an extra loop and store its results).
- 16-bit floats on CPU run in float32 (results rounded back; see :func:`_cpu_float32`).
- ``remat=k`` runs the same loops on segments of ``k`` steps, each under ``jax.checkpoint``
  (:func:`_in_segments`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxrnn._typing import Array


def _dot_t(a: Array, b_rows: Array) -> Array:
    """``a @ b_rows.T`` written as one ``dot_general`` (its transpose is ``ct @ b_rows``)."""
    return jax.lax.dot_general(a, b_rows, (((a.ndim - 1,), (1,)), ((), ())))


def _flat(a: Array) -> Array:
    """``(T, n, d) -> (T * n, d)``."""
    return a.reshape(-1, a.shape[-1])


def _shift(hs: Array, h0: Array, reverse: bool) -> Array:
    """The carry that entered each step: ``hs`` shifted by one step, ``h0`` at the start."""
    if reverse:
        return jnp.concatenate([hs[1:], h0[None]])
    return jnp.concatenate([h0[None], hs[:-1]])


def _hold(m_t: Array | None, new, old):
    """Padding steps (``m_t`` False) keep the carry."""
    if m_t is None:
        return new
    return jax.tree.map(lambda n, o: jnp.where(m_t, n, o), new, old)


def _zero_padding(ys: Array, mask: Array | None) -> Array:
    return ys if mask is None else jnp.where(mask, ys, jnp.zeros_like(ys))


def _materialise(*arrays: Array) -> tuple[Array, ...]:
    return jax.lax.optimization_barrier(arrays)


def _cpu_float32(fn, *args):
    """``fn(*args)``; on CPU, 16-bit float arguments are computed in float32 instead.

    XLA's CPU backend has no 16-bit float arithmetic: it widens each 16-bit operation to
    float32, including the per-step write of a loop's stacked outputs, which becomes a
    conversion of the whole ``(T, ...)`` buffer at every step. Gradients through a
    bfloat16 loop therefore cost O(T^2): 58 / 211 / 804 ms at T = 250 / 500 / 1000
    (B=1, d_h=128; float32: 19 ms at T=1000). Computing in float32 and rounding the
    results once is linear in T, and more accurate. Other platforms keep the dtype.
    """
    dtype = args[0].dtype
    if not jnp.issubdtype(dtype, jnp.floating) or jnp.finfo(dtype).bits > 16:
        return fn(*args)

    def in_float32(*a):
        wide = jax.tree.map(lambda x: x.astype(jnp.float32) if x.dtype == dtype else x, a)
        return jax.tree.map(lambda y: y.astype(dtype), fn(*wide))

    return jax.lax.platform_dependent(*args, cpu=in_float32, default=fn)


CHUNK_STEPS = 50  # at most this many steps per chunk ...
CHUNK_BYTES = 4 << 20  # ... and at most this much of projected input per chunk (LSTM)
RNN_CHUNK_BYTES = 1 << 20  # the RNN's limit, for steps of at least ...
RNN_CHUNK_MIN_STEP_BYTES = 64 << 10  # ... this much projected input; narrower: one chunk


def _in_segments(run, carry, xs: Array, mask: Array | None, *, k: int, reverse: bool):
    """``run(carry, xs, mask) -> (carry, ys)`` over segments of ``k`` steps, each under
    ``jax.checkpoint``: the backward pass stores the carries at segment boundaries and
    recomputes one segment at a time. Time is padded to whole segments with padding
    steps at the end (a forward scan meets them last, a reverse one first: either way they
    hold the carry).
    """
    T, n_batch = xs.shape[:2]
    n = -(-T // k)
    pad = [(0, n * k - T), (0, 0), (0, 0)]
    mask = jnp.ones((T, n_batch, 1), bool) if mask is None else mask
    seg = (
        jnp.pad(xs, pad).reshape(n, k, *xs.shape[1:]),
        jnp.pad(mask, pad).reshape(n, k, n_batch, 1),
    )
    carry, ys = jax.lax.scan(jax.checkpoint(lambda c, s: run(c, *s)), carry, seg, reverse=reverse)
    return carry, ys.reshape(n * k, *ys.shape[2:])[:T]


def _chunk_len(T: int, step_bytes: int, chunk_bytes: int) -> int:
    """Steps per chunk: the largest divisor of ``T`` within both limits (at least 1)."""
    cap = max(1, min(CHUNK_STEPS, chunk_bytes // max(1, step_bytes), T))
    return max(k for k in range(1, cap + 1) if T % k == 0)


def _chunked_scan(body, project, carry, seq, *, K: int, reverse: bool, unroll: int):
    """``lax.scan(body)`` over time-major ``seq``, ``K`` steps at a time.

    ``project`` maps a chunk of ``seq`` (leaves ``(K, ...)``) to the chunk's per-step
    inputs of ``body``, e.g. the input GEMM of ``K`` steps at once. Projecting chunk by
    chunk rather than all steps at once keeps the projected inputs small and reused:
    on 2 CPU cores the forward pass took 0.8-0.95x the time of one projection of all
    steps (at B=32, 128 and 16). Under differentiation it did not pay (1.0-1.1x), so the
    loops of the JVP rules run as one chunk. The RNN's steps carry a quarter of the
    LSTM's work, and there one chunk was faster where a step's projected input is small
    (0.86 / 0.92 / 0.86x the time of chunks of 50 steps at B=32, 16 and 1), while 1 MiB
    chunks won at B=128, d_h=512 (0.91x of 2.5 MiB ones).

    Chunking is a CPU measure: other platforms (``jax.lax.platform_dependent``) project
    all steps at once. On an H200 the chunked forward pass (4 steps a chunk at B=64,
    d_h=1024) took 11.3-11.6 ms against 8.0 ms for one projection (LSTM, float32).
    """
    T = jax.tree.leaves(seq)[0].shape[0]

    def whole(carry, seq):
        return jax.lax.scan(body, carry, project(seq), reverse=reverse, unroll=unroll)

    if K == T:
        return whole(carry, seq)

    def chunked(carry, seq):
        chunks = jax.tree.map(lambda a: a.reshape(T // K, K, *a.shape[1:]), seq)
        carry, ys = jax.lax.scan(whole, carry, chunks, reverse=reverse)
        return carry, jax.tree.map(lambda y: y.reshape(T, *y.shape[2:]), ys)

    return jax.lax.platform_dependent(carry, seq, cpu=chunked, default=whole)


# --- LSTM --------------------------------------------------------------------------------


def _gate_scale(d_h: int, dtype) -> Array:
    """``[1/2, 1/2, 1, 1/2]`` per gate ``[f, i, c, o]``: sigma(z) = (1 + tanh(z/2)) / 2."""
    half = jnp.full((d_h,), 0.5, dtype)
    return jnp.concatenate([half, half, jnp.ones((d_h,), dtype), half])


def _lstm_loop(U_T, W_T, b, xs, h0, C0, mask, reverse: bool, unroll: int, save: bool):
    """The primal loop on halved parameters; ``hs`` holds the carry at padding steps.

    With ``save``, each step also emits what the tangent loop needs:
    ``DQ = scale * (1 - t^2) * [C_{t-1}, C~_t, i_t, tanh C_t]`` (the derivative of
    ``[f, i, C~, o]`` times what each gate multiplies), ``f_t`` and
    ``o_t (1 - tanh^2 C_t)``.
    """
    T, n, _ = xs.shape
    d_h = W_T.shape[0]
    scale = _gate_scale(d_h, W_T.dtype)
    K = T if save else _chunk_len(T, n * 4 * d_h * W_T.dtype.itemsize, CHUNK_BYTES)

    def project(chunk):  # the input products of K steps, one GEMM
        x, m = chunk
        return (_flat(x) @ U_T).reshape(x.shape[0], n, 4 * d_h), m

    def body(carry, inp):
        h, C = carry
        zx_t, m_t = inp
        t = jnp.tanh(zx_t + h @ W_T + b)  # one tanh over the whole row (see module doc)
        t_f, t_i, g, t_o = jnp.split(t, 4, axis=-1)
        f, i, o = 0.5 * t_f + 0.5, 0.5 * t_i + 0.5, 0.5 * t_o + 0.5
        C_new = f * C + i * g  # C_t = f_t * C_{t-1} + i_t * C~_t
        tanh_C = jnp.tanh(C_new)
        h_new, C_new = _hold(m_t, (o * tanh_C, C_new), (h, C))  # h_t = o_t * tanh(C_t)
        if not save:
            return (h_new, C_new), h_new
        DQ = scale * (1 - t * t) * jnp.concatenate([C, g, i, tanh_C], axis=-1)
        return (h_new, C_new), (h_new, DQ, f, o * (1 - tanh_C * tanh_C))

    return _chunked_scan(body, project, (h0, C0), (xs, mask), K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(9, 10))
def _lstm(U_T, U_rows, W_T, W_rows, b, xs, h0, C0, mask, reverse, unroll):
    (h_T, C_T), hs = _lstm_loop(U_T, W_T, b, xs, h0, C0, mask, reverse, unroll, save=False)
    return h_T, C_T, _zero_padding(hs, mask)


@_lstm.defjvp
def _lstm_jvp(reverse, unroll, primals, tangents):
    U_T, U_rows, W_T, W_rows, b, xs, h0, C0, mask = primals
    # U_rows, W_rows are U_T.T, W_T.T: their tangents are in dU_T, dW_T
    dU_T, _, dW_T, _, db, dxs, dh0, dC0, _ = tangents
    (h_T, C_T), (hs, DQ, F, OT) = _lstm_loop(
        U_T, W_T, b, xs, h0, C0, mask, reverse, unroll, save=True
    )
    T, n, _ = xs.shape
    K = T  # one chunk (see _chunked_scan)

    def project(chunk):  # the tangents from outside the loop, for K steps: one GEMM each
        x, dx, h_prev, *rest = chunk
        E = _flat(x) @ dU_T + _dot_t(_flat(dx), U_rows) + _flat(h_prev) @ dW_T + db
        return E.reshape(K, n, -1), *rest

    def body(carry, inp):
        dh, dC = carry
        E_t, DQ_t, f, ot, m_t = inp
        P = DQ_t * (E_t + _dot_t(dh, W_rows))  # [df C_{t-1}, di C~, dC~ i, do tanh C]
        P_f, P_i, P_c, P_o = jnp.split(P, 4, axis=-1)
        dC_new = P_f + P_i + P_c + f * dC
        dh_new = P_o + ot * dC_new
        dh_new, dC_new = _hold(m_t, (dh_new, dC_new), (dh, dC))
        return (dh_new, dC_new), dh_new

    seq = (xs, dxs, _shift(hs, h0, reverse), DQ, F, OT, mask)
    (dh_T, dC_T), dhs = _chunked_scan(
        body, project, (dh0, dC0), seq, K=K, reverse=reverse, unroll=unroll
    )
    return (h_T, C_T, _zero_padding(hs, mask)), (dh_T, dC_T, _zero_padding(dhs, mask))


def lstm_sequence(U_T, W_T, b, xs, h0, C0, mask, *, reverse: bool, unroll: int, remat=None):
    """``(h_T, C_T, hs)`` of the LSTM over time-major ``xs (T, n, d_in)``.

    ``U_T (d_in, 4 d_h)``, ``W_T (d_h, 4 d_h)`` and ``b (4 d_h,)`` stack the gates in the
    order ``[f, i, c, o]``; ``h0``, ``C0`` are ``(n, d_h)``; ``mask (T, n, 1)`` (or None)
    marks the valid steps. ``T`` must be at least 1.
    """

    def run(U_T, W_T, b, xs, h0, C0, mask):
        scale = _gate_scale(W_T.shape[0], W_T.dtype)
        U_T, W_T, b = U_T * scale, W_T * scale, b * scale  # exact: halves the sigmoid gates
        U_T, U_rows, W_T, W_rows = _materialise(U_T, U_T.T, W_T, W_T.T)
        if remat is None:
            return _lstm(U_T, U_rows, W_T, W_rows, b, xs, h0, C0, mask, reverse, unroll)

        def segment(carry, x, m):
            h_T, C_T, hs = _lstm(U_T, U_rows, W_T, W_rows, b, x, *carry, m, reverse, unroll)
            return (h_T, C_T), hs

        (h_T, C_T), hs = _in_segments(segment, (h0, C0), xs, mask, k=remat, reverse=reverse)
        return h_T, C_T, hs

    return _cpu_float32(run, U_T, W_T, b, xs, h0, C0, mask)


# --- vanilla RNN -------------------------------------------------------------------------


def _rnn_loop(U_T, W_T, b, xs, s0, mask, reverse: bool, unroll: int, save: bool):
    """The primal loop; ``ss`` holds the carry at padding steps; ``save`` adds ``1 - s_t^2``."""
    T, n, _ = xs.shape
    step_bytes = n * W_T.shape[1] * W_T.dtype.itemsize
    one_chunk = save or step_bytes < RNN_CHUNK_MIN_STEP_BYTES
    K = T if one_chunk else _chunk_len(T, step_bytes, RNN_CHUNK_BYTES)

    def project(chunk):
        x, m = chunk
        return (_flat(x) @ U_T).reshape(x.shape[0], n, -1), m

    def body(s, inp):
        zx_t, m_t = inp
        s_new = jnp.tanh(zx_t + s @ W_T + b)  # s_t = tanh(U x_t + W s_{t-1} + b_s)
        s_new = _hold(m_t, s_new, s)
        return s_new, ((s_new, 1 - s_new * s_new) if save else s_new)

    return _chunked_scan(body, project, s0, (xs, mask), K=K, reverse=reverse, unroll=unroll)


@functools.partial(jax.custom_jvp, nondiff_argnums=(8, 9))
def _rnn(U_T, U_rows, W_T, W_rows, b, xs, s0, mask, reverse, unroll):
    s_T, ss = _rnn_loop(U_T, W_T, b, xs, s0, mask, reverse, unroll, save=False)
    return s_T, _zero_padding(ss, mask)


@_rnn.defjvp
def _rnn_jvp(reverse, unroll, primals, tangents):
    U_T, U_rows, W_T, W_rows, b, xs, s0, mask = primals
    dU_T, _, dW_T, _, db, dxs, ds0, _ = tangents
    s_T, (ss, D) = _rnn_loop(U_T, W_T, b, xs, s0, mask, reverse, unroll, save=True)
    T, n, _ = xs.shape
    K = T

    def project(chunk):
        x, dx, s_prev, *rest = chunk
        E = _flat(x) @ dU_T + _dot_t(_flat(dx), U_rows) + _flat(s_prev) @ dW_T + db
        return E.reshape(K, n, -1), *rest

    def body(ds, inp):
        E_t, D_t, m_t = inp
        ds_new = _hold(m_t, D_t * (E_t + _dot_t(ds, W_rows)), ds)
        return ds_new, ds_new

    seq = (xs, dxs, _shift(ss, s0, reverse), D, mask)
    ds_T, dss = _chunked_scan(body, project, ds0, seq, K=K, reverse=reverse, unroll=unroll)
    return (s_T, _zero_padding(ss, mask)), (ds_T, _zero_padding(dss, mask))


def rnn_sequence(U_T, W_T, b, xs, s0, mask, *, reverse: bool, unroll: int, remat=None):
    """``(s_T, ss)`` of the tanh RNN over time-major ``xs (T, n, d_in)``.

    Parameters as in :func:`lstm_sequence`, with ``d_h`` columns instead of ``4 d_h``.
    """

    def run(U_T, W_T, b, xs, s0, mask):
        U_T, U_rows, W_T, W_rows = _materialise(U_T, U_T.T, W_T, W_T.T)
        if remat is None:
            return _rnn(U_T, U_rows, W_T, W_rows, b, xs, s0, mask, reverse, unroll)

        def segment(s, x, m):
            return _rnn(U_T, U_rows, W_T, W_rows, b, x, s, m, reverse, unroll)

        return _in_segments(segment, s0, xs, mask, k=remat, reverse=reverse)

    return _cpu_float32(run, U_T, W_T, b, xs, s0, mask)
