"""The decoder step of any cell: embed the previous token, take one step, read out logits.

:func:`make_step_fn` builds ``step_fn(carry, y_prev) -> (carry, logits)`` for
:func:`~jaxrnn.decode.greedy_decode`, :func:`~jaxrnn.decode.sample_decode` and
:func:`~jaxrnn.decode.beam_search` from any registered cell's parameters (each family's
``make_*_step_fn`` is this function with its cell).
"""

from __future__ import annotations

from typing import Any

import jax

from jaxrnn._src import checks
from jaxrnn._src.typing import Array, Float, Int
from jaxrnn.cell import Cell, cell_for
from jaxrnn.decode._checks import check_embed_readout, check_matrix
from jaxrnn.decode.greedy import StepFn


def make_step_fn(
    E: Float[Array, "n_vocab d_in"],
    params: Any,
    V: Float[Array, "d_out d_y"] | None = None,
    b_o: Float[Array, " d_out"] | None = None,
    *,
    cell: Cell | None = None,
    where: str = "make_step_fn",
) -> StepFn:
    r"""A decoder step for any cell: embedding, one step of the cell, linear readout.

    .. math::

        x_t = E[y_{t-1}], \quad (c_t, y_t) = \mathrm{step}(\theta, c_{t-1}, x_t), \quad
        \mathrm{logits}_t = V y_t + b_o

    Args:
        E: embedding matrix, shape ``(n_vocab, d_in)`` (row ``y`` embeds token ``y``).
        params: the parameters of a registered cell (``LSTMParams``, ...), input size
            ``d_in``.
        V: readout matrix ``(d_out, d_y)`` for the cell's output ``y_t`` of size ``d_y``
            (``d_h`` for most cells). ``None``: the cell's own readout (the vanilla RNN's
            ``V s_t + b_o``).
        b_o: readout bias ``(d_out,)`` (with ``V``).
        cell: the cell (default: the one registered for ``type(params)``).
        where: the name errors are reported under.

    Returns:
        ``step_fn(carry, y_prev: (B,) ints) -> (carry, logits (B, d_out))``; the carry is
        the cell's, with leaves ``(B, ...)``.

    Raises:
        TypeError: ``params`` of no registered cell, or an array not floating.
        ValueError: a shape does not match ``params``, or no readout.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.decode import greedy_decode, make_step_fn
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> p = jaxrnn.init_gru_params(k[0], d_in=4, d_h=8)
        >>> E, V = jax.random.normal(k[1], (6, 4)), jax.random.normal(k[2], (6, 8))
        >>> step = make_step_fn(E, p, V, jnp.zeros(6))
        >>> greedy_decode(step, jnp.zeros((2, 8)), 1, max_len=5, end_token=0).tokens.shape
        (2, 5)
    """
    cell = cell if cell is not None else cell_for(params, where)
    dims = cell.check(params, where)
    d_in = dims["d_in"]
    dtype = checks.param_dtype(params)
    carry = jax.eval_shape(lambda: cell.initial_carry(dims, (), dtype))
    x = jax.ShapeDtypeStruct((d_in,), dtype)
    y = jax.eval_shape(lambda c, x_t: cell.step(params, c, x_t)[1], carry, x)
    if V is None:
        readout = cell.readout
        if readout is None:
            raise ValueError(
                f"{where}: expected a readout V (d_out, d_y) and b_o (d_out,) for the cell "
                f"{cell.name!r}, which has none of its own"
            )
        E = check_matrix(E, (None, d_in), "E", f"(n_vocab, d_in={d_in})", where)

        def step_own(carry: Any, y_prev: Int[Array, " B"]) -> tuple[Any, Array]:
            carry_t, y_t = cell.step(params, carry, E[y_prev])
            return carry_t, readout(params, y_t)

        return step_own
    E, V, b_o = check_embed_readout(E, V, b_o, d_in, y.shape[-1], where)

    def step_fn(carry: Any, y_prev: Int[Array, " B"]) -> tuple[Any, Array]:
        carry_t, y_t = cell.step(params, carry, E[y_prev])
        return carry_t, y_t @ V.T + b_o

    return step_fn


__all__ = ["make_step_fn"]
