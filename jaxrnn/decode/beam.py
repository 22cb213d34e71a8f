r"""Beam search with length normalisation, as one ``lax.while_loop``.

The search keeps, per example, ``K = beam_size`` *alive* hypotheses (not yet ended) and
the ``K`` best *finished* ones. Each step expands every alive hypothesis by every token,
keeps the ``2K`` most probable candidates (at most ``K`` of them can end, one per beam, so
``K`` alive ones always remain), moves those that emit ``end_token`` -- and, at step
``max_len - 1``, all of them -- into the finished pool, ranked by the normalised score

.. math::

    \mathrm{score}(y) = \frac{\log p(y)}{\mathrm{lp}(|y|)}, \qquad
    \mathrm{lp}(L) = \begin{cases}
        1 & \texttt{length\_norm=None} \\
        L^\alpha & \texttt{"average"} \ (\alpha = 1: \text{mean log-prob per token}) \\
        \left(\frac{5 + L}{6}\right)^\alpha & \texttt{"gnmt"} \ (\text{Wu et al. 2016})
    \end{cases}

where ``|y|`` counts the end token. Finished hypotheses are never extended. The loop
stops early once no alive hypothesis can beat the worst finished one: since extending
only lowers ``log p`` and ``lp`` grows with ``L`` (``alpha >= 0``), an alive hypothesis
can at best reach ``log p / lp(max_len)``. Early stopping therefore never changes the
result. With ``K`` at least the number of distinct alive prefixes the search is
exhaustive (exact); in general it is the usual approximation.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn._src import checks
from jaxrnn._src.typing import Array, Int
from jaxrnn.decode._checks import check_end_and_pad, compute_dtype, prepare
from jaxrnn.decode.greedy import Decoded, StepFn

LENGTH_NORMS = (None, "average", "gnmt")


def length_penalty(lengths: Array, length_norm: str | None, alpha: float) -> Array:
    """``lp(L)`` of the module docstring, as a float array of the shape of ``lengths``."""
    L = jnp.asarray(lengths, jnp.float32)
    if length_norm is None:
        return jnp.ones_like(L)
    if length_norm == "average":
        return L**alpha
    return ((5.0 + L) / 6.0) ** alpha


def _gather(x: Array, idx: Array) -> Array:
    """``x[b, idx[b, j]]`` for ``x (B, n, ...)`` and ``idx (B, m)`` -> ``(B, m, ...)``."""
    return jax.vmap(lambda x_b, i_b: x_b[i_b])(x, idx)


def beam_search(
    step_fn: StepFn,
    carry0: Any,
    start_tokens: int | Int[Array, " B"],
    *,
    beam_size: int,
    max_len: int,
    end_token: int | None,
    pad_id: int = 0,
    length_norm: str | None = "gnmt",
    alpha: float = 0.6,
    return_all: bool = False,
) -> Decoded:
    """Beam search for the highest-scoring sequence ``argmax_y log p(y) / lp(|y|)``.

    Args:
        step_fn: ``step_fn(carry, y_prev (N,)) -> (carry, logits (N, n_vocab))``; it is
            called with ``N = B * beam_size`` rows (row ``b * beam_size + k`` is beam
            ``k`` of example ``b``), so it must not close over per-example arrays: put
            them (e.g. encoder outputs for attention) in the carry.
        carry0: initial carry, leaves with the batch axis ``B`` first; tiled to
            ``B * beam_size`` rows.
        start_tokens: an int, or ``(B,)`` ints: the first input ``y_{-1}``.
        beam_size: ``K >= 1`` (static); ``K = 1`` is greedy decoding.
        max_len: the most tokens per hypothesis (static, ``>= 1``).
        end_token: the token that ends a hypothesis, or None (then every hypothesis has
            ``max_len`` tokens and the normalisation does not change the ranking).
        pad_id: written after the end token.
        length_norm: None (raw ``log p``, favours short outputs), ``"average"``
            (``lp = L**alpha``) or ``"gnmt"`` (``lp = ((5 + L) / 6)**alpha``).
        alpha: the exponent, a Python float ``>= 0`` (``alpha = 0`` is no normalisation).
        return_all: also return the other beams (static).

    Returns:
        ``Decoded`` whose ``score`` is the normalised score and ``log_prob`` the raw
        ``log p(y)``: for the best hypothesis, batch shape ``(B,)``; with
        ``return_all=True`` all ``K`` finished hypotheses, ``(B, K)``, best first. When
        fewer than ``K`` sequences exist, the extra ones have score ``-inf`` and length 0.

    Raises:
        ValueError: bad ``beam_size``, ``max_len``, ``length_norm``, ``alpha``, token ids,
            or inconsistent batch axes.
        TypeError: a malformed ``step_fn``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxrnn.decode import beam_search, greedy_decode
        >>> # token 1 looks best first, but only 2 -> 0 (end) is likely afterwards
        >>> def step(c, y):
        ...     first = jnp.log(jnp.array([0.1, 0.5, 0.4]))
        ...     after_1 = jnp.log(jnp.array([0.3, 0.4, 0.3]))
        ...     after_2 = jnp.log(jnp.array([0.9, 0.05, 0.05]))
        ...     logits = jnp.where((c[:, :1] == 0), first,
        ...                        jnp.where(y[:, None] == 1, after_1, after_2))
        ...     return c + 1, logits
        >>> c0 = jnp.zeros((1, 1), jnp.int32)
        >>> greedy = greedy_decode(step, c0, 0, max_len=2, end_token=0)
        >>> beam = beam_search(step, c0, 0, beam_size=2, max_len=2, end_token=0)
        >>> greedy.tokens.tolist(), beam.tokens.tolist()
        ([[1, 1]], [[2, 0]])
    """
    where = "beam_search"
    checks.check_static_int(beam_size, "beam_size", where, minimum=1)
    if length_norm not in LENGTH_NORMS:
        raise ValueError(f"{where}: expected length_norm in {LENGTH_NORMS}, got {length_norm!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1e9:
        raise ValueError(f"{where}: expected alpha to be a Python float >= 0, got {alpha!r}")
    y_start, B, n_vocab, dtype = prepare(step_fn, carry0, start_tokens, max_len, where)
    check_end_and_pad(end_token, pad_id, n_vocab, where)
    dtype = compute_dtype(dtype)
    K, V = beam_size, n_vocab
    n_cand = min(2 * K, K * V)
    neg_inf = jnp.array(-jnp.inf, dtype)
    lp = lambda L: length_penalty(L, length_norm, alpha).astype(dtype)  # noqa: E731

    def cond(loop):
        t, _, _, alive_log_p, _, _, fin = loop
        # Upper bound of any alive hypothesis' final score vs the worst finished score.
        bound = alive_log_p.max(axis=-1) / lp(jnp.array(max_len))
        done = jnp.all(fin["score"][:, -1] >= bound)
        return (t < max_len) & ~done

    def body(loop):
        t, carry, y_prev, alive_log_p, alive_seq, alive_tlp, fin = loop
        carry, logits = step_fn(carry, y_prev)
        log_p = jax.nn.log_softmax(logits.astype(dtype), axis=-1).reshape(B, K * V)
        cand = (alive_log_p[:, :, None] + log_p.reshape(B, K, V)).reshape(B, K * V)
        cand_log_p, flat = jax.lax.top_k(cand, n_cand)  # (B, n_cand), best first
        beam, y_t = flat // V, (flat % V).astype(jnp.int32)
        seq = _gather(alive_seq, beam).at[:, :, t].set(y_t)
        tlp = _gather(alive_tlp, beam).at[:, :, t].set(jnp.take_along_axis(log_p, flat, -1))
        ended = (y_t == end_token) if end_token is not None else jnp.zeros_like(y_t, bool)

        # Finished pool: the K best of the old pool and the candidates that end now.
        done_now = ended | (t == max_len - 1)
        score = jnp.where(done_now, cand_log_p / lp(t + 1), neg_inf)
        new = {
            "seq": seq,
            "tlp": tlp,
            "log_p": cand_log_p,
            "score": score,
            "length": jnp.full_like(y_t, t + 1),
        }
        merged = jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=1), fin, new)
        _, keep = jax.lax.top_k(merged["score"], K)
        fin = jax.tree.map(lambda x: _gather(x, keep), merged)

        # Alive: the K best candidates that did not end (always K of them among 2K).
        alive_log_p, keep = jax.lax.top_k(jnp.where(ended, neg_inf, cand_log_p), K)
        rows = (jnp.arange(B, dtype=beam.dtype)[:, None] * K + _gather(beam, keep)).reshape(B * K)
        carry = jax.tree.map(lambda x: x[rows], carry)
        y_prev = _gather(y_t, keep).reshape(B * K)
        return t + 1, carry, y_prev, alive_log_p, _gather(seq, keep), _gather(tlp, keep), fin

    tile = lambda x: jnp.repeat(x, K, axis=0)  # noqa: E731  (B, ...) -> (B * K, ...)
    # Only beam 0 is alive at first, so the K beams do not start as K copies.
    alive_log_p = jnp.where(jnp.arange(K) == 0, 0.0, neg_inf).astype(dtype)
    fin = {
        "seq": jnp.full((B, K, max_len), pad_id, jnp.int32),
        "tlp": jnp.zeros((B, K, max_len), dtype),
        "log_p": jnp.full((B, K), neg_inf),
        "score": jnp.full((B, K), neg_inf),
        "length": jnp.zeros((B, K), jnp.int32),
    }
    loop0 = (
        jnp.zeros((), jnp.int32),
        jax.tree.map(tile, carry0),
        tile(y_start),
        jnp.broadcast_to(alive_log_p, (B, K)),
        jnp.full((B, K, max_len), pad_id, jnp.int32),
        jnp.zeros((B, K, max_len), dtype),
        fin,
    )
    fin = jax.lax.while_loop(cond, body, loop0)[-1]
    out = Decoded(fin["seq"], fin["length"], fin["tlp"], fin["log_p"], fin["score"])
    return out if return_all else jax.tree.map(lambda x: x[:, 0], out)


__all__ = ["beam_search", "length_penalty"]
