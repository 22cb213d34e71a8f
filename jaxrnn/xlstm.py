"""The xLSTM block stack (``xlstm.xLSTMBlockStack``): pre-norm residual blocks of the mLSTM
and sLSTM layers (the cells ``"mlstm_layer"`` and ``"slstm_layer"``), a gated feed-forward
after each sLSTM layer, and a final layer norm.

.. math::

    x \\leftarrow x + \\mathrm{layer}(\\mathrm{LN}(x)), \\qquad
    x \\leftarrow x + \\mathrm{FFN}(\\mathrm{LN}(x)) \\ \\text{(sLSTM blocks)}, \\qquad
    y = \\mathrm{LN}(x)

Each layer runs on its cell's sequence hook (:func:`jaxrnn.cell_scan`); decoding runs one
step of every block (:func:`xlstm_stack_step`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src import checks
from jaxrnn._src import xlstm_parts as xp
from jaxrnn._src.typing import Array, DType, Float, Int, PRNGKey
from jaxrnn.cell import cell_for, get_cell
from jaxrnn.layers import cell_scan


class XLSTMBlockParams(NamedTuple):
    """One block: ``x + layer(LN(x))``, then (an sLSTM block) ``x + FFN(LN(x))``.

    Attributes:
        norm: the pre-norm's weight ``(d,)`` (scale ``1 + norm``).
        layer: an ``MLSTMLayerParams`` or ``SLSTMLayerParams``.
        ffn_norm: the feed-forward's pre-norm weight ``(d,)``, or None (no feed-forward).
        ffn_up: ``(2 U, d)``: ``[g; u] = ffn_up x``.
        ffn_down: ``(d, U)``: ``ffn_down (gelu(g) * u)``.
    """

    norm: Float[Array, " d"]
    layer: Any
    ffn_norm: Float[Array, " d"] | None = None
    ffn_up: Float[Array, "two_U d"] | None = None
    ffn_down: Float[Array, "d U"] | None = None


class XLSTMStackParams(NamedTuple):
    """The block stack: its blocks, bottom first, and the final norm's weight (or None)."""

    blocks: tuple[XLSTMBlockParams, ...]
    post_norm: Float[Array, " d"] | None


def init_xlstm_stack(
    key: PRNGKey,
    d: int,
    *,
    num_blocks: int = 2,
    slstm_at: Sequence[int] = (1,),
    mlstm_options: dict[str, Any] | None = None,
    slstm_options: dict[str, Any] | None = None,
    ffn_proj_factor: float = 1.3,
    post_norm: bool = True,
    dtype: DType = jnp.float32,
) -> XLSTMStackParams:
    """A block stack of size ``d``: sLSTM blocks at ``slstm_at``, mLSTM blocks elsewhere.

    Args:
        key: PRNG key (block ``l`` uses ``fold_in(key, l)``).
        d: embedding size.
        num_blocks: number of blocks.
        slstm_at: indices of the sLSTM blocks.
        mlstm_options, slstm_options: the layers' options (``num_heads``, ``proj_factor``,
            ``conv_kernel``, ...; see the cells' ``init_options``).
        ffn_proj_factor: the feed-forward's inner size ``ffn_proj_factor d`` rounded up to a
            multiple of 64.
        post_norm: add the final layer norm.
        dtype: parameter dtype.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_xlstm_stack(jax.random.key(0), 16, num_blocks=2, slstm_at=(1,),
        ...                             mlstm_options={"num_heads": 2},
        ...                             slstm_options={"num_heads": 2})
        >>> carries, ys = jaxrnn.xlstm_stack(p, jnp.ones((2, 5, 16)))
        >>> ys.shape, type(p.blocks[1].layer).__name__
        ((2, 5, 16), 'SLSTMLayerParams')
    """
    checks.check_size("d", d)
    checks.check_static_int(num_blocks, "num_blocks", "init_xlstm_stack", minimum=1)
    if any(not 0 <= s < num_blocks for s in slstm_at):
        raise ValueError(
            f"init_xlstm_stack: expected slstm_at in range({num_blocks}), got {tuple(slstm_at)}"
        )
    blocks = []
    for l in range(num_blocks):
        k = jax.random.fold_in(key, l)
        zeros = jnp.zeros((d,), dtype)
        if l in slstm_at:
            layer = get_cell("slstm_layer").init(k, d, d, dtype=dtype, **(slstm_options or {}))
            U = xp.round_up(ffn_proj_factor * d)
            k_up, k_down = jax.random.split(jax.random.fold_in(k, 1 << 20))
            blocks.append(XLSTMBlockParams(
                norm=zeros, layer=layer, ffn_norm=zeros,
                ffn_up=xp.small_init(d)(k_up, (2 * U, d), dtype),
                ffn_down=xp.wang_init(d, num_blocks)(k_down, (d, U), dtype),
            ))  # fmt: skip
        else:
            layer = get_cell("mlstm_layer").init(k, d, d, dtype=dtype, **(mlstm_options or {}))
            blocks.append(XLSTMBlockParams(norm=zeros, layer=layer))
    return XLSTMStackParams(blocks=tuple(blocks), post_norm=jnp.zeros((d,), dtype) if post_norm
                            else None)  # fmt: skip


def _check(params: Any, where: str) -> None:
    checks.check_type(params, XLSTMStackParams, where)
    for l, block in enumerate(params.blocks):
        checks.check_type(block, XLSTMBlockParams, where, name=f"params.blocks[{l}]")
        cell_for(block.layer, f"{where}: block {l}")


def _ffn(block: XLSTMBlockParams, x: Array) -> Array:
    if block.ffn_norm is None or block.ffn_up is None or block.ffn_down is None:
        return x
    return x + xp.gated_ffn(block.ffn_up, block.ffn_down, xp.layer_norm(x, block.ffn_norm))


def xlstm_initial_carries(params: XLSTMStackParams, batch: tuple[int, ...] = (),
                          dtype: DType | None = None) -> tuple[Any, ...]:  # fmt: skip
    """Every block's initial carry for leading axes ``batch`` (the cells' defaults)."""
    out = []
    for block in params.blocks:
        cell = cell_for(block.layer)
        dt = dtype or checks.param_dtype(block.layer)
        out.append(cell.initial_carry(cell.dims(block.layer), tuple(batch), dt))
    return tuple(out)


def xlstm_stack(
    params: XLSTMStackParams,
    xs: Float[Array, "... T d"],
    carries: Sequence[Any] | None = None,
    *,
    lengths: Int[Array, "..."] | None = None,
) -> tuple[tuple[Any, ...], Float[Array, "... T d"]]:
    """Run the block stack over ``xs (..., T, d)``: ``(final carries, ys (..., T, d))``.

    Args:
        params: :class:`XLSTMStackParams`.
        xs: inputs ``(..., T, d)``.
        carries: one carry per block (``MLSTMLayerState`` / ``SLSTMLayerState``), or None.
        lengths: optional integers ``xs.shape[:-2]``: padding steps hold every carry and
            give zero outputs.

    Raises:
        TypeError: ``params`` is not an ``XLSTMStackParams``.
        ValueError: a shape does not match.
    """
    where = "xlstm_stack"
    _check(params, where)
    if carries is None:
        carries = (None,) * len(params.blocks)
    if len(carries) != len(params.blocks):
        raise ValueError(
            f"{where}: expected one carry per block ({len(params.blocks)}), got {len(carries)}"
        )
    x = checks.as_array(xs, "xs", where)
    finals = []
    for block, carry in zip(params.blocks, carries):
        c_T, y = cell_scan(block.layer, xp.layer_norm(x, block.norm), carry, lengths=lengths)
        finals.append(c_T)
        x = _ffn(block, x + y)
    if params.post_norm is not None:
        x = xp.layer_norm(x, params.post_norm)
    if lengths is not None:
        valid = jnp.arange(x.shape[-2]) < jnp.asarray(lengths)[..., None]
        x = jnp.where(valid[..., None], x, jnp.zeros_like(x))
    return tuple(finals), x


def xlstm_stack_step(
    params: XLSTMStackParams, carries: Sequence[Any], x_t: Float[Array, "... d"]
) -> tuple[tuple[Any, ...], Float[Array, "... d"]]:
    """One step of every block (decoding): ``(carries_t, y_t)``."""
    _check(params, "xlstm_stack_step")
    x = x_t
    out = []
    for block, carry in zip(params.blocks, carries):
        c_t, y = cell_for(block.layer).step(block.layer, carry, xp.layer_norm(x, block.norm))
        out.append(c_t)
        x = _ffn(block, x + y)
    if params.post_norm is not None:
        x = xp.layer_norm(x, params.post_norm)
    return tuple(out), x


def make_xlstm_step_fn(
    E: Float[Array, "n_vocab d"],
    params: XLSTMStackParams,
    V: Float[Array, "d_out d"],
    b_o: Float[Array, " d_out"],
) -> Any:
    """A decoder step of the block stack for :func:`jaxrnn.greedy_decode` and the others:
    ``step_fn(carries, y_prev (B,)) -> (carries, logits (B, d_out))``, with
    ``x_t = E[y_{t-1}]`` and ``logits_t = V y_t + b_o``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> p = jaxrnn.init_xlstm_stack(jax.random.key(0), 8, mlstm_options={"num_heads": 2},
        ...                             slstm_options={"num_heads": 2})
        >>> E, V = jnp.ones((5, 8)), jnp.ones((5, 8))
        >>> step = jaxrnn.make_xlstm_step_fn(E, p, V, jnp.zeros(5))
        >>> carries = jaxrnn.xlstm_initial_carries(p, (2,))
        >>> jaxrnn.greedy_decode(step, carries, 1, max_len=3, end_token=0).tokens.shape
        (2, 3)
    """
    _check(params, "make_xlstm_step_fn")

    def step_fn(carries: Any, y_prev: Array) -> tuple[Any, Array]:
        carries, y_t = xlstm_stack_step(params, carries, E[y_prev])
        return carries, y_t @ V.T + b_o

    return step_fn


__all__ = [
    "XLSTMBlockParams",
    "XLSTMStackParams",
    "init_xlstm_stack",
    "make_xlstm_step_fn",
    "xlstm_initial_carries",
    "xlstm_stack",
    "xlstm_stack_step",
]
