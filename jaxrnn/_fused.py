r"""The LSTM over a sequence with a hand-written reverse-mode rule (``lstm_scan(fused_vjp=True)``).

XLA's autodiff of ``lax.scan`` accumulates the weight gradients inside the reverse loop: two
small products (``h_{t-1}^T dz_t`` and ``x_t^T dz_t``) and two matrix additions per step. Here
the reverse loop carries only ``(dh, dC)``, does one product per step (``dz_t W``) and emits
``dz_t``; afterwards the weight and input gradients are single large products over all steps,
as cuDNN does:

.. math::

    dW = \sum_t dz_t^\top h_{t-1}, \quad dU = \sum_t dz_t^\top x_t, \quad
    db = \sum_t dz_t, \quad dx_t = U^\top dz_t

The forward pass also computes ``x_t U^T + b`` for every step as one product before the loop.
A ``jax.custom_vjp`` function has no forward-mode derivative, which is why this path is an
option and not the default.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxrnn._typing import Array


def _gates(z: Array) -> tuple[Array, Array, Array, Array]:
    """``(f, i, C~, o)`` from the stacked pre-activations ``z = [z_f, z_i, z_c, z_o]``."""
    z_f, z_i, z_c, z_o = jnp.split(z, 4, axis=-1)
    return jax.nn.sigmoid(z_f), jax.nn.sigmoid(z_i), jnp.tanh(z_c), jax.nn.sigmoid(z_o)


def _forward(U_T, W_T, b, xs, h0, C0, mask, reverse: bool, unroll: int, save: bool):
    """``((h_T, C_T, hs), residuals)``; residuals ``(h_{t-1}, C_{t-1}, [f, i, C~, o])``."""

    def body(carry, inp):
        zx_t, m_t = inp
        h, C = carry
        f, i, g, o = _gates(zx_t + h @ W_T)
        C_new = f * C + i * g  # C_t = f_t * C_{t-1} + i_t * C~_t
        h_new = o * jnp.tanh(C_new)  # h_t = o_t * tanh(C_t)
        out = h_new
        if m_t is not None:  # padding: hold the state, emit zeros
            h_new, C_new = jnp.where(m_t, h_new, h), jnp.where(m_t, C_new, C)
            out = jnp.where(m_t, h_new, jnp.zeros_like(h_new))
        res = (h, C, jnp.concatenate([f, i, g, o], axis=-1)) if save else None
        return (h_new, C_new), (out, res)

    zx = xs @ U_T + b  # every step's input projection, one product
    (h_T, C_T), (hs, res) = jax.lax.scan(body, (h0, C0), (zx, mask), reverse=reverse, unroll=unroll)
    return (h_T, C_T, hs), res


@functools.partial(jax.custom_vjp, nondiff_argnums=(7, 8))
def lstm_sequence(U_T, W_T, b, xs, h0, C0, mask, reverse: bool, unroll: int):
    """``(h_T, C_T, hs)`` of the LSTM over time-major ``xs (T, ..., d_in)``.

    ``U_T (d_in, 4 d_h)``, ``W_T (d_h, 4 d_h)`` and ``b (4 d_h,)`` stack the gates in the
    order ``[f, i, c, o]``; ``mask (T, ..., 1)`` (or None) marks the valid steps.
    """
    return _forward(U_T, W_T, b, xs, h0, C0, mask, reverse, unroll, save=False)[0]


def _fwd(U_T, W_T, b, xs, h0, C0, mask, reverse, unroll):
    out, res = _forward(U_T, W_T, b, xs, h0, C0, mask, reverse, unroll, save=True)
    return out, (U_T, W_T, xs, mask, res)


def _bwd(reverse, unroll, saved, cts):
    U_T, W_T, xs, mask, (h_prev, C_prev, gates) = saved
    dh_T, dC_T, dhs = cts

    def body(carry, inp):
        dh, dC = carry
        dh_out, C_p, gt, m_t = inp
        f, i, g, o = jnp.split(gt, 4, axis=-1)
        tanh_C = jnp.tanh(f * C_p + i * g)
        if m_t is not None:  # a padding step's output is a constant zero
            dh_out = jnp.where(m_t, dh_out, jnp.zeros_like(dh_out))
        dh_t = dh + dh_out
        dC_t = dC + dh_t * o * (1 - tanh_C * tanh_C)
        dz = jnp.concatenate(
            [dC_t * C_p * f * (1 - f), dC_t * g * i * (1 - i), dC_t * i * (1 - g * g),
             dh_t * tanh_C * o * (1 - o)], axis=-1,
        )  # fmt: skip
        dh_prev, dC_prev = dz @ W_T.T, dC_t * f
        if m_t is not None:  # a held state passes its gradient through unchanged
            dz = jnp.where(m_t, dz, jnp.zeros_like(dz))
            dh_prev, dC_prev = jnp.where(m_t, dh_prev, dh_t), jnp.where(m_t, dC_prev, dC)
        return (dh_prev, dC_prev), dz

    (dh0, dC0), dz = jax.lax.scan(
        body, (dh_T, dC_T), (dhs, C_prev, gates, mask), reverse=not reverse, unroll=unroll
    )
    dz_flat = dz.reshape(-1, dz.shape[-1])  # (T * batch, 4 d_h): the large products
    dW_T = h_prev.reshape(-1, h_prev.shape[-1]).T @ dz_flat
    dU_T = xs.reshape(-1, xs.shape[-1]).T @ dz_flat
    return dU_T, dW_T, dz_flat.sum(axis=0), dz @ U_T.T, dh0, dC0, None


lstm_sequence.defvjp(_fwd, _bwd)
