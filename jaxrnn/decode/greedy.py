"""Greedy and sampled decoding: one ``lax.while_loop`` that feeds each chosen token back.

The step-function and output conventions are described in :mod:`jaxrnn.decode`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.typing import Array, Float, Int, PRNGKey
from jaxrnn.decode._checks import (
    check_end_and_pad,
    check_temperature,
    compute_dtype,
    prepare,
    row_keys,
)

StepFn = Callable[[Any, Array], tuple[Any, Array]]
"""``step_fn(carry, y_prev: Int[Array, " B"]) -> (carry, logits: Float[Array, "B n_vocab"])``."""


class Decoded(NamedTuple):
    """Decoded sequences. ``...`` is ``(B,)``, or ``(B, beam_size)`` for all beams.

    Attributes:
        tokens: ``(..., max_len)`` int32 tokens ``y_0 .. y_{L-1}`` (the start token is not
            included; the end token is), then ``pad_id``.
        lengths: ``(...,)`` int32 ``L``: tokens up to and including the end token, or
            ``max_len`` if it never came.
        token_log_probs: ``(..., max_len)`` ``log p(y_t | y_<t)`` under the model's
            ``softmax(logits_t)`` (before any temperature or top-k), 0 after the end.
        log_prob: ``(...,)`` ``log p(y) = sum_t token_log_probs[..., t]``.
        score: ``(...,)`` what the decoder ranked by: ``log_prob`` for greedy and
            sampling, the length-normalised log-probability for beam search.
    """

    tokens: Int[Array, "... max_len"]
    lengths: Int[Array, "..."]
    token_log_probs: Float[Array, "... max_len"]
    log_prob: Float[Array, "..."]
    score: Float[Array, "..."]


# --- the time loop ------------------------------------------------------------------------


def _decode_loop(
    step_fn: StepFn,
    carry0: Any,
    y_start: Array,
    choose: Callable[[Array, Array], Array],
    *,
    max_len: int,
    end_token: int | None,
    pad_id: int,
    dtype: Any,
) -> Decoded:
    """Feed back ``y_t = choose(t, logits_t)`` until ``max_len`` or every row has ended."""
    B = y_start.shape[0]

    def cond(loop):
        t, _, _, finished, *_ = loop
        return (t < max_len) & ~jnp.all(finished)

    def body(loop):
        t, carry, y_prev, finished, tokens, token_log_probs, lengths = loop
        carry, logits = step_fn(carry, y_prev)
        log_p = jax.nn.log_softmax(logits.astype(dtype), axis=-1)
        y_t = choose(t, logits).astype(jnp.int32)
        log_p_t = jnp.take_along_axis(log_p, y_t[:, None], axis=-1)[:, 0]
        y_t = jnp.where(finished, pad_id, y_t)
        tokens = tokens.at[:, t].set(y_t)
        token_log_probs = token_log_probs.at[:, t].set(jnp.where(finished, 0, log_p_t))
        lengths = lengths + (~finished).astype(jnp.int32)
        if end_token is not None:
            finished = finished | (y_t == end_token)
        return t + 1, carry, y_t, finished, tokens, token_log_probs, lengths

    loop0 = (
        jnp.zeros((), jnp.int32),
        carry0,
        y_start,
        jnp.zeros((B,), bool),
        jnp.full((B, max_len), pad_id, jnp.int32),
        jnp.zeros((B, max_len), dtype),
        jnp.zeros((B,), jnp.int32),
    )
    *_, tokens, token_log_probs, lengths = jax.lax.while_loop(cond, body, loop0)
    log_prob = token_log_probs.sum(axis=-1)
    return Decoded(tokens, lengths, token_log_probs, log_prob, log_prob)


# --- public decoders ----------------------------------------------------------------------


def greedy_decode(
    step_fn: StepFn,
    carry0: Any,
    start_tokens: int | Int[Array, " B"],
    *,
    max_len: int,
    end_token: int | None,
    pad_id: int = 0,
) -> Decoded:
    """Greedy decoding: ``y_t = argmax logits_t``, fed back as the next input.

    Args:
        step_fn: ``step_fn(carry, y_prev (B,)) -> (carry, logits (B, n_vocab))``.
        carry0: initial carry, any pytree whose leaves have the batch axis ``B`` first.
        start_tokens: the first input ``y_{-1}``: an int for all rows, or ``(B,)`` ints.
        max_len: the most tokens generated per row (static, ``>= 1``).
        end_token: the token that ends a row (kept in the output), or None to always
            generate ``max_len`` tokens.
        pad_id: written after the end token.

    Returns:
        ``Decoded`` with ``tokens (B, max_len)``, ``lengths (B,)``,
        ``token_log_probs (B, max_len)``, and ``log_prob = score`` of shape ``(B,)``.

    Raises:
        ValueError: bad ``max_len`` / ``end_token`` / ``pad_id``, start tokens or carry
            without a consistent batch axis, or a ``step_fn`` whose carry changes shape.
        TypeError: ``step_fn`` is not callable or does not return ``(carry, logits)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxrnn.decode import greedy_decode
        >>> step = lambda c, y: (c, jnp.eye(4)[(y + 1) % 4] * 5.0)   # y_t = y_{t-1} + 1
        >>> out = greedy_decode(step, jnp.zeros((2, 1)), jnp.array([0, 2]),
        ...                     max_len=5, end_token=3, pad_id=0)
        >>> out.tokens.tolist(), out.lengths.tolist()
        ([[1, 2, 3, 0, 0], [3, 0, 0, 0, 0]], [3, 1])
    """
    where = "greedy_decode"
    y_start, _, n_vocab, dtype = prepare(step_fn, carry0, start_tokens, max_len, where)
    check_end_and_pad(end_token, pad_id, n_vocab, where)
    choose = lambda t, logits: jnp.argmax(logits, axis=-1)  # noqa: E731
    return _decode_loop(
        step_fn,
        carry0,
        y_start,
        choose,
        max_len=max_len,
        end_token=end_token,
        pad_id=pad_id,
        dtype=compute_dtype(dtype),
    )


def sample_decode(
    step_fn: StepFn,
    carry0: Any,
    start_tokens: int | Int[Array, " B"],
    key: PRNGKey,
    *,
    max_len: int,
    end_token: int | None,
    pad_id: int = 0,
    temperature: float | Float[Array, ""] = 1.0,
    top_k: int | None = None,
) -> Decoded:
    r"""Ancestral sampling with temperature and optional top-k truncation.

    .. math::

        y_t \sim \mathrm{softmax}(\mathrm{logits}_t / \tau)
        \ \text{restricted to the } k \text{ largest logits (renormalised)}

    Randomness: row ``b`` at step ``t`` uses ``fold_in(key_b, t)``, where ``key_b`` is
    ``fold_in(key, b)`` for a single ``key``, or ``key[b]`` for one key per row. With one
    key per row a batched call equals per-example calls.

    Args:
        step_fn: ``step_fn(carry, y_prev (B,)) -> (carry, logits (B, n_vocab))``.
        carry0: initial carry, leaves with the batch axis ``B`` first.
        start_tokens: an int, or ``(B,)`` ints: the first input ``y_{-1}``.
        key: ``jax.random.key(seed)`` (shape ``()``) or ``(B,)`` keys; raw uint32 keys
            (``jax.random.PRNGKey``) of shape ``(2,)`` / ``(B, 2)`` also work.
        max_len: the most tokens per row (static, ``>= 1``).
        end_token: the token that ends a row, or None.
        pad_id: written after the end token.
        temperature: ``tau > 0``; a Python float is checked, a traced scalar is not.
        top_k: None (the full distribution) or a static int ``1 <= top_k <= n_vocab``;
            ``top_k=1`` is greedy decoding.

    Returns:
        ``Decoded`` of batch shape ``(B,)``; ``token_log_probs`` / ``log_prob`` are under
        the model (``tau = 1``, no truncation), so samples can be scored and compared.

    Raises:
        ValueError: bad ``max_len``, ``top_k``, ``temperature``, token ids or key shape.
        TypeError: a key that is not a PRNG key, or a malformed ``step_fn``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxrnn.decode import sample_decode
        >>> step = lambda c, y: (c, jnp.log(jnp.array([[0.1, 0.6, 0.3]] * 2)))
        >>> out = sample_decode(step, jnp.zeros((2, 1)), 0, jax.random.key(0),
        ...                     max_len=6, end_token=0, temperature=0.7, top_k=2)
        >>> out.tokens.shape, bool((out.tokens != 0).all())   # top_k=2 never picks 0
        ((2, 6), True)
    """
    where = "sample_decode"
    y_start, B, n_vocab, dtype = prepare(step_fn, carry0, start_tokens, max_len, where)
    check_end_and_pad(end_token, pad_id, n_vocab, where)
    tau = check_temperature(temperature, where)
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= n_vocab
    ):
        raise ValueError(
            f"{where}: expected top_k to be None or an int in [1, n_vocab={n_vocab}], got {top_k!r}"
        )
    keys = row_keys(key, B, where)
    dtype = compute_dtype(dtype)

    def draw(key_t: Array, z: Array) -> Array:
        if top_k is None:
            return jax.random.categorical(key_t, z)
        z_top, idx = jax.lax.top_k(z, top_k)
        return idx[jax.random.categorical(key_t, z_top)]

    def choose(t: Array, logits: Array) -> Array:
        keys_t = jax.vmap(jax.random.fold_in, (0, None))(keys, t.astype(jnp.uint32))
        z = logits.astype(dtype) / jnp.asarray(tau).astype(dtype)
        return jax.vmap(draw)(keys_t, z)

    return _decode_loop(
        step_fn,
        carry0,
        y_start,
        choose,
        max_len=max_len,
        end_token=end_token,
        pad_id=pad_id,
        dtype=dtype,
    )


__all__ = ["Decoded", "StepFn", "greedy_decode", "sample_decode"]
