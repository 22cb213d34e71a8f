"""Initialisers of the parameter pytrees of :mod:`jaxrnn.params`.

Every ``init_*_params`` takes the PRNG key first, reads sizes as keyword-or-positional ints,
and accepts ``jax.nn.initializers``-style functions ``init(key, shape, dtype) -> array``
called with the stored ``(out, in)`` layout.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._typing import DType, PRNGKey
from jaxrnn.params import (
    Gate,
    GRUParams,
    Initializer,
    LSTMParams,
    MinGRUParams,
    MinLSTMParams,
    RNNParams,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)


def _check_size(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def _init_gate(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    dtype: DType,
    U_init: Initializer,
    W_init: Initializer,
    b_init: Initializer,
) -> Gate:
    """One :class:`Gate`: ``U (d_h, d_in)``, ``W (d_h, d_h)``, ``b (d_h,)``."""
    k_U, k_W, k_b = jax.random.split(key, 3)
    return Gate(
        U=U_init(k_U, (d_h, d_in), dtype),
        W=W_init(k_W, (d_h, d_h), dtype),
        b=b_init(k_b, (d_h,), dtype),
    )


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
        g = _init_gate(k, d_in, d_h, dtype, U_init, W_init, b_init)
        return g._replace(b=g.b + jnp.asarray(bias_offset, dtype))

    return LSTMParams(
        f=gate(keys[0], forget_bias),
        i=gate(keys[1], 0.0),
        c=gate(keys[2], 0.0),
        o=gate(keys[3], 0.0),
    )


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
        return _init_gate(k, d_in, d_h, dtype, U_init, W_init, b_init)

    return GRUParams(z=gate(k_z), r=gate(k_r), n=gate(k_n), b_hn=b_init(k_hn, (d_h,), dtype))


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
    "init_gru_params",
    "init_lstm_params",
    "init_mingru_params",
    "init_minlstm_params",
    "init_rnn_params",
]
