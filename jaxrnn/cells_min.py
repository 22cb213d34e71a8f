"""One time step of the minGRU and the minLSTM (Feng et al. 2024): the gates read ``x_t`` only.

Like :mod:`jaxrnn.cells`, both steps accept one example (``x_t`` of shape ``(d_in,)``) or any
number of leading batch axes (``(..., d_in)``). Because ``h_t`` is linear in ``h_{t-1}``, a
whole sequence can also be evaluated in parallel (:mod:`jaxrnn.parallel.minrnn`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._typing import Array, Float
from jaxrnn.cells import _mul
from jaxrnn.params import MinGRUParams, MinLSTMParams


def _input_matrices(params: MinGRUParams | MinLSTMParams) -> tuple[Array, ...]:
    """The gates' ``U_g`` (every field named ``U_*``), in field order."""
    return tuple(getattr(params, f) for f in params._fields if f.startswith("U_"))


def _transposed_inputs(params: MinGRUParams | MinLSTMParams) -> tuple[Array, ...]:
    """The ``U_g^T`` of every gate (``(d_in, d_h)`` each, in field order), materialised.

    For a loop of steps: computed once outside it and passed to the step as ``U_T``, each
    step multiplies ``x_t`` by a stored matrix. With ``U_g`` transposed at every step and
    the product fused into the gates, XLA's CPU backend ran the minGRU's ``parallel=False``
    scan 5-6x slower forward at ``B = 1``; against the steps' own remedy
    (:func:`jaxrnn.cells._mul`, which a single step uses) the stored transposes were level at
    (1, 1000, 128) and 1.1-1.2x faster at (16, 2000, 128) and (1, 100000, 64)
    (``docs/design_loops.md``). ``optimization_barrier`` keeps XLA from folding the
    transposes back into the products.
    """
    return tuple(jax.lax.optimization_barrier(tuple(U.T for U in _input_matrices(params))))


def _input_products(params, x_t: Array, U_T: tuple[Array, ...] | None) -> tuple[Array, ...]:
    """``U_g x_t`` of every gate, in field order: with the transposes ``U_T`` of a loop
    (:func:`_transposed_inputs`), else by :func:`jaxrnn.cells._mul`."""
    if U_T is None:
        return tuple(_mul(U, x_t) for U in _input_matrices(params))
    return tuple(x_t @ U_g_T for U_g_T in U_T)


def _mingru_state(
    params: MinGRUParams, h_prev: Array, x_t: Array, U_T: tuple[Array, ...] | None = None
) -> Array:
    """One minGRU step, batched over leading axes; ``U_T`` as :func:`_transposed_inputs`
    gives it, in a loop."""
    U_z_x, U_h_x = _input_products(params, x_t, U_T)
    z_t = jax.nn.sigmoid(U_z_x + params.b_z)
    h_tilde_t = U_h_x + params.b_h
    return (1 - z_t) * h_prev + z_t * h_tilde_t


def _minlstm_mix(z_f: Array, z_i: Array) -> tuple[Array, Array]:
    """``(f'_t, i'_t) = (f_t, i_t) / (f_t + i_t)`` from the pre-activations ``z_f, z_i``.

    With ``D = log f_t - log i_t`` (``log f_t = log_sigmoid(z_f)``), ``f'_t = sigmoid(D)``
    and ``i'_t = sigmoid(-D)``: the same numbers as the quotients, with no ``0/0`` when
    both gates underflow. The smaller of the two is ``sigmoid(-|D|)``, accurate relative to
    itself, and the larger is ``1`` minus it, rounded once: a forget gate near 1 (a long
    memory) is as accurate as its distance from 1 allows.
    """
    D = jax.nn.log_sigmoid(z_f) - jax.nn.log_sigmoid(z_i)
    small = jax.nn.sigmoid(jnp.where(D > 0, -D, D))  # sigmoid(-|D|), derivative right at 0
    large = 1 - small
    return jnp.where(D > 0, large, small), jnp.where(D > 0, small, large)


def _minlstm_state(
    params: MinLSTMParams, h_prev: Array, x_t: Array, U_T: tuple[Array, ...] | None = None
) -> Array:
    """One minLSTM step, batched over leading axes; ``U_T`` as in :func:`_mingru_state`."""
    U_f_x, U_i_x, U_h_x = _input_products(params, x_t, U_T)
    f_prime_t, i_prime_t = _minlstm_mix(
        U_f_x + params.b_f,  # f_t = sigmoid(U_f x_t + b_f)
        U_i_x + params.b_i,  # i_t = sigmoid(U_i x_t + b_i)
    )
    h_tilde_t = U_h_x + params.b_h
    return f_prime_t * h_prev + i_prime_t * h_tilde_t


def _min_step(state_fn, cls: type, where: str, params, h_prev, x_t):
    d_in, d_h = _checks.check_min_params(params, cls, where)
    x_t = _checks.check_inputs(x_t, d_in, where, name="x_t", min_rank=1)
    h_prev = _checks.check_state(h_prev, (*x_t.shape[:-1], d_h), where, name="h_prev")
    h_t = state_fn(params, h_prev, x_t)
    return h_t, h_t


def mingru_step(
    params: MinGRUParams,
    h_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_h"]]:
    r"""One step of the minGRU (Feng et al. 2024, "Were RNNs All We Needed?").

    .. math::

        z_t &= \sigma(U_z x_t + b_z) \\
        \tilde h_t &= U_h x_t + b_h \\
        h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    The gate and the candidate read ``x_t`` only, so ``h_t`` is linear in ``h_{t-1}``
    and a whole sequence can be evaluated in parallel (:func:`jaxrnn.mingru_scan`).

    Args:
        params: ``MinGRUParams`` with ``U_z, U_h (d_h, d_in)`` and ``b_z, b_h (d_h,)``.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d_h)``.
        x_t: input ``x_t``, shape ``(..., d_in)`` with the same leading axes as ``h_prev``.

    Returns:
        ``(h_t, h_t)``: the new state (the carry) and the output, each ``(..., d_h)``.

    Raises:
        TypeError: ``params`` is not a ``MinGRUParams``, or an input is not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_t, out = jaxrnn.mingru_step(p, jnp.zeros((2, 4)), jnp.ones((2, 3)))
        >>> h_t.shape, bool((h_t == out).all())
        ((2, 4), True)
    """
    return _min_step(_mingru_state, MinGRUParams, "mingru_step", params, h_prev, x_t)


def minlstm_step(
    params: MinLSTMParams,
    h_prev: Float[Array, "... d_h"],
    x_t: Float[Array, "... d_in"],
) -> tuple[Float[Array, "... d_h"], Float[Array, "... d_h"]]:
    r"""One step of the minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

    .. math::

        f_t &= \sigma(U_f x_t + b_f), \qquad i_t = \sigma(U_i x_t + b_i), \qquad
        \tilde h_t = U_h x_t + b_h \\
        f'_t &= \frac{f_t}{f_t + i_t}, \qquad i'_t = \frac{i_t}{f_t + i_t} \\
        h_t &= f'_t \odot h_{t-1} + i'_t \odot \tilde h_t

    ``f'_t`` and ``i'_t`` are computed as ``sigmoid(\pm(\log f_t - \log i_t))`` with
    ``\log f_t = \log\sigma(U_f x_t + b_f)``: the same numbers, but never ``0/0``.

    Args:
        params: ``MinLSTMParams`` with ``U_f, U_i, U_h (d_h, d_in)`` and
            ``b_f, b_i, b_h (d_h,)``.
        h_prev: previous state ``h_{t-1}``, shape ``(..., d_h)``.
        x_t: input ``x_t``, shape ``(..., d_in)`` with the same leading axes as ``h_prev``.

    Returns:
        ``(h_t, h_t)``: the new state (the carry) and the output, each ``(..., d_h)``.

    Raises:
        TypeError: ``params`` is not a ``MinLSTMParams``, or an input is not floating.
        ValueError: a shape does not match the parameters.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> h_t, out = jaxrnn.minlstm_step(p, jnp.zeros(4), jnp.ones(3))
        >>> h_t.shape
        (4,)
    """
    return _min_step(_minlstm_state, MinLSTMParams, "minlstm_step", params, h_prev, x_t)


__all__ = ["mingru_step", "minlstm_step"]
