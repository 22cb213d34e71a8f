"""``xlstm`` (NX-AI's PyTorch package): ``mLSTMLayer``, ``sLSTMLayer`` and ``xLSTMBlockStack``
(vanilla backends) to and from :class:`jaxrnn.MLSTMLayerParams`, :class:`jaxrnn.SLSTMLayerParams`
and :class:`jaxrnn.XLSTMStackParams`.

The layouts match field by field (matrices ``(out, in)``, headwise maps ``(heads, out, in)``,
norms with xlstm's residual weight ``1 + w``), with three things to know:

- ``sLSTMLayer`` feeds its ``fgate`` module's output to the sLSTM's *input* gate and its
  ``igate`` module's output to the *forget* gate (``i, f = fgate(x_c), igate(x_c)``): the
  converters follow the computation, so ``i.U`` is ``fgate.weight``.
- The vanilla sLSTM cell stores its recurrent kernel as ``(heads, 4 dh, dh)`` (row
  ``g dh + j`` of head ``h`` is row ``j`` of ``W_g``'s block ``h``) and its bias gate-major
  ``(4 d,)``, gates ``(i, f, z, o)``.
- xlstm's layers have optional biases (``bias=True``) and a ``conv1d_kernel_size = 0``
  (no convolution) that jaxrnn's layers do not: they are refused.

Importing a converter imports nothing; ``to_*`` imports ``xlstm`` (and torch) when called.
Only the vanilla (CPU) backends are built: ``sLSTMLayerConfig(backend="vanilla")``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from jaxrnn.cells.mlstm import MLSTMLayerParams
from jaxrnn.cells.slstm import SLSTMLayerParams
from jaxrnn.params import Gate
from jaxrnn.xlstm import XLSTMBlockParams, XLSTMStackParams


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _set(param: Any, value: Any) -> None:
    import torch

    with torch.no_grad():
        param.copy_(torch.from_numpy(np.array(value)).to(param.dtype))


def _no_bias(module: Any, where: str) -> None:
    if getattr(module, "bias", None) is not None:
        raise ValueError(f"{where}: xlstm layers with bias=True are not supported (jaxrnn's "
                         "have no biases there); use bias=False")  # fmt: skip


def _conv(layer: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    conv = getattr(layer.conv1d, "conv", None)
    if conv is None:
        raise ValueError(f"{where}: conv1d_kernel_size = 0 (no convolution) is not supported")
    return _np(conv.weight)[:, 0, :].T, _np(conv.bias)  # (K, D), (D,)


# --- mLSTM layer -------------------------------------------------------------------------------


def from_mlstm_layer(layer: Any, dtype: Any = jnp.float32) -> MLSTMLayerParams:
    """An ``xlstm.mLSTMLayer`` as :class:`jaxrnn.MLSTMLayerParams` (for the cell
    ``"mlstm_layer"``).

    Raises:
        ValueError: a layer with biases.
    """
    where = "from_mlstm_layer"
    for m in (layer.proj_up, layer.proj_down, layer.q_proj, layer.k_proj, layer.v_proj):
        _no_bias(m, where)
    conv_w, conv_b = _conv(layer, where)
    cell = layer.mlstm_cell
    arrays = {
        "W_up": _np(layer.proj_up.weight), "conv_w": conv_w, "conv_b": conv_b,
        "W_q": _np(layer.q_proj.weight), "W_k": _np(layer.k_proj.weight),
        "W_v": _np(layer.v_proj.weight), "W_i": _np(cell.igate.weight),
        "b_i": _np(cell.igate.bias), "W_f": _np(cell.fgate.weight), "b_f": _np(cell.fgate.bias),
        "norm": _np(cell.outnorm.weight), "skip": _np(layer.learnable_skip),
        "W_down": _np(layer.proj_down.weight),
    }  # fmt: skip
    return MLSTMLayerParams(**{k: jnp.asarray(v, dtype) for k, v in arrays.items()})


def _mlstm_config(p: MLSTMLayerParams, context_length: int) -> Any:
    from xlstm import mLSTMLayerConfig

    d, D = p.W_down.shape
    return mLSTMLayerConfig(
        embedding_dim=d, num_heads=int(p.W_i.shape[0]), qkv_proj_blocksize=int(p.W_q.shape[1]),
        conv1d_kernel_size=int(p.conv_w.shape[0]), context_length=context_length,
        proj_factor=(D - 0.5) / d, round_proj_up_to_multiple_of=D,
    )  # fmt: skip


def to_mlstm_layer(p: MLSTMLayerParams, *, context_length: int = 256) -> Any:
    """A new ``xlstm.mLSTMLayer`` (float32) holding ``p``; ``context_length`` bounds the
    sequences its parallel form takes."""
    from xlstm import mLSTMLayer

    layer = mLSTMLayer(_mlstm_config(p, context_length))
    load_mlstm_layer(layer, p)
    return layer


def load_mlstm_layer(layer: Any, p: MLSTMLayerParams) -> None:
    """Copy ``p`` into an existing ``xlstm.mLSTMLayer`` of the same sizes."""
    cell = layer.mlstm_cell
    _set(layer.proj_up.weight, p.W_up)
    _set(layer.conv1d.conv.weight, np.asarray(p.conv_w).T[:, None, :])
    _set(layer.conv1d.conv.bias, p.conv_b)
    for name, value in (("q_proj", p.W_q), ("k_proj", p.W_k), ("v_proj", p.W_v)):
        _set(getattr(layer, name).weight, value)
    _set(cell.igate.weight, p.W_i)
    _set(cell.igate.bias, p.b_i)
    _set(cell.fgate.weight, p.W_f)
    _set(cell.fgate.bias, p.b_f)
    _set(cell.outnorm.weight, p.norm)
    _set(layer.learnable_skip, p.skip)
    _set(layer.proj_down.weight, p.W_down)


# --- sLSTM layer -------------------------------------------------------------------------------


def from_slstm_layer(layer: Any, dtype: Any = jnp.float32) -> SLSTMLayerParams:
    """An ``xlstm.sLSTMLayer`` (vanilla backend) as :class:`jaxrnn.SLSTMLayerParams`."""
    where = "from_slstm_layer"
    conv_w, conv_b = _conv(layer, where)
    cell = layer.slstm_cell
    H = cell.config.num_heads
    d = cell.config.hidden_size
    dh = d // H
    R = _np(cell._recurrent_kernel).reshape(H, 4, dh, dh)  # (heads, gate, out, in)
    b = _np(cell._bias).reshape(4, d)
    # the layer computes i, f, z, o = fgate(x_c), igate(x_c), zgate(x), ogate(x)
    U = [_np(m.weight) for m in (layer.fgate, layer.igate, layer.zgate, layer.ogate)]
    gates = [Gate(U=jnp.asarray(U[g], dtype), W=jnp.asarray(R[:, g], dtype),
                  b=jnp.asarray(b[g], dtype)) for g in range(4)]  # fmt: skip
    return SLSTMLayerParams(conv_w=jnp.asarray(conv_w, dtype), conv_b=jnp.asarray(conv_b, dtype),
                            i=gates[0], f=gates[1], z=gates[2], o=gates[3],
                            norm=jnp.asarray(_np(layer.group_norm.weight), dtype))  # fmt: skip


def _slstm_config(p: SLSTMLayerParams) -> Any:
    from xlstm import sLSTMLayerConfig

    return sLSTMLayerConfig(embedding_dim=int(p.norm.shape[0]), num_heads=int(p.i.W.shape[0]),
                            conv1d_kernel_size=int(p.conv_w.shape[0]), backend="vanilla",
                            dtype="float32")  # fmt: skip


def to_slstm_layer(p: SLSTMLayerParams) -> Any:
    """A new ``xlstm.sLSTMLayer`` (vanilla backend, float32) holding ``p``."""
    from xlstm import sLSTMLayer

    layer = sLSTMLayer(_slstm_config(p))
    load_slstm_layer(layer, p)
    return layer


def load_slstm_layer(layer: Any, p: SLSTMLayerParams) -> None:
    """Copy ``p`` into an existing ``xlstm.sLSTMLayer`` (vanilla backend) of the same sizes."""
    gates = (p.i, p.f, p.z, p.o)
    _set(layer.conv1d.conv.weight, np.asarray(p.conv_w).T[:, None, :])
    _set(layer.conv1d.conv.bias, p.conv_b)
    for module, gate in zip((layer.fgate, layer.igate, layer.zgate, layer.ogate), gates):
        _set(module.weight, gate.U)
    H, dh, _ = p.i.W.shape
    R = np.stack([np.asarray(g.W) for g in gates], axis=1).reshape(H, 4 * dh, dh)
    _set(layer.slstm_cell._recurrent_kernel_, R)
    _set(layer.slstm_cell._bias_, np.concatenate([np.asarray(g.b) for g in gates]))
    _set(layer.group_norm.weight, p.norm)


# --- the block stack ---------------------------------------------------------------------------


def from_xlstm_block_stack(stack: Any, dtype: Any = jnp.float32) -> XLSTMStackParams:
    """An ``xlstm.xLSTMBlockStack`` as :class:`jaxrnn.XLSTMStackParams`."""
    blocks = []
    for block in stack.blocks:
        is_slstm = hasattr(block.xlstm, "slstm_cell")
        layer = (from_slstm_layer if is_slstm else from_mlstm_layer)(block.xlstm, dtype)
        ffn = {}
        if block.ffn is not None:
            _no_bias(block.ffn.proj_up, "from_xlstm_block_stack")
            ffn = {"ffn_norm": jnp.asarray(_np(block.ffn_norm.weight), dtype),
                   "ffn_up": jnp.asarray(_np(block.ffn.proj_up.weight), dtype),
                   "ffn_down": jnp.asarray(_np(block.ffn.proj_down.weight), dtype)}  # fmt: skip
        blocks.append(XLSTMBlockParams(norm=jnp.asarray(_np(block.xlstm_norm.weight), dtype),
                                       layer=layer, **ffn))  # fmt: skip
    post = getattr(stack.post_blocks_norm, "weight", None)
    return XLSTMStackParams(
        blocks=tuple(blocks), post_norm=None if post is None else jnp.asarray(_np(post), dtype)
    )


def to_xlstm_block_stack(p: XLSTMStackParams, *, context_length: int = 256) -> Any:
    """A new ``xlstm.xLSTMBlockStack`` (vanilla backends, float32) holding ``p``.

    Raises:
        ValueError: the blocks of one kind differ in their sizes (xlstm's config has one
            ``mlstm_block`` and one ``slstm_block`` for all), or an sLSTM block's
            feed-forward is absent.
    """
    from xlstm import (
        FeedForwardConfig,
        mLSTMBlockConfig,
        sLSTMBlockConfig,
        xLSTMBlockStack,
        xLSTMBlockStackConfig,
    )

    slstm_at = [l for l, b in enumerate(p.blocks) if isinstance(b.layer, SLSTMLayerParams)]
    mlstm = [b for b in p.blocks if isinstance(b.layer, MLSTMLayerParams)]
    slstm = [p.blocks[l] for l in slstm_at]
    d = int(p.blocks[0].norm.shape[0])
    m_cfg = s_cfg = None
    if mlstm:
        m_cfg = mLSTMBlockConfig(mlstm=_mlstm_config(mlstm[0].layer, context_length))
    if slstm:
        if slstm[0].ffn_up is None or slstm[0].ffn_down is None:
            raise ValueError("to_xlstm_block_stack: expected sLSTM blocks with a feed-forward")
        U = int(slstm[0].ffn_down.shape[1])
        s_cfg = sLSTMBlockConfig(slstm=_slstm_config(slstm[0].layer),
                                 feedforward=FeedForwardConfig(
                                     proj_factor=(U - 0.5) / d, round_proj_up_to_multiple_of=U,
                                     act_fn="gelu"))  # fmt: skip
    cfg = xLSTMBlockStackConfig(mlstm_block=m_cfg, slstm_block=s_cfg, num_blocks=len(p.blocks),
                                embedding_dim=d, slstm_at=slstm_at,
                                context_length=context_length,
                                add_post_blocks_norm=p.post_norm is not None)  # fmt: skip
    stack = xLSTMBlockStack(cfg)
    for block, params in zip(stack.blocks, p.blocks):
        _set(block.xlstm_norm.weight, params.norm)
        if isinstance(params.layer, SLSTMLayerParams):
            load_slstm_layer(block.xlstm, params.layer)
            _set(block.ffn_norm.weight, params.ffn_norm)
            _set(block.ffn.proj_up.weight, params.ffn_up)
            _set(block.ffn.proj_down.weight, params.ffn_down)
        else:
            load_mlstm_layer(block.xlstm, params.layer)
    if p.post_norm is not None:
        _set(stack.post_blocks_norm.weight, p.post_norm)
    return stack


__all__ = [
    "from_mlstm_layer",
    "from_slstm_layer",
    "from_xlstm_block_stack",
    "load_mlstm_layer",
    "load_slstm_layer",
    "to_mlstm_layer",
    "to_slstm_layer",
    "to_xlstm_block_stack",
]
