"""Array type aliases and the notation legend shared by every module.

Dimension names used in shapes throughout jaxrnn:

    T       number of time steps
    d_in    size of one input vector x_t
    d_h     size of the hidden state (s_t for the RNN, h_t and C_t for the LSTM)
    d_out   size of the RNN readout (logits_t, o_t = softmax(logits_t))
    ...     any number of leading batch axes

The aliases use jaxtyping when it is installed (it is in the ``test`` extra), so
shapes are visible in signatures and can be checked at runtime in tests. The
core does not require it: without jaxtyping the aliases degrade to ``jax.Array``.
"""

from __future__ import annotations

from typing import Any

import jax

Array = jax.Array
PRNGKey = jax.Array
DType = Any

try:  # pragma: no cover - exercised by whichever branch the environment has
    from jaxtyping import Bool, Float, Int
except ImportError:  # pragma: no cover

    class _Plain:
        """Stand-in for jaxtyping's ``Float[Array, "..."]``: returns the array type."""

        def __getitem__(self, item: Any) -> Any:
            return item[0] if isinstance(item, tuple) else item

    Float = Int = Bool = _Plain()  # type: ignore[assignment]

__all__ = ["Array", "Bool", "DType", "Float", "Int", "PRNGKey"]
