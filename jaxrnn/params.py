"""Parameter and state pytrees, and the default initialisers of their arrays.

All parameters are ``typing.NamedTuple``s: pytrees with no registration, immutable
(use ``._replace``), whose key paths read ``.f.W`` in gradients, logs and checkpoints.
Matrices are stored ``(out, in)`` so that code reads like the equations (``U @ x_t``).
Sizes are read from shapes, never stored: ``d_h = params.W.shape[0]``. The functions that
build them (``init_*_params``) are in :mod:`jaxrnn.init`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._typing import Array, DType, Float, PRNGKey

Initializer = Callable[[PRNGKey, tuple[int, ...], DType], Array]

# Matrices are stored (out, in): the fan-in is the last axis.
default_input_init: Initializer = jax.nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2)
"""Default for ``U`` and ``V``: Glorot/Xavier uniform on the (out, in) layout."""


def default_recurrent_init(key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
    """Default for ``W``: a random orthogonal matrix (all singular values 1).

    ``Q`` of the QR decomposition of a Gaussian matrix, with column signs fixed by
    ``diag(R)`` so that it is uniform (Haar) on the orthogonal group (Mezzadri 2007).
    The decomposition runs in at least float32 (LAPACK has no bfloat16/float16), and the
    result is cast to ``dtype``.
    """
    compute = dtype if jnp.finfo(dtype).bits >= 32 else jnp.float32
    n_rows, n_cols = shape
    A = jax.random.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), compute)
    Q, R = jnp.linalg.qr(A)
    Q = Q * jnp.sign(jnp.diagonal(R))
    return (Q if n_rows >= n_cols else Q.T).astype(dtype)


default_bias_init: Initializer = jax.nn.initializers.zeros
"""Default for every bias: zeros (the LSTM forget gate adds ``forget_bias``)."""


class RNNParams(NamedTuple):
    """Parameters of the vanilla (Elman) RNN with a softmax readout.

    ``s_t = tanh(U x_t + W s_{t-1} + b_s)`` and ``o_t = softmax(V s_t + b_o)``.

    Attributes:
        U: input-to-hidden matrix, shape ``(d_h, d_in)``.
        W: hidden-to-hidden (recurrent) matrix, shape ``(d_h, d_h)``.
        V: hidden-to-output matrix, shape ``(d_out, d_h)``.
        b_s: hidden bias, shape ``(d_h,)``.
        b_o: output bias, shape ``(d_out,)``.
    """

    U: Float[Array, "d_h d_in"]
    W: Float[Array, "d_h d_h"]
    V: Float[Array, "d_out d_h"]
    b_s: Float[Array, " d_h"]
    b_o: Float[Array, " d_out"]


class Gate(NamedTuple):
    """One LSTM gate (or the candidate): ``act(U x_t + W h_{t-1} + b)``.

    Attributes:
        U: input matrix, shape ``(d_h, d_in)``.
        W: recurrent matrix, shape ``(d_h, d_h)``.
        b: bias, shape ``(d_h,)``.
    """

    U: Float[Array, "d_h d_in"]
    W: Float[Array, "d_h d_h"]
    b: Float[Array, " d_h"]


class LSTMParams(NamedTuple):
    """Parameters of the LSTM: one :class:`Gate` per gate.

    Attributes:
        f: forget gate, ``f_t = sigmoid(U_f x_t + W_f h_{t-1} + b_f)``.
        i: input gate, ``i_t = sigmoid(U_i x_t + W_i h_{t-1} + b_i)``.
        c: candidate cell, ``C~_t = tanh(U_c x_t + W_c h_{t-1} + b_c)``.
        o: output gate, ``o_t = sigmoid(U_o x_t + W_o h_{t-1} + b_o)``.
    """

    f: Gate
    i: Gate
    c: Gate
    o: Gate


class LSTMState(NamedTuple):
    """The LSTM's carry. Use the field names, never the position.

    Attributes:
        h: hidden state ``h_t``, shape ``(..., d_h)``.
        C: cell state ``C_t``, shape ``(..., d_h)``.
    """

    h: Float[Array, "... d_h"]
    C: Float[Array, "... d_h"]


class GRUParams(NamedTuple):
    """Parameters of the GRU: one :class:`Gate` per gate, and the candidate's second bias.

    Attributes:
        z: update gate, ``z_t = sigmoid(U_z x_t + W_z h_{t-1} + b_z)``.
        r: reset gate, ``r_t = sigmoid(U_r x_t + W_r h_{t-1} + b_r)``.
        n: candidate, ``n_t = tanh(U_n x_t + b_n + r_t * (W_n h_{t-1} + b_hn))``.
        b_hn: the bias inside the reset product, shape ``(d_h,)`` (PyTorch's
            ``b_hn``); with ``reset_after=False`` it simply adds to ``b_n``.
    """

    z: Gate
    r: Gate
    n: Gate
    b_hn: Float[Array, " d_h"]


# --- minGRU and minLSTM (Feng et al. 2024): gates read x_t only ---------------------------


class MinGRUParams(NamedTuple):
    """Parameters of the minGRU: no recurrent matrix, the gate sees only ``x_t``.

    ``z_t = sigmoid(U_z x_t + b_z)``, ``h~_t = U_h x_t + b_h``,
    ``h_t = (1 - z_t) * h_{t-1} + z_t * h~_t``.

    Attributes:
        U_z: update-gate matrix, shape ``(d_h, d_in)``.
        b_z: update-gate bias, shape ``(d_h,)``.
        U_h: candidate matrix, shape ``(d_h, d_in)``.
        b_h: candidate bias, shape ``(d_h,)``.
    """

    U_z: Float[Array, "d_h d_in"]
    b_z: Float[Array, " d_h"]
    U_h: Float[Array, "d_h d_in"]
    b_h: Float[Array, " d_h"]


class MinLSTMParams(NamedTuple):
    """Parameters of the minLSTM: forget and input gates of ``x_t`` only, normalised.

    ``f_t = sigmoid(U_f x_t + b_f)``, ``i_t = sigmoid(U_i x_t + b_i)``,
    ``h~_t = U_h x_t + b_h``, ``h_t = f_t/(f_t + i_t) * h_{t-1} + i_t/(f_t + i_t) * h~_t``.

    Attributes:
        U_f: forget-gate matrix, shape ``(d_h, d_in)``.
        b_f: forget-gate bias, shape ``(d_h,)``.
        U_i: input-gate matrix, shape ``(d_h, d_in)``.
        b_i: input-gate bias, shape ``(d_h,)``.
        U_h: candidate matrix, shape ``(d_h, d_in)``.
        b_h: candidate bias, shape ``(d_h,)``.
    """

    U_f: Float[Array, "d_h d_in"]
    b_f: Float[Array, " d_h"]
    U_i: Float[Array, "d_h d_in"]
    b_i: Float[Array, " d_h"]
    U_h: Float[Array, "d_h d_in"]
    b_h: Float[Array, " d_h"]


__all__ = [
    "GRUParams",
    "Gate",
    "LSTMParams",
    "LSTMState",
    "MinGRUParams",
    "MinLSTMParams",
    "RNNParams",
    "default_bias_init",
    "default_input_init",
    "default_recurrent_init",
]
