r"""``mingru_scan`` and ``minlstm_scan``: whole sequences of the minGRU and minLSTM.

Both cells are ``h_t = a_t \odot h_{t-1} + b_t`` with coefficients that read ``x_t``
only (Feng et al. 2024, "Were RNNs All We Needed?"):

.. math::

    \text{minGRU:}\quad a_t = 1 - z_t, \qquad b_t = z_t \odot \tilde h_t \\
    \text{minLSTM:}\quad a_t = f'_t = \sigma(\log f_t - \log i_t), \qquad
        b_t = i'_t \odot \tilde h_t, \quad i'_t = \sigma(\log i_t - \log f_t)

With ``parallel=True`` the coefficients of all steps come from one matrix product (all the
gates' ``U`` stacked into one matrix), and the recurrence is
:mod:`jaxrnn._loops.linear`'s: an associative scan on accelerators, a sequential loop on
CPU (which measured faster there), exact in both cases (no division by vanishing products
of gates; see that module). On CPU the forward pass runs the product and the loop a block
of steps at a time (:mod:`jaxrnn._loops.minrnn`: the same numbers, fewer passes over
memory); derivatives, in both modes, are those of the unblocked form.

The coefficients are the step's own expressions: ``1 - z_t`` rounded once from an accurate
``z_t`` is what keeps a long memory (``z_t`` near 0) accurate, and the minLSTM's normalised
gates come from a difference of log-sigmoids (never ``0/0``; see
:func:`jaxrnn.cells_min._minlstm_mix`). ``parallel=False`` is a ``lax.scan`` of
:func:`jaxrnn.mingru_step` / :func:`jaxrnn.minlstm_step` (what decoding runs); the two agree
to rounding.

Padding (``lengths``) sets ``a_t = 1, b_t = 0`` at padding steps, which holds the state
exactly, and zeroes their outputs; ``reverse`` runs the recurrence from ``T-1`` down to
0, outputs aligned with inputs: the same rules as :func:`jaxrnn.lstm_scan`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._loops.minrnn import _MINGRU, _MINLSTM, _parallel, _unfused
from jaxrnn._typing import Array, Float, Int
from jaxrnn.cells_min import _mingru_state, _minlstm_state, _transposed_inputs
from jaxrnn.params import MinGRUParams, MinLSTMParams


def _scan(cls, cell, state_fn, where, params, xs, h0, lengths, reverse, parallel):
    d_in, d_h = _checks.check_min_params(params, cls, where)
    dtype = getattr(params, cls._fields[0]).dtype
    xs = _checks.check_inputs(xs, d_in, where, name="xs", min_rank=2)
    _checks.check_dtype(xs, dtype, where)
    batch, T = tuple(xs.shape[:-2]), xs.shape[-2]
    if lengths is not None:
        lengths = _checks.check_lengths(lengths, batch, where)
    h0 = _checks.initial_state(h0, (*batch, d_h), dtype, where, name="h0")
    if T == 0:  # no steps: the state passes through
        return h0, jnp.zeros((*batch, 0, d_h), dtype)
    # Time-major, the batch axes flattened into one (as lstm_scan does).
    n = math.prod(batch)
    xs_time = jnp.moveaxis(xs, -2, 0).reshape(T, n, d_in).astype(dtype)
    mask = _checks.valid_mask(lengths, T, batch)
    mask = None if mask is None else mask.reshape(T, n, 1)
    h0 = h0.reshape(n, d_h)
    if parallel and dtype in (jnp.float32, jnp.float64):
        h_T, hs = _parallel(cell, reverse, params, xs_time, h0, mask)
    elif parallel:  # 16-bit floats: linear_recurrence computes them in float32 on CPU
        h_T, hs = _unfused(cell, reverse, params, xs_time, h0, mask)
    else:
        U_T = _transposed_inputs(params)  # once, outside the loop (see _transposed_inputs)

        def step(h_prev, inputs):
            x_t, m_t = inputs
            h_t = state_fn(params, h_prev, x_t, U_T)
            h_t = h_t if m_t is None else jnp.where(m_t, h_t, h_prev)
            return h_t, h_t

        h_T, hs = jax.lax.scan(step, h0, (xs_time, mask), reverse=reverse)
    if mask is not None:
        hs = jnp.where(mask, hs, jnp.zeros_like(hs))
    return h_T.reshape(*batch, d_h), jnp.moveaxis(hs.reshape(T, *batch, d_h), 0, -2)


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def mingru_scan(
    params: MinGRUParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    r"""Run the minGRU over a sequence, all steps at once.

    .. math::

        z_t = \sigma(U_z x_t + b_z), \qquad \tilde h_t = U_h x_t + b_h, \qquad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    Args:
        params: ``MinGRUParams(U_z, b_z, U_h, b_h)``.
        xs: inputs, shape ``(..., T, d_in)``: time is the second-to-last axis, leading
            axes are batch axes.
        h0: initial state ``h_0``, shape ``(..., d_h)``; zeros of the parameters' dtype by
            default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        parallel: ``True``: the gates of all steps at once, then the linear recurrence in
            parallel (an associative scan; a sequential loop on CPU, which is faster
            there). ``False``: a ``lax.scan`` of :func:`jaxrnn.mingru_step`. The two
            agree to rounding; both are differentiable in forward and reverse mode.

    Returns:
        ``(h_T, hs)``: the final state ``(..., d_h)`` (after the last valid step) and all
        states ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> xs = jnp.ones((2, 5, 3))                    # (B, T, d_in)
        >>> h_T, hs = jaxrnn.mingru_scan(p, xs, lengths=jnp.array([5, 2]))
        >>> h_T.shape, hs.shape
        ((2, 4), (2, 5, 4))
        >>> bool(jnp.allclose(h_T[1], hs[1, 1])), bool((hs[1, 2:] == 0).all())
        (True, True)
    """
    return _scan(
        MinGRUParams, _MINGRU, _mingru_state, "mingru_scan",
        params, xs, h0, lengths, reverse, parallel,
    )  # fmt: skip


@functools.partial(jax.jit, static_argnames=("reverse", "parallel"))
def minlstm_scan(
    params: MinLSTMParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    reverse: bool = False,
    parallel: bool = True,
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    r"""Run the minLSTM over a sequence, all steps at once.

    .. math::

        f_t = \sigma(U_f x_t + b_f), \quad i_t = \sigma(U_i x_t + b_i), \quad
        \tilde h_t = U_h x_t + b_h \\
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t

    Args:
        params: ``MinLSTMParams(U_f, b_f, U_i, b_i, U_h, b_h)``.
        xs: inputs, shape ``(..., T, d_in)``.
        h0: initial state ``h_0``, shape ``(..., d_h)``; zeros by default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        parallel: ``True``: all steps at once (see :func:`mingru_scan`); ``False``: a
            ``lax.scan`` of :func:`jaxrnn.minlstm_step`. They agree to rounding.

    Returns:
        ``(h_T, hs)``: the final state ``(..., d_h)`` (after the last valid step) and all
        states ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> xs = jax.random.normal(jax.random.key(1), (6, 3))   # one sequence (T, d_in)
        >>> h_T, hs = jaxrnn.minlstm_scan(p, xs)
        >>> h_T_seq, hs_seq = jaxrnn.minlstm_scan(p, xs, parallel=False)
        >>> bool(jnp.allclose(hs, hs_seq, atol=1e-6)), bool(jnp.allclose(h_T, hs[-1]))
        (True, True)
    """
    return _scan(
        MinLSTMParams, _MINLSTM, _minlstm_state, "minlstm_scan",
        params, xs, h0, lengths, reverse, parallel,
    )  # fmt: skip


__all__ = ["mingru_scan", "minlstm_scan"]
