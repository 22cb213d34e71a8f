"""Parameters of layers and stacks: the ``Bidirectional`` pair, ``init_stack``, ``without_readout``.

A *layer's* parameters are one ``RNNParams`` / ``LSTMParams`` / ``GRUParams`` or a
``Bidirectional(fwd, bwd)`` pair of them; a *stack* is a tuple of layers, bottom first (run by
:func:`jaxrnn.layers.stack`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn import _checks
from jaxrnn._renames import MISSING, renamed
from jaxrnn._typing import PRNGKey
from jaxrnn.init import (
    init_gru_params,
    init_lstm_params,
    init_mingru_params,
    init_minlstm_params,
    init_rnn_params,
)
from jaxrnn.params import (
    Initializer,
    RNNParams,
    default_bias_init,
    default_input_init,
    default_recurrent_init,
)

MERGES = ("concat", "sum", "mean")
CELLS = ("lstm", "gru", "rnn", "mingru", "minlstm")


class Bidirectional(NamedTuple):
    """A forward/backward pair: the parameters or the states of a bidirectional layer.

    Attributes:
        fwd: reads the valid steps first-to-last.
        bwd: reads the valid steps last-to-first (outputs stay aligned with inputs).
    """

    fwd: Any
    bwd: Any


def init_stack(
    key: PRNGKey,
    cell: str,
    in_features: int | None = None,
    features: int | None = None,
    *,
    d_out: int = 0,
    num_layers: int = 1,
    bidirectional: bool = False,
    merge: str = "concat",
    forget_bias: float = 1.0,
    param_dtype: Any = jnp.float32,
    kernel_init: Initializer = default_input_init,
    recurrent_kernel_init: Initializer = default_recurrent_init,
    bias_init: Initializer = default_bias_init,
    d_in: Any = MISSING,
    d_h: Any = MISSING,
    dtype: Any = MISSING,
) -> tuple[Any, ...]:
    """Initialise a stack for :func:`stack`.

    Layer ``l > 0`` reads ``features`` inputs, or ``2 features`` for a bidirectional
    ``merge="concat"`` stack. For ``cell="rnn"`` only the top layer has a readout of size
    ``d_out``; lower layers have none (:func:`without_readout`).

    Args:
        key: PRNG key; layer ``l`` (direction ``j``) uses ``fold_in(fold_in(key, l), j)``.
        cell: ``"lstm"``, ``"gru"``, ``"rnn"``, ``"mingru"`` or ``"minlstm"``.
        in_features, features: input size ``d_in`` and hidden size ``d_h`` (old names
            ``d_in``, ``d_h``).
        d_out: readout size of the top RNN layer (``cell="rnn"`` only).
        num_layers, bidirectional, merge: the stack's shape.
        forget_bias: added to every LSTM ``b_f``.
        param_dtype: parameter dtype (old name ``dtype``).
        kernel_init, recurrent_kernel_init, bias_init: initialisers of ``U`` (and ``V``),
            ``W`` and the biases, called with the stored ``(out, in)`` shapes.

    Returns:
        A tuple of ``num_layers`` layers (``Bidirectional`` pairs when bidirectional).

    Example:
        >>> import jax
        >>> from jaxrnn.layer_params import init_stack
        >>> p = init_stack(jax.random.key(0), "lstm", 3, 4, num_layers=2, bidirectional=True)
        >>> p[1].bwd.f.U.shape
        (4, 8)
    """
    where = "init_stack"
    in_features = renamed(where, "in_features", in_features, "d_in", d_in)
    features = renamed(where, "features", features, "d_h", d_h)
    param_dtype = renamed(where, "param_dtype", param_dtype, "dtype", dtype, default=jnp.float32)
    if cell not in CELLS:
        raise ValueError(f"{where}: expected cell to be one of {CELLS}, got {cell!r}")
    if merge not in MERGES:
        raise ValueError(f"{where}: expected merge to be one of {MERGES}, got {merge!r}")
    _checks.check_static_int(num_layers, "num_layers", where, minimum=1)
    inits = {"U_init": kernel_init, "W_init": recurrent_kernel_init, "b_init": bias_init}
    d_in, d_h = in_features, features
    layers = []
    for l in range(num_layers):
        dirs: list[Any] = []
        for j in range(2 if bidirectional else 1):
            k = jax.random.fold_in(jax.random.fold_in(key, l), j)
            if cell == "lstm":
                p = init_lstm_params(k, d_in, d_h, forget_bias=forget_bias, dtype=param_dtype,
                                     **inits)  # fmt: skip
                dirs.append(p)
            elif cell == "gru":
                dirs.append(init_gru_params(k, d_in, d_h, dtype=param_dtype, **inits))
            elif cell in ("mingru", "minlstm"):
                init = init_mingru_params if cell == "mingru" else init_minlstm_params
                dirs.append(init(k, d_in, d_h, dtype=param_dtype))
            else:
                q = init_rnn_params(k, d_in, d_h, max(d_out, 1), dtype=param_dtype,
                                    V_init=kernel_init, **inits)  # fmt: skip
                dirs.append(q if (l == num_layers - 1 and d_out) else without_readout(q))
        layers.append(Bidirectional(*dirs) if bidirectional else dirs[0])
        d_in = 2 * d_h if (bidirectional and merge == "concat") else d_h
    return tuple(layers)


def without_readout(params: RNNParams) -> RNNParams:
    """Drop the readout of a lower RNN layer: ``V`` becomes ``(0, d_h)``, ``b_o`` ``(0,)``.

    Example:
        >>> import jax, jaxrnn
        >>> from jaxrnn.layer_params import without_readout
        >>> p = without_readout(jaxrnn.init_rnn_params(jax.random.key(0), 3, 5, 2))
        >>> p.V.shape, p.b_o.shape
        ((0, 5), (0,))
    """
    if not isinstance(params, RNNParams):
        raise TypeError(f"without_readout: expected RNNParams, got {type(params).__name__}")
    return params._replace(V=params.V[:0], b_o=params.b_o[:0])


__all__ = ["MERGES", "Bidirectional", "init_stack", "without_readout"]
