"""Parameter and state pytrees, and the parameters' initialisers.

All parameters are ``typing.NamedTuple``s: pytrees with no registration, immutable
(use ``._replace``), whose key paths read ``.f.W`` in gradients, logs and checkpoints.
Matrices are stored ``(out, in)`` so that code reads like the equations (``U @ x_t``).
Sizes are read from shapes, never stored: ``d_h = params.W.shape[0]``.
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


def _check_size(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def init_rnn_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    d_out: int,
    *,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    V_init: Initializer = default_input_init,
    b_init: Initializer = default_bias_init,
) -> RNNParams:
    """Initialise :class:`RNNParams`.

    Defaults: ``U`` and ``V`` Glorot uniform, ``W`` orthogonal, ``b_s`` and ``b_o`` zero.
    Any initialiser can be replaced by a ``jax.nn.initializers``-style function
    ``init(key, shape, dtype) -> array``; shapes are passed in the stored ``(out, in)``
    layout.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        d_out: readout size (number of classes of ``o_t``).
        dtype: floating dtype of every parameter.
        U_init, W_init, V_init: initialisers for the three matrices.
        b_init: initialiser for both biases.

    Returns:
        ``RNNParams`` with ``U (d_h, d_in)``, ``W (d_h, d_h)``, ``V (d_out, d_h)``,
        ``b_s (d_h,)``, ``b_o (d_out,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_rnn_params(jax.random.key(0), d_in=3, d_h=5, d_out=2)
        >>> p.U.shape, p.W.shape, p.V.shape, p.b_s.shape, p.b_o.shape
        ((5, 3), (5, 5), (2, 5), (5,), (2,))
    """
    for name, value in (("d_in", d_in), ("d_h", d_h), ("d_out", d_out)):
        _check_size(name, value)
    k_U, k_W, k_V, k_bs, k_bo = jax.random.split(key, 5)
    return RNNParams(
        U=U_init(k_U, (d_h, d_in), dtype),
        W=W_init(k_W, (d_h, d_h), dtype),
        V=V_init(k_V, (d_out, d_h), dtype),
        b_s=b_init(k_bs, (d_h,), dtype),
        b_o=b_init(k_bo, (d_out,), dtype),
    )


def init_lstm_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    forget_bias: float = 1.0,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    b_init: Initializer = default_bias_init,
) -> LSTMParams:
    """Initialise :class:`LSTMParams`.

    Defaults: every ``U_g`` Glorot uniform, every ``W_g`` orthogonal, every ``b_g`` zero,
    then ``forget_bias`` is added to ``b_f`` (Gers et al. 2000; Jozefowicz et al. 2015):
    the forget gate starts near ``sigmoid(1) = 0.73`` so memory is kept by default.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden (and cell) size.
        forget_bias: constant added to the forget-gate bias ``b_f``.
        dtype: floating dtype of every parameter.
        U_init, W_init, b_init: initialisers, called once per gate.

    Returns:
        ``LSTMParams(f, i, c, o)``, each a ``Gate`` with ``U (d_h, d_in)``,
        ``W (d_h, d_h)`` and ``b (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_lstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.f.U.shape, p.c.W.shape, p.f.b.tolist(), p.i.b.tolist()
        ((4, 3), (4, 4), [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
    """
    _check_size("d_in", d_in)
    _check_size("d_h", d_h)
    keys = jax.random.split(key, 4)

    def gate(k: PRNGKey, bias_offset: float) -> Gate:
        k_U, k_W, k_b = jax.random.split(k, 3)
        return Gate(
            U=U_init(k_U, (d_h, d_in), dtype),
            W=W_init(k_W, (d_h, d_h), dtype),
            b=b_init(k_b, (d_h,), dtype) + jnp.asarray(bias_offset, dtype),
        )

    return LSTMParams(
        f=gate(keys[0], forget_bias),
        i=gate(keys[1], 0.0),
        c=gate(keys[2], 0.0),
        o=gate(keys[3], 0.0),
    )


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


def init_gru_params(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    *,
    dtype: DType = jnp.float32,
    U_init: Initializer = default_input_init,
    W_init: Initializer = default_recurrent_init,
    b_init: Initializer = default_bias_init,
) -> GRUParams:
    """Initialise :class:`GRUParams`.

    Defaults: every ``U_g`` Glorot uniform, every ``W_g`` orthogonal, every bias (``b_z``,
    ``b_r``, ``b_n``, ``b_hn``) zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.
        U_init, W_init, b_init: initialisers, called once per gate (``b_init`` also for
            ``b_hn``).

    Returns:
        ``GRUParams(z, r, n, b_hn)``; each ``Gate`` has ``U (d_h, d_in)``,
        ``W (d_h, d_h)`` and ``b (d_h,)``; ``b_hn`` is ``(d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_gru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.z.U.shape, p.n.W.shape, p.b_hn.shape
        ((4, 3), (4, 4), (4,))
    """
    _check_size("d_in", d_in)
    _check_size("d_h", d_h)
    k_z, k_r, k_n, k_hn = jax.random.split(key, 4)

    def gate(k: PRNGKey) -> Gate:
        k_U, k_W, k_b = jax.random.split(k, 3)
        return Gate(
            U=U_init(k_U, (d_h, d_in), dtype),
            W=W_init(k_W, (d_h, d_h), dtype),
            b=b_init(k_b, (d_h,), dtype),
        )

    return GRUParams(z=gate(k_z), r=gate(k_r), n=gate(k_n), b_hn=b_init(k_hn, (d_h,), dtype))


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


def _init_min_params(cls, key: PRNGKey, d_in: int, d_h: int, dtype: DType):
    """Every ``U_*`` Glorot uniform on the ``(out, in)`` layout, every ``b_*`` zero."""
    _check_size("d_in", d_in)
    _check_size("d_h", d_h)
    names = cls._fields
    keys = jax.random.split(key, len(names))
    return cls(**{
        name: default_input_init(k, (d_h, d_in), dtype) if name.startswith("U")
        else default_bias_init(k, (d_h,), dtype)
        for name, k in zip(names, keys)
    })  # fmt: skip


def init_mingru_params(
    key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32
) -> MinGRUParams:
    """Initialise :class:`MinGRUParams`: ``U_z``, ``U_h`` Glorot uniform, biases zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.

    Returns:
        ``MinGRUParams(U_z, b_z, U_h, b_h)`` with ``U_* (d_h, d_in)`` and ``b_* (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_mingru_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.U_z.shape, p.b_z.shape, p.U_h.shape, p.b_h.shape
        ((4, 3), (4,), (4, 3), (4,))
    """
    return _init_min_params(MinGRUParams, key, d_in, d_h, dtype)


def init_minlstm_params(
    key: PRNGKey, d_in: int, d_h: int, *, dtype: DType = jnp.float32
) -> MinLSTMParams:
    """Initialise :class:`MinLSTMParams`: every ``U_*`` Glorot uniform, biases zero.

    Args:
        key: PRNG key.
        d_in: input size.
        d_h: hidden size.
        dtype: floating dtype of every parameter.

    Returns:
        ``MinLSTMParams(U_f, b_f, U_i, b_i, U_h, b_h)`` with ``U_* (d_h, d_in)`` and
        ``b_* (d_h,)``.

    Raises:
        ValueError: if a size is not a positive int.

    Example:
        >>> import jax, jaxrnn
        >>> p = jaxrnn.init_minlstm_params(jax.random.key(0), d_in=3, d_h=4)
        >>> p.U_f.shape, p.U_i.shape, p.U_h.shape, p.b_f.shape
        ((4, 3), (4, 3), (4, 3), (4,))
    """
    return _init_min_params(MinLSTMParams, key, d_in, d_h, dtype)


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
    "init_gru_params",
    "init_lstm_params",
    "init_mingru_params",
    "init_minlstm_params",
    "init_rnn_params",
]
