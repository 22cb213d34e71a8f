"""Layers on top of the scans: stacks, bidirectional layers, resets, carries, dropout.

A *layer's* parameters are either one ``RNNParams`` / ``LSTMParams`` / ``GRUParams`` (a
unidirectional layer) or a :class:`Bidirectional` ``(fwd, bwd)`` pair of them. A *stack*
is a tuple of layers, bottom first: layer ``l + 1`` reads the (merged) outputs of layer
``l``. The final states come back with the same structure: one state per layer, a
``Bidirectional(fwd, bwd)`` pair for a bidirectional layer.

For the vanilla RNN, a layer's output is its state sequence ``s_t``; the readout
``V s_t + b_o`` is applied by the top layer only (lower layers may carry a readout of
size ``d_out = 0``: ``V`` of shape ``(0, d_h)``, see :func:`jaxrnn.without_readout`). For a
bidirectional top layer the logits of the two directions are summed, whatever ``merge``:
one linear readout ``[V_fwd, V_bwd] [s_fwd; s_bwd] + b_o^fwd + b_o^bwd``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict, Unpack, overload

import jax
import jax.numpy as jnp

from jaxrnn import _checks, _stack_io
from jaxrnn._layer_direction import _direction
from jaxrnn._renames import MISSING, alias, renamed
from jaxrnn._typing import Array, Bool, Float, Int, PRNGKey
from jaxrnn.cells import _rnn_readout
from jaxrnn.layer_params import MERGES, Bidirectional
from jaxrnn.params import GRUParams, LSTMParams, LSTMState, MinGRUParams, MinLSTMParams, RNNParams


def _check_stack(params: Any, where: str) -> tuple[Any, ...]:
    if isinstance(
        params, (RNNParams, LSTMParams, GRUParams, MinGRUParams, MinLSTMParams, Bidirectional)
    ):
        params = (params,)
    if not isinstance(params, (tuple, list)) or not params:
        raise TypeError(
            f"{where}: expected params to be a non-empty tuple of layers (RNNParams, "
            f"LSTMParams, GRUParams, MinGRUParams, MinLSTMParams or Bidirectional pairs), "
            f"got {type(params).__name__}"
        )
    return tuple(params)


class StackOptions(TypedDict, total=False):
    """The keyword arguments of :func:`stack` other than ``return_carries``."""

    seq_lengths: Int[Array, "..."] | None
    lengths: Int[Array, "..."] | None
    resets: Bool[Array, "... T"] | None
    merge: str
    dropout: float
    key: PRNGKey | None
    time_major: bool
    reverse: bool
    keep_order: bool
    unroll: int
    remat: int | None
    dtype: Any
    initial_state: Any


# stack's result has a third entry exactly when return_carries is True.
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: Literal[False] = False,
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array]: ...
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: Literal[True],
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array, tuple[Any, ...]]: ...
@overload
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    return_carries: bool,
    **options: Unpack[StackOptions],
) -> tuple[tuple[Any, ...], Array] | tuple[tuple[Any, ...], Array, tuple[Any, ...]]: ...
def stack(
    params: Sequence[Any],
    xs: Float[Array, "... T d_in"],
    initial_carry: Sequence[Any] | None = None,
    *,
    seq_lengths: Int[Array, "..."] | None = None,
    lengths: Int[Array, "..."] | None = None,
    resets: Bool[Array, "... T"] | None = None,
    merge: str = "concat",
    dropout: float = 0.0,
    key: PRNGKey | None = None,
    return_carries: bool = False,
    time_major: bool = False,
    reverse: bool = False,
    keep_order: bool = False,
    unroll: int = 1,
    remat: int | None = None,
    dtype: Any = None,
    initial_state: Any = MISSING,
) -> tuple[tuple[Any, ...], Array] | tuple[tuple[Any, ...], Array, tuple[Any, ...]]:
    r"""Run a stack of RNN, GRU or LSTM layers, each uni- or bidirectional.

    Layer ``l`` maps its input sequence to its outputs (``h_t`` for the LSTM, ``s_t`` for
    the RNN); a bidirectional layer runs the forward and the backward direction over the
    same lengths and merges them per step:
    ``concat`` gives ``[h^{fwd}_t; h^{bwd}_t]``, ``sum`` their sum, ``mean`` their mean.
    Between layers (never after the top one) inverted dropout with rate ``dropout`` is
    applied when a ``key`` is given (identity when ``key`` is None or ``dropout == 0``).

    Args:
        params: tuple of layers, bottom first; each an ``RNNParams``, ``LSTMParams``,
            ``GRUParams`` or a ``Bidirectional(fwd, bwd)`` of them. A single layer is accepted too.
        xs: inputs, shape ``(..., T, d_in)`` (``(T, ..., d_in)`` when ``time_major``).
        initial_carry: one carry per layer, structured like the returned final carries
            (``LSTMState``, an ``s_0`` array, or a ``Bidirectional`` pair); entries may be
            None (zeros). Resets restart from this carry. (Old name: ``initial_state``.)
        seq_lengths: optional integer array ``xs.shape[:-2]``; steps ``t >= seq_lengths``
            are padding (carry held, outputs zero). ``lengths`` (the scans' name) is
            accepted too.
        resets: optional bool array ``xs.shape[:-1]``: ``resets[..., t]`` restarts every
            layer from its initial carry before step ``t`` (several episodes packed in one
            stream). The backward direction restarts at the end of each episode.
        merge: ``"concat"`` (default), ``"sum"`` or ``"mean"``.
        dropout: dropout rate in ``[0, 1)`` between layers.
        key: PRNG key for the dropout masks.
        return_carries: also return every carry of every layer: ``LSTMState(h, C)`` with
            fields ``(..., T, d_h)`` (the ``C_t`` sequence), or ``ss`` for the RNN.
        time_major: ``xs`` (and ``resets``, the outputs and carries) have time first.
        reverse: every (unidirectional) layer reads its valid steps last-to-first.
        keep_order: with ``reverse``, return the outputs aligned with the inputs; by
            default (as Flax's ``nn.RNN``) the top layer's outputs come in the order they
            were computed (the valid steps flipped).
        unroll, remat: passed to the loops (:func:`jaxrnn.lstm_scan`); ``unroll=8`` is
            the GPU setting. On the resets path ``remat`` checkpoints every step.
        dtype: compute dtype: parameters, inputs and carries are cast to it; None takes
            the promoted dtype of parameters and inputs (bfloat16 parameters with float32
            inputs compute in float32).
        initial_state: deprecated name of ``initial_carry``.

    Cost: without ``resets`` every layer runs on the fast loops of
    :func:`jaxrnn.lstm_scan` / :func:`jaxrnn.gru_scan` / :func:`jaxrnn.rnn_scan`, and so
    does ``return_carries`` for the RNN and the GRU (their carries are their outputs).
    ``resets``, and ``return_carries`` for an LSTM, run the equations in a plain
    ``jax.lax.scan`` differentiated by JAX: forward+backward took 2.2-2.3x the time of the
    fast loops for an LSTM and 1.7x for an RNN (CPU, B=16, T=256, d_h=128; command and
    numbers in ``docs/flax.md``).

    Returns:
        ``(final_carries, outputs)``, plus ``carries`` (a tuple over layers) when
        ``return_carries``. ``outputs`` is the top layer's output sequence
        ``(..., T, d_h)`` (``2 d_h`` for ``concat``); for an RNN stack it is the top
        layer's logits ``(..., T, d_out)``, zero at padding steps.

    Raises:
        TypeError, ValueError: bad params, shapes, ``merge`` or ``dropout``.

    Example:
        >>> import jax, jax.numpy as jnp, jaxrnn
        >>> from jaxrnn.layers import Bidirectional, stack
        >>> k = jax.random.split(jax.random.key(0), 3)
        >>> params = (Bidirectional(jaxrnn.init_lstm_params(k[0], 3, 4),
        ...                         jaxrnn.init_lstm_params(k[1], 3, 4)),
        ...           jaxrnn.init_lstm_params(k[2], 8, 4))
        >>> finals, hs = stack(params, jnp.ones((2, 5, 3)), seq_lengths=jnp.array([5, 2]))
        >>> hs.shape, finals[0].bwd.C.shape, finals[1].h.shape
        ((2, 5, 4), (2, 4), (2, 4))
    """
    where = "stack"
    initial_carry = renamed(where, "initial_carry", initial_carry, "initial_state", initial_state)
    lengths = alias(where, "seq_lengths", seq_lengths, "lengths", lengths)
    layers = _check_stack(params, where)
    if merge not in MERGES:
        raise ValueError(f"{where}: expected merge to be one of {MERGES}, got {merge!r}")
    if not (isinstance(dropout, (int, float)) and 0.0 <= dropout < 1.0):
        raise ValueError(f"{where}: expected dropout to be a float in [0, 1), got {dropout!r}")
    if reverse and any(isinstance(layer, Bidirectional) for layer in layers):
        raise ValueError(f"{where}: reverse=True needs unidirectional layers, got a Bidirectional")
    if initial_carry is None:
        initial_carry = (None,) * len(layers)
    elif isinstance(initial_carry, (LSTMState, Bidirectional)) or hasattr(initial_carry, "shape"):
        initial_carry = (initial_carry,)  # one layer's carry, not a tuple of carries
    if len(initial_carry) != len(layers):
        raise ValueError(
            f"{where}: expected initial_carry to hold one carry per layer "
            f"({len(layers)}), got {len(initial_carry)}"
        )
    xs = _stack_io.to_time_last(_checks.as_array(xs, "xs", where), time_major, -2)
    resets = _checks.check_resets(_stack_io.to_time_last(resets, time_major, -1), xs, where)
    if lengths is not None:
        lengths = _checks.check_lengths(lengths, tuple(xs.shape[:-2]), where)
    dtype = _stack_io.compute_dtype(dtype, layers, xs)
    layers, xs, initial_carry = _stack_io.cast((layers, xs, tuple(initial_carry)), dtype)
    loops: dict[str, Any] = {"unroll": unroll, "remat": remat, "return_carries": return_carries}
    finals, carries = [], []
    h = xs
    for l, (layer, state0) in enumerate(zip(layers, initial_carry)):
        if l > 0 and key is not None and dropout > 0.0:
            h = _stack_io.dropout(jax.random.fold_in(key, l), h, dropout)
        top = l == len(layers) - 1
        if isinstance(layer, Bidirectional):
            s0 = state0 if state0 is not None else Bidirectional(None, None)
            run: Callable[..., Any] = functools.partial(
                _direction, xs=h, lengths=lengths, resets=resets, **loops
            )
            f_T, f_out, f_car = run(layer.fwd, state0=s0.fwd, reverse=False)
            b_T, b_out, b_car = run(layer.bwd, state0=s0.bwd, reverse=True)
            finals.append(Bidirectional(f_T, b_T))
            carries.append(Bidirectional(f_car, b_car))
            out = _stack_io.merge(f_out, b_out, merge)
            if top and isinstance(layer.fwd, RNNParams):
                # One linear readout of [s_fwd; s_bwd]: V = [V_fwd, V_bwd].
                out = _logits(layer.fwd, f_out, lengths) + _logits(layer.bwd, b_out, lengths)
        else:
            s_T, out, car = _direction(layer, h, state0, lengths, resets, reverse=reverse, **loops)
            finals.append(s_T)
            carries.append(car)
            if top and isinstance(layer, RNNParams):
                out = _logits(layer, out, lengths)
        h = out
    if reverse and not keep_order:
        h = _stack_io.flip_valid(h, lengths)
    h = _stack_io.to_time_first(h, time_major)
    if return_carries:
        return tuple(finals), h, _stack_io.to_time_first(tuple(carries), time_major)
    return tuple(finals), h


def _logits(params: RNNParams, ss: Array, lengths: Array | None) -> Array:
    """Readout ``V s_t + b_o``, zero at padding steps ``t >= lengths``."""
    logits = _rnn_readout(params, ss)
    if lengths is None:
        return logits
    return jnp.where(_stack_io.valid_steps(lengths, ss), logits, jnp.zeros_like(logits))


__all__ = ["Bidirectional", "stack"]
