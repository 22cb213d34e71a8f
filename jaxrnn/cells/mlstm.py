r"""The mLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory"): a matrix memory
with exponential gating, linear in its state, in three exact forms.

.. math::

    m_t &= \max(\log\sigma(\tilde f_t) + m_{t-1},\ \tilde\imath_t), \qquad
    i_t = e^{\tilde\imath_t - m_t}, \qquad f_t = e^{\log\sigma(\tilde f_t) + m_{t-1} - m_t} \\
    C_t &= f_t C_{t-1} + i_t\, k_t v_t^\top, \qquad n_t = f_t n_{t-1} + i_t k_t \\
    h_t &= \frac{C_t^\top q_t}{\max(|n_t^\top q_t|,\ e^{-m_t}) + \varepsilon}

per head, with ``k_t`` scaled by ``1/sqrt(d_k)`` and ``ε = 1e-6``. ``m`` is a stabiliser
(``C`` and ``n`` are stored times ``e^{-m}``); without an initial state ``m_0 = -\infty``.

- ``form="recurrent"`` steps through time (what decoding runs; ``O(T d_k d_v)``);
- ``form="parallel"`` builds the stabilised ``T x T`` decay matrix
  ``D_{ts} = e^{F_t - F_s + \tilde\imath_s - m_t}`` (``F`` the cumulative ``log σ(f~)``),
  ``O(T^2)`` time and memory;
- ``form="chunkwise"`` (default) carries ``(C, n, m)`` from chunk to chunk (a loop over
  ``T / chunk_size`` chunks) and is parallel inside each chunk: ``O(T L)`` for chunks of
  ``L`` steps. Cumulative log-gates are summed within a chunk only, which keeps them
  accurate in float32 at any ``T``.

The three agree to rounding. ``lengths`` are taken by turning padding steps into steps that
hold the state exactly (``log f = 0``, ``i~ = -inf``), then zeroing their outputs.

The family whole: :class:`MLSTMState` and :func:`mlstm`, and the mLSTM layer of ``xlstm``
(:class:`MLSTMLayerParams`, the cell :data:`MLSTM_LAYER_CELL`): up-projection, causal
convolution and SiLU, headwise ``q``, ``k``, ``v``, gates from ``[q; k; v]``, the mLSTM,
a multi-head norm, a learnable skip, a SiLU output gate and the down-projection.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks, sequence
from jaxrnn._src import xlstm_parts as xp
from jaxrnn._src.ops import cpu_float32
from jaxrnn._src.typing import Array, DType, Float, Int
from jaxrnn.cell import Cell, leaf, register_cell

FORMS = ("chunkwise", "parallel", "recurrent")
EPS = 1e-6  # the ε of the normaliser, as xlstm's


class MLSTMState(NamedTuple):
    """The mLSTM's state (per head). Use the field names, never the position.

    Attributes:
        C: matrix memory ``C_t`` (times ``e^{-m_t}``), shape ``(..., d_k, d_v)``.
        n: normaliser ``n_t`` (times ``e^{-m_t}``), shape ``(..., d_k)``.
        m: stabiliser ``m_t`` (log scale), shape ``(...)``; ``-inf`` before the first step.
    """

    C: Float[Array, "... d_k d_v"]
    n: Float[Array, "... d_k"]
    m: Float[Array, "..."]


def initial_state(batch: tuple[int, ...], d_k: int, d_v: int, dtype: Any) -> MLSTMState:
    """The default state: ``C = 0``, ``n = 0``, ``m = -inf`` for leading axes ``batch``."""
    return MLSTMState(
        C=jnp.zeros((*batch, d_k, d_v), dtype),
        n=jnp.zeros((*batch, d_k), dtype),
        m=jnp.full(batch, -jnp.inf, dtype),
    )


def _safe(m: Array) -> Array:
    """``m`` with ``-inf`` (no history: every weight is 0) replaced by 0, so that
    ``e^{a - m}`` is ``e^{-inf} = 0`` rather than NaN, and ``e^{-m}`` is finite."""
    return jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))


def _h(num: Array, den: Array, m: Array) -> Array:
    """``num / (max(|den|, e^{-m}) + ε)``."""
    floor = jnp.exp(-_safe(m))
    return num / (jnp.maximum(jnp.abs(den), floor) + EPS)[..., None]


# --- the three forms, on flattened batch axes: q, k (n, T, d_k), v (n, T, d_v),
# --- i~, log f (n, T) (padding already turned into holding steps), state leaves (n, ...)


def _step(state: MLSTMState, q_t, k_t, v_t, i_pre_t, log_f_t) -> tuple[MLSTMState, Array]:
    """One step of the equations (any leading axes; ``k_t`` already scaled)."""
    C, n, m = state
    m_t = jnp.maximum(log_f_t + m, i_pre_t)
    ms = _safe(m_t)
    i_t = jnp.exp(i_pre_t - ms)
    f_t = jnp.exp(log_f_t + m - ms)
    C_t = f_t[..., None, None] * C + i_t[..., None, None] * (k_t[..., :, None] * v_t[..., None, :])
    n_t = f_t[..., None] * n + i_t[..., None] * k_t
    num = jnp.einsum("...k,...kv->...v", q_t, C_t)
    den = jnp.einsum("...k,...k->...", q_t, n_t)
    return MLSTMState(C_t, n_t, m_t), _h(num, den, m_t)


def _recurrent(q, k, v, i_pre, log_f, state0: MLSTMState) -> tuple[Array, MLSTMState]:
    def step(state, inp):
        return _step(state, *inp)

    seq = jax.tree.map(lambda a: jnp.moveaxis(a, 1, 0), (q, k, v, i_pre, log_f))
    state_T, hs = jax.lax.scan(step, state0, seq)
    return jnp.moveaxis(hs, 0, 1), state_T


def _tril(L: int) -> Array:
    return jnp.tril(jnp.ones((L, L), bool))


def _intra(q, k, v, i_pre, b, a_in, C_in, n_in):
    """Outputs of a block of ``L`` steps (any leading axes): ``b (..., L)`` the cumulative
    ``log f`` within the block, ``a_in (..., L)`` the log weight at each step of the state
    entering the block ``(C_in, n_in)``. Returns ``(h, m)``."""
    L = q.shape[-2]
    log_D = b[..., :, None] - b[..., None, :] + i_pre[..., None, :]  # (..., L, L)
    log_D = jnp.where(_tril(L), log_D, -jnp.inf)
    m = jnp.maximum(jnp.max(log_D, axis=-1), a_in)  # (..., L)
    ms = _safe(m)
    D = jnp.exp(log_D - ms[..., None])
    S = jnp.einsum("...tk,...sk->...ts", q, k) * D
    w_in = jnp.exp(a_in - ms)
    num = jnp.einsum("...ts,...sv->...tv", S, v) + w_in[..., None] * jnp.einsum(
        "...tk,...kv->...tv", q, C_in
    )
    den = jnp.sum(S, axis=-1) + w_in * jnp.einsum("...tk,...k->...t", q, n_in)
    return _h(num, den, m), m


def _parallel(q, k, v, i_pre, log_f, state0: MLSTMState) -> tuple[Array, MLSTMState]:
    F = jnp.cumsum(log_f, axis=-1)  # (n, T)
    a_in = F + state0.m[:, None]  # log weight of the initial state at t
    h, m = _intra(q, k, v, i_pre, F, a_in, state0.C, state0.n)
    # the final state: row T-1 of the decay matrix
    m_T = m[:, -1]
    ms = _safe(m_T)
    w = jnp.exp(F[:, -1:] - F + i_pre - ms[:, None])  # (n, T)
    w_in = jnp.exp(a_in[:, -1] - ms)
    C_T = jnp.einsum("ns,nsk,nsv->nkv", w, k, v) + w_in[:, None, None] * state0.C
    n_T = jnp.einsum("ns,nsk->nk", w, k) + w_in[:, None] * state0.n
    return h, MLSTMState(C_T, n_T, m_T)


ROWS = 128  # rows of the decay matrix per block of the parallel form (at most 32 blocks)


def _parallel_fresh(q, k, v, i_pre, log_f, rows: int = ROWS) -> tuple[Array, MLSTMState]:
    """:func:`_parallel` from no state (``m_0 = -inf``) and without padding, by blocks of
    rows of the decay matrix, each only as wide as its diagonal (the upper triangle, all
    zeros, is never built: about half the work at ``T`` = 1,024).

    The blocks are independent because the row maxima are known beforehand: row ``t``'s
    largest log weight is ``max_{s<=t} (F_t - F_s + i~_s) = F_t + cummax_s (i~_s - F_s)``, a
    cumulative max over ``T`` numbers (``F`` the cumulative ``log f``). With nothing else
    between the two ``T x T`` products, XLA's CPU backend fuses each block into one kernel.
    (``h`` does not depend on which stabiliser divides its numerator and denominator, but
    through ``ε``; the stabiliser is the reference's ``m_t`` up to rounding.)"""
    T = q.shape[-2]
    F = jnp.cumsum(log_f, axis=-1)  # (n, T)
    m = F + jax.lax.cummax(i_pre - F, axis=1)  # (n, T): m_t of the recurrence
    rows = max(rows, -(-T // 32))
    blocks = []
    for r0 in range(0, T, rows):
        r1 = min(r0 + rows, T)  # rows r0..r1-1 see columns 0..r1-1
        causal = jnp.arange(r0, r1)[:, None] >= jnp.arange(r1)[None, :]
        m_r = m[:, r0:r1, None]
        log_D = F[:, r0:r1, None] - F[:, None, :r1] + i_pre[:, None, :r1] - m_r
        S = jnp.einsum("ntk,nsk->nts", q[:, r0:r1], k[:, :r1]) * jnp.exp(
            jnp.where(causal, log_D, -jnp.inf)
        )
        den = jnp.maximum(jnp.abs(jnp.sum(S, axis=-1, keepdims=True)), jnp.exp(-m_r))
        blocks.append(jnp.einsum("nts,nsv->ntv", S / (den + EPS), v[:, :r1]))
    h = jnp.concatenate(blocks, axis=1)
    m_T = m[:, -1]  # the final state: row T-1 of the decay matrix
    w = jnp.exp(F[:, -1:] - F + i_pre - m_T[:, None])  # (n, T)
    C_T = jnp.einsum("ns,nsk,nsv->nkv", w, k, v)
    n_T = jnp.einsum("ns,nsk->nk", w, k)
    return h, MLSTMState(C_T, n_T, m_T)


def _chunkwise(q, k, v, i_pre, log_f, state0: MLSTMState, L: int) -> tuple[Array, MLSTMState]:
    n_b, T = i_pre.shape
    L = min(L, T)
    NC = -(-T // L)
    pad = NC * L - T
    if pad:  # holding steps at the end: log f = 0, i~ = -inf
        padded = lambda a, value=0.0: jnp.pad(  # noqa: E731
            a, [(0, 0), (0, pad)] + [(0, 0)] * (a.ndim - 2), constant_values=value
        )
        q, k, v, log_f = padded(q), padded(k), padded(v), padded(log_f)
        i_pre = padded(i_pre, -jnp.inf)

    def chunks(a: Array) -> Array:
        return a.reshape(n_b, NC, L, *a.shape[2:])

    q, k, v, i_pre, log_f = map(chunks, (q, k, v, i_pre, log_f))
    b = jnp.cumsum(log_f, axis=-1)  # (n, NC, L): within the chunk only
    g = b[..., -1]  # the chunk's whole log decay (n, NC)
    # what each chunk adds to the state, at its end, stabilised by its own max
    a = g[..., None] - b + i_pre  # (n, NC, L)
    m_loc = jnp.max(a, axis=-1)
    w = jnp.exp(a - _safe(m_loc)[..., None])
    kv = jnp.einsum("ncl,nclk,nclv->nckv", w, k, v)
    ks = jnp.einsum("ncl,nclk->nck", w, k)

    def carry_over(state, inp):  # the state from one chunk's start to the next's
        C, n, m = state
        g_c, m_loc_c, kv_c, ks_c = inp
        m_new = jnp.maximum(g_c + m, m_loc_c)
        ms = _safe(m_new)
        f_c, i_c = jnp.exp(g_c + m - ms), jnp.exp(m_loc_c - ms)
        new = MLSTMState(
            f_c[:, None, None] * C + i_c[:, None, None] * kv_c,
            f_c[:, None] * n + i_c[:, None] * ks_c,
            m_new,
        )
        return new, state

    seq = jax.tree.map(lambda x: jnp.moveaxis(x, 1, 0), (g, m_loc, kv, ks))
    state_T, entering = jax.lax.scan(carry_over, state0, seq)
    C_in, n_in, m_in = jax.tree.map(lambda x: jnp.moveaxis(x, 0, 1), entering)  # (n, NC, ...)
    h, _ = _intra(q, k, v, i_pre, b, b + m_in[..., None], C_in, n_in)
    return h.reshape(n_b, NC * L, -1)[:, :T], state_T


# --- public, checked -------------------------------------------------------------------------


def _check(q, k, v, i_pre, f_pre, state0, form, chunk_size, lengths, where):
    arrays = {}
    for name, x, rank in (("q", q, 2), ("k", k, 2), ("v", v, 2), ("i_pre", i_pre, 1),
                          ("f_pre", f_pre, 1)):  # fmt: skip
        x = checks.as_array(x, name, where)
        if x.ndim < rank:
            layout = "(..., T, d)" if rank == 2 else "(..., T)"
            raise ValueError(
                f"{where}: expected {name} to have rank >= {rank}, shape {layout}, got shape "
                f"{tuple(x.shape)}"
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"{where}: expected {name} to have a floating dtype, got {x.dtype}")
        arrays[name] = x
    q, k, v, i_pre, f_pre = arrays.values()
    batch, T, d_k = tuple(q.shape[:-2]), q.shape[-2], q.shape[-1]
    expect = {"k": (*batch, T, d_k), "i_pre": (*batch, T), "f_pre": (*batch, T)}
    for name, shape in expect.items():
        if tuple(arrays[name].shape) != shape:
            raise ValueError(
                f"{where}: expected {name} to have shape {shape} to match q {tuple(q.shape)} "
                f"(..., T, d_k), got {tuple(arrays[name].shape)}"
            )
    if tuple(v.shape[:-1]) != (*batch, T):
        raise ValueError(
            f"{where}: expected v to have shape (..., T, d_v) with (..., T) = {(*batch, T)} "
            f"to match q, got {tuple(v.shape)}"
        )
    if not isinstance(form, str) or form not in FORMS:
        raise ValueError(f"{where}: expected form to be one of {FORMS}, got {form!r}")
    checks.check_static_int(chunk_size, "chunk_size", where, minimum=1)
    if lengths is not None:
        lengths = checks.as_array(lengths, "lengths", where)
        if tuple(lengths.shape) != batch[: lengths.ndim]:
            raise ValueError(
                f"{where}: expected lengths to have shape q.shape[:-2] = {batch} or a leading "
                f"part of it (one length per sequence, shared by its heads), got "
                f"{tuple(lengths.shape)}"
            )
        if not jnp.issubdtype(lengths.dtype, jnp.integer):
            raise TypeError(
                f"{where}: expected lengths to have an integer dtype, got {lengths.dtype}"
            )
        lengths = jnp.broadcast_to(
            lengths.reshape(lengths.shape + (1,) * (len(batch) - lengths.ndim)), batch
        )
    dtype = jnp.result_type(*(a.dtype for a in arrays.values()))
    expected = jax.eval_shape(lambda: initial_state(batch, d_k, v.shape[-1], dtype))
    if state0 is not None:
        state0 = checks.check_carry(state0, expected, where, name="state0")
        for leaf in state0:
            checks.check_dtype(leaf, dtype, where)
    return q, k, v, i_pre, f_pre, state0, lengths, dtype


@functools.partial(jax.jit, static_argnames=("form", "chunk_size"))
def mlstm(
    q: Float[Array, "... T d_k"],
    k: Float[Array, "... T d_k"],
    v: Float[Array, "... T d_v"],
    i_pre: Float[Array, "... T"],
    f_pre: Float[Array, "... T"],
    state0: MLSTMState | None = None,
    *,
    form: str = "chunkwise",
    chunk_size: int = 64,
    lengths: Int[Array, "..."] | None = None,
) -> tuple[Float[Array, "... T d_v"], MLSTMState]:
    r"""The mLSTM over a sequence, per head: ``(h, state_T)``.

    .. math::

        m_t &= \max(\log\sigma(\tilde f_t) + m_{t-1}, \tilde\imath_t), \quad
        i_t = e^{\tilde\imath_t - m_t}, \quad f_t = e^{\log\sigma(\tilde f_t) + m_{t-1} - m_t} \\
        C_t &= f_t C_{t-1} + i_t k_t v_t^\top, \quad n_t = f_t n_{t-1} + i_t k_t, \quad
        h_t = \frac{C_t^\top q_t}{\max(|n_t^\top q_t|, e^{-m_t}) + \varepsilon}

    with ``k_t`` scaled by ``1/sqrt(d_k)`` and ``ε = 1e-6``. Heads are batch axes: put them
    among the leading axes (``(B, heads, T, d_k)``).

    Args:
        q, k: queries and keys ``(..., T, d_k)``.
        v: values ``(..., T, d_v)``.
        i_pre, f_pre: the input and forget gates' pre-activations ``i~_t``, ``f~_t``,
            ``(..., T)``.
        state0: initial ``MLSTMState(C (..., d_k, d_v), n (..., d_k), m (...))``; default
            zeros with ``m_0 = -inf`` (the first step takes ``m_1 = i~_1``).
        form: ``"chunkwise"`` (default; training), ``"parallel"`` (the ``T x T`` matrix;
            short sequences) or ``"recurrent"`` (a loop over steps; decoding, and the least
            memory without derivatives). The three agree to rounding.
        chunk_size: steps per chunk of ``"chunkwise"`` (static); ``T`` need not be a
            multiple of it.
        lengths: optional integers of shape ``q.shape[:-2]``, or of its leading axes (one
            length per sequence, shared by its heads: ``(B,)`` for ``(B, heads, T, d_k)``):
            steps ``t >= lengths`` are padding (state held, outputs zero); ``state_T`` is
            the state after the last valid step.

    Returns:
        ``(h, state_T)``: ``h (..., T, d_v)`` and the final ``MLSTMState``, in the promoted
        dtype of the inputs.

    Raises:
        TypeError: an input not floating, ``state0`` of the wrong type or too precise.
        ValueError: shapes that do not agree, a bad ``form`` or ``chunk_size``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> k = jax.random.split(jax.random.key(0), 5)
        >>> q, kk, v = (jax.random.normal(k[j], (2, 4, 10, 8)) for j in range(3))  # B, heads, T, d
        >>> i_pre, f_pre = (jax.random.normal(k[j], (2, 4, 10)) for j in (3, 4))
        >>> h, state_T = jaxrnn.mlstm(q, kk, v, i_pre, f_pre, chunk_size=4)
        >>> h_par, _ = jaxrnn.mlstm(q, kk, v, i_pre, f_pre, form="parallel")
        >>> h.shape, state_T.C.shape, bool(jnp.allclose(h, h_par, atol=1e-5))
        ((2, 4, 10, 8), (2, 4, 8, 8), True)
    """
    where = "mlstm"
    q, k, v, i_pre, f_pre, state0, lengths, dtype = _check(
        q, k, v, i_pre, f_pre, state0, form, chunk_size, lengths, where
    )
    batch, T, d_k = tuple(q.shape[:-2]), q.shape[-2], q.shape[-1]
    d_v = v.shape[-1]
    fresh = state0 is None and lengths is None  # the parallel form's fused case
    if state0 is None:
        state0 = initial_state(batch, d_k, d_v, dtype)
    state0 = MLSTMState(*(a.astype(dtype) for a in state0))
    if T == 0:
        return jnp.zeros((*batch, 0, d_v), dtype), state0
    n = math.prod(batch)

    def flat(a: Array) -> Array:
        return a.astype(dtype).reshape(n, *a.shape[len(batch) :])

    args = tuple(map(flat, (q, k, v, i_pre, f_pre)))
    s0 = MLSTMState(*(a.reshape(n, *a.shape[len(batch) :]) for a in state0))
    mask = None
    if lengths is not None:
        mask = jnp.arange(T)[None, :] < lengths.reshape(n, 1)

    def run(q, k, v, i_pre, f_pre, s0, mask):
        k = k / jnp.sqrt(jnp.asarray(d_k, k.dtype))
        log_f = jax.nn.log_sigmoid(f_pre)
        if mask is not None:  # padding holds the state: log f = 0, i~ = -inf
            log_f = jnp.where(mask, log_f, jnp.zeros_like(log_f))
            i_pre = jnp.where(mask, i_pre, jnp.full_like(i_pre, -jnp.inf))
        if form == "recurrent":
            h, state_T = _recurrent(q, k, v, i_pre, log_f, s0)
        elif form == "parallel" and fresh:
            h, state_T = _parallel_fresh(q, k, v, i_pre, log_f)
        elif form == "parallel":
            h, state_T = _parallel(q, k, v, i_pre, log_f, s0)
        else:
            h, state_T = _chunkwise(q, k, v, i_pre, log_f, s0, chunk_size)
        if mask is not None:
            h = jnp.where(mask[..., None], h, jnp.zeros_like(h))
        return h, state_T

    h, state_T = cpu_float32(run, *args, s0, mask)
    h = h.reshape(*batch, T, d_v)
    state_T = MLSTMState(*(a.reshape(*batch, *a.shape[1:]) for a in state_T))
    return h, state_T


# --- the mLSTM layer (xlstm's mLSTMLayer) as a cell -----------------------------------------


class MLSTMLayerParams(NamedTuple):
    """Parameters of the mLSTM layer (``xlstm.mLSTMLayer``, no biases), embedding size ``d``,
    inner size ``D`` (``proj_factor d`` rounded up to a multiple of 64), ``heads`` heads.

    Attributes:
        W_up: up-projection ``(2 D, d)``: ``[x_m; z] = W_up x``.
        conv_w: causal depthwise convolution kernel ``(K, D)`` (oldest step first).
        conv_b: its bias ``(D,)``.
        W_q, W_k: headwise maps of the convolved ``x_c = silu(conv(x_m))``,
            ``(D / blocksize, blocksize, blocksize)``.
        W_v: headwise map of ``x_m``, same shape.
        W_i, W_f: the gates' weights ``(heads, 3 D)`` on ``[q; k; v]``.
        b_i, b_f: the gates' biases ``(heads,)``.
        norm: the multi-head norm's weight ``(D,)`` (the scale is ``1 + norm``).
        skip: the learnable skip ``(D,)``: ``h + skip * x_c``.
        W_down: down-projection ``(d, D)``.
    """

    W_up: Float[Array, "two_D d"]
    conv_w: Float[Array, "K D"]
    conv_b: Float[Array, " D"]
    W_q: Float[Array, "blocks bs bs"]
    W_k: Float[Array, "blocks bs bs"]
    W_v: Float[Array, "blocks bs bs"]
    W_i: Float[Array, "heads three_D"]
    b_i: Float[Array, " heads"]
    W_f: Float[Array, "heads three_D"]
    b_f: Float[Array, " heads"]
    norm: Float[Array, " D"]
    skip: Float[Array, " D"]
    W_down: Float[Array, "d D"]


class MLSTMLayerState(NamedTuple):
    """The mLSTM layer's carry: the convolution's window and the mLSTM state of every head.

    Attributes:
        conv: the last ``K - 1`` inputs of the convolution ``(..., K-1, D)``, oldest first.
        C: ``(..., heads, D/heads, D/heads)``.
        n: ``(..., heads, D/heads)``.
        m: ``(..., heads)``; ``-inf`` before the first step.
    """

    conv: Float[Array, "... K1 D"]
    C: Float[Array, "... heads dh dh"]
    n: Float[Array, "... heads dh"]
    m: Float[Array, "... heads"]


def _layer_sizes(d: int, options: Any) -> dict[str, int]:
    D = options.get("d_inner") or xp.round_up(options.get("proj_factor", 2.0) * d)
    sizes = {"d_inner": int(D), "num_heads": int(options.get("num_heads", 4)),
             "qkv_blocksize": int(options.get("qkv_blocksize", 4)),
             "conv_kernel": int(options.get("conv_kernel", 4))}  # fmt: skip
    for name, divides in (("num_heads", D), ("qkv_blocksize", D)):
        if sizes[name] <= 0 or divides % sizes[name]:
            raise ValueError(f"expected {name} to divide d_inner={D}, got {sizes[name]}")
    if sizes["conv_kernel"] < 1:
        raise ValueError(f"expected conv_kernel >= 1, got {sizes['conv_kernel']}")
    return sizes


class MLSTMLayer(Cell):
    """The mLSTM layer as a :class:`jaxrnn.Cell` (``d -> d``): carry :class:`MLSTMLayerState`.

    ``step`` runs one step of the layer (the recurrent mLSTM); ``sequence`` runs the whole
    layer: the convolution over the sequence, then the chunkwise mLSTM (with ``reverse``,
    ``resets`` or ``return_carries``, a loop of ``step``).
    """

    name: ClassVar[str] = "mlstm_layer"
    params_type: ClassVar[Any] = MLSTMLayerParams
    init_options: ClassVar[dict[str, Any]] = {"num_heads": 4, "proj_factor": 2.0,
                                              "qkv_blocksize": 4, "conv_kernel": 4,
                                              "d_inner": None, "chunk_size": 64}  # fmt: skip
    entry_points: ClassVar[str] = "jaxrnn.cell_scan (the mLSTM layer)"

    def dims(self, params: MLSTMLayerParams) -> dict[str, int]:
        d, D = checks.matrix_shape(params, "W_down", "(d, d_inner)")
        W_q = params.W_q
        if not hasattr(W_q, "shape") or len(W_q.shape) != 3:
            raise ValueError(f"expected params.W_q to have shape (blocks, bs, bs), got "
                             f"{getattr(W_q, 'shape', type(W_q).__name__)}")  # fmt: skip
        return {"d_in": d, "d_h": d, "d_inner": D, "num_heads": int(params.W_i.shape[0]),
                "qkv_blocksize": int(W_q.shape[1]),
                "conv_kernel": int(params.conv_w.shape[0])}  # fmt: skip

    def layout(self, d_in: int, d_h: int, **options: Any) -> MLSTMLayerParams:
        if d_in != d_h:
            raise ValueError(
                f"the mLSTM layer maps d -> d: expected d_in == d_h, got {d_in}, {d_h}"
            )
        d = d_h
        s = _layer_sizes(d, options)
        D, H, bs, K = s["d_inner"], s["num_heads"], s["qkv_blocksize"], s["conv_kernel"]
        small = xp.small_init(d)
        bound = 1 / math.sqrt(K)  # torch's Conv1d default for a depthwise kernel
        zeros = xp.constant_init(0.0)
        qkv = leaf("input", (D // bs, bs, bs), init=small)
        return MLSTMLayerParams(
            W_up=leaf("input", (2 * D, d), init=small),
            conv_w=leaf("other", (K, D), init=xp.uniform_init(bound)),
            conv_b=leaf("bias", (D,), init=xp.uniform_init(bound)),
            W_q=qkv, W_k=qkv, W_v=qkv,
            W_i=leaf("input", (H, 3 * D), init=zeros),
            b_i=leaf("other", (H,), init=xp.normal_init(0.1)),
            W_f=leaf("input", (H, 3 * D), init=zeros),
            b_f=leaf("other", (H,), init=xp.linspace_init(3.0, 6.0)),
            norm=leaf("other", (D,), init=zeros),
            skip=leaf("other", (D,), init=xp.constant_init(1.0)),
            W_down=leaf("input", (d, D), init=xp.wang_init(d)),
        )  # fmt: skip

    def carry_shapes(self, dims: Any) -> MLSTMLayerState:
        s = {**dims, **_layer_sizes(dims["d_h"], dims)}
        D, H, K = s["d_inner"], s["num_heads"], s["conv_kernel"]
        dh = D // H
        shapes: Any = ((K - 1, D), (H, dh, dh), (H, dh), (H,))
        return MLSTMLayerState(*shapes)

    def initial_carry(self, dims: Any, batch: tuple[int, ...], dtype: DType) -> MLSTMLayerState:
        shapes = self.carry_shapes(dims)
        z = MLSTMLayerState(*(jnp.zeros((*batch, *shape), dtype) for shape in shapes))
        return z._replace(m=jnp.full_like(z.m, -jnp.inf))

    def _inner(self, p: MLSTMLayerParams, x_m: Array, x_c: Array):
        """``q, k, v (..., heads, dh)`` and ``i~, f~ (..., heads)`` from ``x_m`` and ``x_c``."""
        H = p.W_i.shape[0]
        q, k, v = xp.headwise(p.W_q, x_c), xp.headwise(p.W_k, x_c), xp.headwise(p.W_v, x_m)
        g = jnp.concatenate([q, k, v], axis=-1)
        i_pre, f_pre = g @ p.W_i.T + p.b_i, g @ p.W_f.T + p.b_f

        def heads(a: Array) -> Array:
            return a.reshape(*a.shape[:-1], H, -1)

        return heads(q), heads(k), heads(v), i_pre, f_pre

    def _out(self, p: MLSTMLayerParams, h: Array, x_c: Array, z: Array) -> Array:
        h_norm = xp.multihead_norm(h, p.norm, p.W_i.shape[0])
        return ((h_norm + p.skip * x_c) * jax.nn.silu(z)) @ p.W_down.T

    def step(self, params: MLSTMLayerParams, carry: MLSTMLayerState,
             x_t: Array) -> tuple[MLSTMLayerState, Array]:  # fmt: skip
        p = params
        x_m, z = jnp.split(x_t @ p.W_up.T, 2, axis=-1)
        c_t, window = xp.conv_step(p.conv_w, p.conv_b, carry.conv, x_m)
        x_c = jax.nn.silu(c_t)
        q, k, v, i_pre, f_pre = self._inner(p, x_m, x_c)
        k = k / jnp.sqrt(jnp.asarray(k.shape[-1], k.dtype))
        state, h = _step(MLSTMState(carry.C, carry.n, carry.m), q, k, v, i_pre,
                         jax.nn.log_sigmoid(f_pre))  # fmt: skip
        y = self._out(p, h.reshape(x_c.shape), x_c, z)
        return MLSTMLayerState(window, *state), y

    def sequence(self, params: MLSTMLayerParams, xs: Array, carry0: MLSTMLayerState, mask: Any,
                 resets: Any, *, reverse: bool, return_carries: bool, unroll: int = 1,
                 remat: int | None = None,
                 chunk_size: int = 64) -> tuple[Any, Array, Any]:  # fmt: skip
        if reverse or resets is not None or return_carries:
            return sequence.scan_steps(self, params, xs, carry0, mask, resets, reverse=reverse,
                                       return_carries=return_carries, unroll=unroll,
                                       remat=remat)  # fmt: skip
        p = params
        T, n_b, _ = xs.shape
        lengths = None if mask is None else jnp.sum(mask, axis=0).astype(jnp.int32)
        x_m, z = jnp.split(xs @ p.W_up.T, 2, axis=-1)
        c, window = xp.conv_sequence(p.conv_w, p.conv_b, carry0.conv, x_m, lengths)
        x_c = jax.nn.silu(c)
        q, k, v, i_pre, f_pre = self._inner(p, x_m, x_c)  # (T, n, H, dh), (T, n, H)
        to_b = lambda a: jnp.moveaxis(a, 0, 2)  # noqa: E731  (T, n, H, ...) -> (n, H, T, ...)
        h, state_T = mlstm(to_b(q), to_b(k), to_b(v), to_b(i_pre), to_b(f_pre),
                           MLSTMState(carry0.C, carry0.n, carry0.m), chunk_size=chunk_size,
                           lengths=lengths)  # fmt: skip
        h = jnp.moveaxis(h, 2, 0).reshape(x_c.shape)
        ys = self._out(p, h, x_c, z)
        if mask is not None:
            ys = jnp.where(mask[..., None], ys, jnp.zeros_like(ys))
        return MLSTMLayerState(window, *state_T), ys, None


MLSTM_LAYER_CELL = register_cell(MLSTMLayer())
"""The registered mLSTM layer (``jaxrnn.get_cell("mlstm_layer")``)."""


__all__ = [
    "EPS",
    "FORMS",
    "MLSTMLayer",
    "MLSTMLayerParams",
    "MLSTMLayerState",
    "MLSTMState",
    "MLSTM_LAYER_CELL",
    "initial_state",
    "mlstm",
]
