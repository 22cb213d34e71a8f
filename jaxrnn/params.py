"""The building blocks of every family's parameters: the default initialisers and the ``Gate``.

All parameters are ``typing.NamedTuple``s: pytrees with no registration, immutable
(use ``._replace``), whose key paths read ``.f.W`` in gradients, logs and checkpoints.
Matrices are stored ``(out, in)`` so that code reads like the equations (``U @ x_t``).
Sizes are read from shapes, never stored: ``d_h = params.W.shape[0]``. Each family's
parameter type, its ``init_*_params`` and its equations are in its module of
:mod:`jaxrnn.cells`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.ops import mul
from jaxrnn._src.typing import Array, DType, Float, PRNGKey

Initializer = Callable[[PRNGKey, tuple[int, ...], DType], Array]

# Matrices are stored (out, in): the fan-in is the last axis.
default_input_init: Initializer = jax.nn.initializers.glorot_uniform(in_axis=-1, out_axis=-2)
"""Default for ``U`` and ``V``: Glorot/Xavier uniform on the (out, in) layout."""


def default_recurrent_init(key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
    """Default for ``W``: a random orthogonal matrix (all singular values 1).

    ``Q`` of the QR decomposition of a Gaussian matrix, with column signs fixed by
    ``diag(R)`` so that it is uniform (Haar) on the orthogonal group (Mezzadri 2007).
    The decomposition runs in at least float32 (LAPACK has no bfloat16/float16), and the
    result is cast to ``dtype``. A shape with leading axes (the sLSTM's block-diagonal
    ``W (heads, d_h/heads, d_h/heads)``) gives one such matrix per block, each from its
    own ``fold_in`` of ``key``.
    """
    if len(shape) > 2:
        blocks = [default_recurrent_init(jax.random.fold_in(key, j), shape[-2:], dtype)
                  for j in range(math.prod(shape[:-2]))]  # fmt: skip
        return jnp.stack(blocks).reshape(shape)
    compute = dtype if jnp.finfo(dtype).bits >= 32 else jnp.float32
    n_rows, n_cols = shape
    A = jax.random.normal(key, (max(n_rows, n_cols), min(n_rows, n_cols)), compute)
    Q, R = jnp.linalg.qr(A)
    Q = Q * jnp.sign(jnp.diagonal(R))
    return (Q if n_rows >= n_cols else Q.T).astype(dtype)


default_bias_init: Initializer = jax.nn.initializers.zeros
"""Default for every bias: zeros (the LSTM forget gate adds ``forget_bias``)."""


def draw_dtype(dtype: DType) -> DType:
    """The dtype random draws are made in: ``dtype``, or float32 for 16-bit floats (whose
    rounding is too coarse for the transforms applied to the draws), cast afterwards."""
    return dtype if jnp.finfo(dtype).bits >= 32 else jnp.float32


@dataclasses.dataclass(frozen=True)
class FanInNormal:
    """An initialiser: ``normal(0, scale / fan_in)`` with ``fan_in`` the product of the
    shape's axes ``fan_in_axes`` (``(1,)`` for an ``(out, in)`` matrix); Flax's
    ``variance_scaling(scale, "fan_in", "normal")`` on the same array.

    Example:
        >>> import jax
        >>> w = FanInNormal(1.0, (1,))(jax.random.key(0), (256, 400), jnp.float32)
        >>> round(float(w.std() * 20), 1)   # 1 / sqrt(400) = 0.05
        1.0
    """

    scale: float
    fan_in_axes: tuple[int, ...]

    def __call__(self, key: PRNGKey, shape: tuple[int, ...], dtype: DType) -> Array:
        fan_in = math.prod(shape[i] for i in self.fan_in_axes)
        z = jax.random.normal(key, shape, draw_dtype(dtype))
        return (z * math.sqrt(self.scale / fan_in)).astype(dtype)


class Gate(NamedTuple):
    """One gate of a gated cell (LSTM, GRU): ``act(U x_t + W h_{t-1} + b)``.

    Attributes:
        U: input matrix, shape ``(d_h, d_in)``.
        W: recurrent matrix, shape ``(d_h, d_h)``.
        b: bias, shape ``(d_h,)``.
    """

    U: Float[Array, "d_h d_in"]
    W: Float[Array, "d_h d_h"]
    b: Float[Array, " d_h"]


def default_initializers() -> dict[str, Initializer]:
    """The default initialiser of each parameter role (:data:`jaxrnn.cell.ROLES`)."""
    return {"input": default_input_init, "recurrent": default_recurrent_init,
            "bias": default_bias_init}  # fmt: skip


def init_gate(
    key: PRNGKey,
    d_in: int,
    d_h: int,
    dtype: DType,
    U_init: Initializer,
    W_init: Initializer,
    b_init: Initializer,
) -> Gate:
    """One :class:`Gate`: ``U (d_h, d_in)``, ``W (d_h, d_h)``, ``b (d_h,)`` from one key each."""
    k_U, k_W, k_b = jax.random.split(key, 3)
    return Gate(
        U=U_init(k_U, (d_h, d_in), dtype),
        W=W_init(k_W, (d_h, d_h), dtype),
        b=b_init(k_b, (d_h,), dtype),
    )


def gate_pre(gate: Gate, x_t: Array, h_prev: Array) -> Array:
    """The pre-activation of one gate, ``U x_t + W h_{t-1} + b``, batched over leading axes."""
    return mul(gate.U, x_t) + mul(gate.W, h_prev) + gate.b


__all__ = [
    "FanInNormal",
    "Gate",
    "Initializer",
    "default_bias_init",
    "default_initializers",
    "default_input_init",
    "default_recurrent_init",
    "draw_dtype",
    "gate_pre",
    "init_gate",
]
