"""Decoder steps for the minGRU and minLSTM: embedding, one sequential step, readout.

Generation runs the sequential form (:func:`jaxrnn.mingru_step` / :func:`jaxrnn.minlstm_step`):
one token at a time, the carry ``h_t`` of shape ``(B, d_h)``. A model trained with the
parallel scan decodes with the same parameters, since both forms compute the same ``h_t``.
"""

from __future__ import annotations

from typing import Any

from jaxrnn import _checks
from jaxrnn._typing import Array, Float, Int
from jaxrnn.cells_min import _mingru_state, _minlstm_state
from jaxrnn.decode._checks import check_embed_readout
from jaxrnn.decode.greedy import StepFn
from jaxrnn.params import MinGRUParams, MinLSTMParams


def _make(state_fn, cls: type, where: str, E, params, V, b_o) -> StepFn:
    d_in, d_h = _checks.check_min_params(params, cls, where)
    E, V, b_o = check_embed_readout(E, V, b_o, d_in, d_h, where)

    def step_fn(h_prev: Array, y_prev: Int[Array, " B"]) -> tuple[Array, Array]:
        h_t = state_fn(params, h_prev, E[y_prev])
        return h_t, h_t @ V.T + b_o

    return step_fn


def make_mingru_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: Any,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""A minGRU decoder step: embedding, one ``mingru_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t,
        \quad \mathrm{logits}_t = V h_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``MinGRUParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)``.
        b_o: readout bias, shape ``(d_out,)``.

    Returns:
        ``step_fn(h: (B, d_h), y_prev: (B,) ints) -> (h, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not a ``MinGRUParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_mingru_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_mingru_step_fn(E, p, V, jnp.zeros(6))
        >>> out = greedy_decode(step, jnp.zeros((2, 8)), 1, max_len=5, end_token=0)
        >>> out.tokens.shape
        (2, 5)
    """
    return _make(_mingru_state, MinGRUParams, "make_mingru_step_fn", E, params, V, b_o)


def make_minlstm_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: Any,
    V: Float[Array, "d_out d_h"],
    b_o: Float[Array, " d_out"],
) -> StepFn:
    r"""A minLSTM decoder step: embedding, one ``minlstm_step``, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad h_t = f'_t \odot h_{t-1} + i'_t \odot \tilde h_t,
        \quad \mathrm{logits}_t = V h_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)``.
        params: ``MinLSTMParams`` with input size ``d_in`` and hidden size ``d_h``.
        V: readout matrix, shape ``(d_out, d_h)``.
        b_o: readout bias, shape ``(d_out,)``.

    Returns:
        ``step_fn(h: (B, d_h), y_prev: (B,) ints) -> (h, logits (B, d_out))``.

    Raises:
        TypeError: ``params`` is not a ``MinLSTMParams``, or an array is not floating.
        ValueError: a shape does not match ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import beam_search
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_minlstm_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = jaxrnn.make_minlstm_step_fn(E, p, V, jnp.zeros(6))
        >>> out = beam_search(step, jnp.zeros((2, 8)), 1, beam_size=3, max_len=4, end_token=0)
        >>> out.tokens.shape
        (2, 4)
    """
    return _make(_minlstm_state, MinLSTMParams, "make_minlstm_step_fn", E, params, V, b_o)


__all__ = ["make_mingru_step_fn", "make_minlstm_step_fn"]
