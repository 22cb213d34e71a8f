"""RecurrentGemma (``recurrentgemma.jax``): its ``RGLRU``, ``Conv1D`` and ``RecurrentBlock``.

RecurrentGemma's parameter trees are Flax Linen variables:

- ``layers.RGLRU(width, num_heads)``: ``a_param (d,)`` (our ``Λ``), ``a_gate`` and
  ``input_gate``, each a ``BlockDiagonalLinear`` with ``w (H, in, out)`` and ``b (H, out)``.
  Ours stores each block ``(out, in)``, so ``W_a = a_gate.w`` with its last two axes
  swapped and ``b_a = a_gate.b`` flattened. Only the real RG-LRU (``only_real=True``, the
  default) is represented: a tree with ``a_imag_param`` is refused.
- ``layers.Conv1D(width, temporal_width)``: ``w (temporal_width, width)``, oldest tap first,
  and ``b (width,)``: our ``W_conv`` and ``b_conv`` unchanged.
- ``modules.RecurrentBlock(width, num_heads, lru_width)``: ``linear_y``, ``linear_x``,
  ``linear_out`` (Flax ``Dense``: ``kernel (in, out)``, ``bias``), ``conv_1d`` and ``rg_lru``:
  our ``W_y``, ``W_u``, ``W_o`` (transposed), ``W_conv``, ``rglru``.

The equations agree (``tests/jaxrnn/test_interop_recurrentgemma.py`` checks the forward pass
and the gradients of each): RecurrentGemma's ``segment_pos == 0`` is our ``resets``, and its
``RecurrentBlockCache(rg_lru_state, conv1d_state)`` is our ``HawkState(h, window)``
(:func:`from_recurrentgemma_cache`). Nothing here imports ``recurrentgemma``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxrnn.cells.rglru import HAWK_CELL, RGLRU_CELL, HawkParams, HawkState, RGLRUParams
from jaxrnn.interop._fused import to_jax as _to_array


def to_jax(x: Any) -> Any:
    """A JAX array (or tracer: the converters work under ``jit`` and ``grad``) as it is;
    anything else (NumPy) as a JAX array."""
    return x if isinstance(x, jax.Array) else _to_array(x)


def _unwrap(variables: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    p = variables.get("params", variables) if hasattr(variables, "get") else None
    if p is None or not all(k in p for k in keys):
        got = sorted(p) if p is not None else type(variables).__name__
        raise ValueError(f"{where}: expected RecurrentGemma variables with {keys}, got {got}")
    return p


def _block(linear: Any, where: str, name: str) -> tuple[Any, Any]:
    """``(W (H, out, in), b (H out,))`` of a ``BlockDiagonalLinear``'s ``w (H, in, out)``, ``b``."""
    w, b = to_jax(linear["w"]), to_jax(linear["b"])
    if w.ndim != 3 or b.shape != (w.shape[0], w.shape[2]):
        raise ValueError(
            f"{where}: expected {name} to hold w (num_heads, in, out) and b (num_heads, out), "
            f"got {tuple(w.shape)} and {tuple(b.shape)}"
        )
    return jnp.swapaxes(w, 1, 2), b.reshape(-1)


def from_recurrentgemma_rglru(variables: Any) -> RGLRUParams:
    """Convert the variables of a ``recurrentgemma.jax.layers.RGLRU`` (``only_real=True``).

    Args:
        variables: ``rglru.init(...)`` output, or its ``"params"`` entry.

    Returns:
        ``RGLRUParams`` with ``a_param = Λ``, ``W_a[h] = a_gate.w[h]^T``, ``b_a = a_gate.b``
        flattened, ``W_x``, ``b_x`` likewise from ``input_gate``.

    Raises:
        ValueError: missing entries, shapes that do not fit, or a complex RG-LRU.
    """
    where = "from_recurrentgemma_rglru"
    p = _unwrap(variables, ("a_param", "a_gate", "input_gate"), where)
    if "a_imag_param" in p:
        raise ValueError(
            f"{where}: expected a real RG-LRU (only_real=True); a complex one (a_imag_param) "
            "has no jaxrnn equivalent"
        )
    W_a, b_a = _block(p["a_gate"], where, "a_gate")
    W_x, b_x = _block(p["input_gate"], where, "input_gate")
    params = RGLRUParams(a_param=to_jax(p["a_param"]), W_a=W_a, b_a=b_a, W_x=W_x, b_x=b_x)
    RGLRU_CELL.check(params, where)
    return params


def to_recurrentgemma_rglru(params: RGLRUParams) -> dict[str, Any]:
    """Variables ``{"params": ...}`` for ``RGLRU(width=d, num_heads=H)``.

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import from_recurrentgemma_rglru, to_recurrentgemma_rglru
        >>> p = jaxrnn.init_rglru_params(jax.random.key(0), 8, num_heads=2)
        >>> v = to_recurrentgemma_rglru(p)
        >>> v["params"]["a_gate"]["w"].shape, v["params"]["input_gate"]["b"].shape
        ((2, 4, 4), (2, 4))
        >>> bool((from_recurrentgemma_rglru(v).W_a == p.W_a).all())
        True
    """
    dims = RGLRU_CELL.check(params, "to_recurrentgemma_rglru")
    H = dims["num_heads"]

    def block(W: Any, b: Any) -> dict[str, Any]:
        return {"w": jnp.swapaxes(W, 1, 2), "b": b.reshape(H, -1)}

    return {"params": {"a_param": params.a_param, "a_gate": block(params.W_a, params.b_a),
                       "input_gate": block(params.W_x, params.b_x)}}  # fmt: skip


def from_recurrentgemma_conv1d(variables: Any) -> tuple[Any, Any]:
    """``(W_conv (w, d), b_conv (d,))`` from the variables of a ``layers.Conv1D`` (the same
    arrays: taps oldest first)."""
    p = _unwrap(variables, ("w", "b"), "from_recurrentgemma_conv1d")
    return to_jax(p["w"]), to_jax(p["b"])


def to_recurrentgemma_conv1d(W_conv: Any, b_conv: Any) -> dict[str, Any]:
    """Variables ``{"params": {"w", "b"}}`` for ``Conv1D(width=d, temporal_width=w)``."""
    return {"params": {"w": W_conv, "b": b_conv}}


def from_recurrentgemma_recurrent_block(variables: Any) -> HawkParams:
    """Convert the variables of a ``recurrentgemma.jax.modules.RecurrentBlock``.

    Args:
        variables: ``block.init(...)`` output, or its ``"params"`` entry.

    Returns:
        ``HawkParams``: ``W_y = linear_y.kernel^T``, ``W_u = linear_x.kernel^T``,
        ``W_o = linear_out.kernel^T`` with their biases, ``W_conv``, ``b_conv`` from
        ``conv_1d``, ``rglru`` from ``rg_lru``.

    Raises:
        ValueError: missing entries or shapes that do not fit.
    """
    where = "from_recurrentgemma_recurrent_block"
    p = _unwrap(variables, ("linear_y", "linear_x", "linear_out", "conv_1d", "rg_lru"), where)
    W_conv, b_conv = from_recurrentgemma_conv1d(p["conv_1d"])
    params = HawkParams(
        W_y=to_jax(p["linear_y"]["kernel"]).T, b_y=to_jax(p["linear_y"]["bias"]),
        W_u=to_jax(p["linear_x"]["kernel"]).T, b_u=to_jax(p["linear_x"]["bias"]),
        W_conv=W_conv, b_conv=b_conv, rglru=from_recurrentgemma_rglru(p["rg_lru"]),
        W_o=to_jax(p["linear_out"]["kernel"]).T, b_o=to_jax(p["linear_out"]["bias"]),
    )  # fmt: skip
    HAWK_CELL.check(params, where)
    return params


def to_recurrentgemma_recurrent_block(params: HawkParams) -> dict[str, Any]:
    """Variables ``{"params": ...}`` for ``RecurrentBlock(width, num_heads, lru_width)``
    (RecurrentGemma's block has ``d_in = d_h = width``).

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.interop import (from_recurrentgemma_recurrent_block,
        ...                             to_recurrentgemma_recurrent_block)
        >>> p = jaxrnn.init_hawk_params(jax.random.key(0), 4, 4, lru_width=6, num_heads=2)
        >>> v = to_recurrentgemma_recurrent_block(p)
        >>> v["params"]["linear_x"]["kernel"].shape, v["params"]["conv_1d"]["w"].shape
        ((4, 6), (4, 6))
        >>> bool((from_recurrentgemma_recurrent_block(v).W_o == p.W_o).all())
        True
    """
    HAWK_CELL.check(params, "to_recurrentgemma_recurrent_block")
    return {"params": {
        "linear_y": {"kernel": params.W_y.T, "bias": params.b_y},
        "linear_x": {"kernel": params.W_u.T, "bias": params.b_u},
        "linear_out": {"kernel": params.W_o.T, "bias": params.b_o},
        "conv_1d": to_recurrentgemma_conv1d(params.W_conv, params.b_conv)["params"],
        "rg_lru": to_recurrentgemma_rglru(params.rglru)["params"],
    }}  # fmt: skip


def from_recurrentgemma_cache(cache: Any) -> HawkState:
    """A ``RecurrentBlockCache(rg_lru_state, conv1d_state)`` as ``HawkState(window, h)``
    (build RecurrentGemma's cache from ``state.h`` and ``state.window`` the other way)."""
    return HawkState(window=to_jax(cache.conv1d_state), h=to_jax(cache.rg_lru_state))


__all__ = [
    "from_recurrentgemma_cache",
    "from_recurrentgemma_conv1d",
    "from_recurrentgemma_recurrent_block",
    "from_recurrentgemma_rglru",
    "to_recurrentgemma_conv1d",
    "to_recurrentgemma_recurrent_block",
    "to_recurrentgemma_rglru",
]
