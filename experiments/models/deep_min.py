r"""The deep minGRU / minLSTM of Feng et al. 2024: residual blocks of a min cell and an MLP.

Every block :math:`l` updates a residual stream :math:`x_t` of width :math:`d` at each step:

.. math::

    x_t \leftarrow x_t + h^{(l)}_t, \quad
    h^{(l)}_t = \mathrm{Cell}^{(l)}(h^{(l)}_{t-1}, \hat x_t), \quad
    x_t \leftarrow x_t + W_2\, \mathrm{gelu}(W_1 \hat x_t + b_1) + b_2

where :math:`\hat x_t = x_t / \mathrm{rms}(x_t)` is the stream normalised before each
sub-block (and once more before the readout). Why normalise: the min cells' candidate
:math:`\tilde h_t = U_h \hat x_t + b_h` has no ``tanh`` and every block adds to the stream,
so without it the stream's scale can grow with depth and training, and the gate
pre-activations :math:`U_z x_t` with it, until the gates saturate; RMS normalisation keeps
each sub-block's input at unit scale. It has no learned gain: each normalised vector only
feeds a linear map (:math:`U`, :math:`W_1`, :math:`V`), which would absorb it.

The state is the tuple of every block's :math:`h^{(l)}`; :func:`deep_scan` reads a whole
sequence in parallel from given states (so truncated BPTT can carry them across chunks),
with optional ``lengths`` for padded batches, and
:func:`deep_step` reads one step with the cell's step, which is what generation runs. The
blocks take any registered cell (``jaxrnn.get_cell``): the minGRU and minLSTM are the paper's.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

import jaxrnn
from experiments.models.registry import cell_name

MIN_MODELS = ("mingru", "minlstm")
"""The cells whose recipe is the deep one by default (the paper's); any registered cell whose
output has the carry's width can run it (``init_deep``)."""
BLOCK_MODELS = ("lru", "mlstm")
"""The cells that only run inside residual blocks: the LRU (outputs of its input's width, and
linear in its inputs: the blocks' MLPs give the nonlinearity) and the mLSTM layer (``d -> d``,
the xLSTM's mLSTM block without its residual). ``charlm`` builds them as blocks."""
DEEP_MODELS = (*MIN_MODELS, "rglru", *BLOCK_MODELS)
"""The models that ``--recipe=deep`` builds as residual blocks: the min cells, the Hawk block
(model ``rglru``: a Hawk / Griffin stack with MLPs) and the :data:`BLOCK_MODELS`."""


def _method(cell: jaxrnn.Cell) -> str:
    """A cell linear in its carry runs in parallel over time; the others loop."""
    return "parallel" if cell.coefficients is not None else "sequential"


class DeepBlock(NamedTuple):
    """One block: a min cell ``(d, d)`` and the MLP ``W_1 (d_ff, d)``, ``W_2 (d, d_ff)``."""

    cell: Any
    W_1: jax.Array
    b_1: jax.Array
    W_2: jax.Array
    b_2: jax.Array


def rms_norm(x: jax.Array, eps: float = 1e-6) -> jax.Array:
    """``x / rms(x)`` over the last axis."""
    return x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps)


def init_deep(
    key: jax.Array, model: str, d: int, num_layers: int, expansion: int = 4
) -> tuple[DeepBlock, ...]:
    """``num_layers`` blocks of width ``d`` with a ``cell`` of kind ``model`` and an MLP of
    ``expansion * d`` hidden units.

    Example:
        >>> blocks = init_deep(jax.random.key(0), "mingru", 4, 2)
        >>> len(blocks), blocks[0].W_1.shape
        (2, (16, 4))
    """
    cell = jaxrnn.get_cell(cell_name(model), "model")
    d_ff = expansion * d
    blocks = []
    for k in jax.random.split(key, num_layers):
        k_cell, k_1, k_2 = jax.random.split(k, 3)
        blocks.append(
            DeepBlock(
                cell=cell.init(k_cell, d, d),
                W_1=jax.random.normal(k_1, (d_ff, d), jnp.float32) / jnp.sqrt(d),
                b_1=jnp.zeros((d_ff,), jnp.float32),
                W_2=jax.random.normal(k_2, (d, d_ff), jnp.float32) / jnp.sqrt(d_ff),
                b_2=jnp.zeros((d,), jnp.float32),
            )
        )
    return tuple(blocks)


def zero_states(blocks: tuple[DeepBlock, ...], batch: int) -> tuple[Any, ...]:
    """Every block's initial carry (``h_0 = 0`` for the min cells), leading axis ``batch``."""
    out = []
    for b in blocks:
        cell = jaxrnn.cell_for(b.cell)
        out.append(cell.initial_carry(cell.dims(b.cell), (batch,), jnp.float32))
    return tuple(out)


def _mlp(block: DeepBlock, x: jax.Array) -> jax.Array:
    return jax.nn.gelu(rms_norm(x) @ block.W_1.T + block.b_1) @ block.W_2.T + block.b_2


def deep_scan(
    blocks: tuple[DeepBlock, ...],
    xs: jax.Array,
    states: tuple[Any, ...] | None = None,
    lengths: jax.Array | None = None,
) -> tuple[tuple[Any, ...], jax.Array]:
    """``(states_T, normalised outputs (B, T, d))`` reading ``xs (B, T, d)`` from ``states``
    (``None``: zeros).

    With ``lengths (B,)`` every block's scan holds its state past each sequence's end and
    outputs zeros there, so the outputs at the valid steps and ``states_T`` (the states after
    the last valid step) do not depend on what the padding steps hold; the outputs at the
    padding steps themselves are meaningless.
    """
    new = []
    for block, h0 in zip(blocks, states or (None,) * len(blocks)):
        cell = jaxrnn.cell_for(block.cell)
        h_T, hs = jaxrnn.cell_scan(block.cell, rms_norm(xs), h0, lengths=lengths,
                                   method=_method(cell))  # fmt: skip
        xs = xs + hs
        xs = xs + _mlp(block, xs)
        new.append(h_T)
    return tuple(new), rms_norm(xs)


def deep_step(
    blocks: tuple[DeepBlock, ...], states: tuple[Any, ...], x: jax.Array
) -> tuple[tuple[Any, ...], jax.Array]:
    """One step of :func:`deep_scan`: ``(states, normalised output (B, d))`` from ``x (B, d)``."""
    new = []
    for block, h_prev in zip(blocks, states):
        h, y = jaxrnn.cell_for(block.cell).step(block.cell, h_prev, rms_norm(x))
        x = x + y
        x = x + _mlp(block, x)
        new.append(h)
    return tuple(new), rms_norm(x)
