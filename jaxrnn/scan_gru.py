"""The GRU over a whole sequence: the rules of :mod:`jaxrnn.scan`, on the GRU's fast loop."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._loops.gru import gru_sequence
from jaxrnn._loops.newton import newton_sequence
from jaxrnn._typing import Array, Float, Int
from jaxrnn.cells import _gru_state, _gru_state_diag
from jaxrnn.params import GRUParams
from jaxrnn.scan import _prepare, _time_last


@functools.partial(jax.jit, static_argnames=("reverse", "unroll", "remat", "reset_after", "method"))
def gru_scan(
    params: GRUParams,
    xs: Float[Array, "... T d_in"],
    h0: Float[Array, "... d_h"] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
    reverse: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    reset_after: bool = True,
    method: str = "sequential",
) -> tuple[Float[Array, "... d_h"], Float[Array, "... T d_h"]]:
    r"""Run the GRU over a sequence.

    .. math::

        z_t, r_t &= \sigma(U_g x_t + W_g h_{t-1} + b_g), \quad g \in \{z, r\} \\
        n_t &= \tanh(U_n x_t + b_n + r_t \odot (W_n h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    With ``reset_after=False``:
    :math:`n_t = \tanh(U_n x_t + W_n (r_t \odot h_{t-1}) + b_n + b_{hn})`
    (see :func:`jaxrnn.gru_step`).

    Args:
        params: ``GRUParams(z, r, n, b_hn)``.
        xs: inputs, shape ``(..., T, d_in)``.
        h0: initial state, shape ``(..., d_h)``; zeros of the parameters' dtype by
            default.
        lengths: optional integer array of shape ``xs.shape[:-2]``; steps
            ``t >= lengths`` are padding (state held, outputs zero).
        reverse: read the (valid part of the) sequence last-to-first; outputs stay
            aligned with their inputs.
        unroll: how many steps to unroll in the scanned loop body (static); results
            agree to rounding.
        remat: None (default), or a segment length ``k`` (static): store only every
            ``k``-th state and recompute the rest during the backward pass.
        reset_after: where the reset gate applies (static; see above).
        method: ``"sequential"`` (default), ``"newton"`` or ``"newton-diagonal"``: all
            steps at once by Newton iterations over time, as in :func:`jaxrnn.rnn_scan`
            (``docs/newton.md``); reverse-mode derivatives only; no ``remat``.

    Derivatives of every order work in forward and reverse mode. As for
    :func:`jaxrnn.lstm_scan`, the input product of all steps is one GEMM before the
    loop, the reverse pass carries only ``dh`` and the weight gradients are one GEMM each
    after it (:mod:`jaxrnn._loops.gru` has the derivation). On CPU, 16-bit float
    parameters run the loop in float32 and round its results once.

    Returns:
        ``(h_T, hs)``: the final state ``(..., d_h)`` (after the last valid step) and
        all states ``hs`` of shape ``(..., T, d_h)``.

    Raises:
        TypeError: wrong params type, or non-floating / too-precise inputs.
        ValueError: shapes that do not match the parameters, bad ``unroll``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_T, hs = jaxrnn.gru_scan(p, jnp.ones((2, 6, 3)), lengths=jnp.array([6, 2]))
        >>> hs.shape, h_T.shape
        ((2, 6, 4), (2, 4))
        >>> bool(jnp.allclose(h_T[1], hs[1, 1])), bool((hs[1, 2:] == 0).all())
        (True, True)
    """
    where = "gru_scan"
    d_in, d_h = _checks.check_gru_params(params, where)
    dtype = params.z.W.dtype
    xs, batch, mask = _prepare(xs, lengths, d_in, dtype, where, unroll, remat)
    jacobian = _checks.check_method(method, where, remat)
    h0 = _checks.initial_state(h0, (*batch, d_h), dtype, where, name="h0")
    T, n = xs.shape[-2], math.prod(batch)
    if T > 0 and jacobian is not None:
        step = functools.partial(_gru_state, params, reset_after=bool(reset_after))
        diag = functools.partial(_gru_state_diag, params) if reset_after else None
        return newton_sequence(step, diag, h0, xs.astype(dtype), mask, reverse=reverse,
                               jacobian=jacobian)  # fmt: skip
    xs_time = jnp.moveaxis(xs, -2, 0).reshape(T, n, d_in)
    mask = None if mask is None else mask.reshape(T, n, 1)
    if T > 0:
        h_T, hs = gru_sequence(
            params, xs_time.astype(dtype), h0.reshape(n, d_h), mask,
            reverse=reverse, unroll=unroll, remat=remat, reset_after=bool(reset_after),
        )  # fmt: skip
    else:  # no steps: the state passes through
        h_T, hs = h0.reshape(n, d_h), jnp.zeros((0, n, d_h), dtype)
    return h_T.reshape(*batch, d_h), _time_last(hs).reshape(*batch, T, d_h)


__all__ = ["gru_scan"]
