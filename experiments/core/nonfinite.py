"""What a training run says when its loss or gradient stops being finite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np


class NonFiniteError(FloatingPointError):
    """The loss or the gradient became NaN/inf (``nonfinite="stop"``)."""


def nonfinite_inputs(batch: Any) -> list[str]:
    """Describe each floating array of ``batch`` that holds NaN or inf (empty: all finite).

    Example:
        >>> nonfinite_inputs({"x": np.array([1.0, np.nan, np.inf]), "y": np.arange(3)})
        ["['x']: 1 NaN, 1 inf, first at index (1,)"]
    """
    found = []
    for path, x in jax.tree_util.tree_leaves_with_path(batch):
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.inexact):
            continue
        bad = ~np.isfinite(x)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            found.append(
                f"{jax.tree_util.keystr(path) or 'batch'}: {int(np.isnan(x).sum())} NaN, "
                f"{int(np.isinf(x).sum())} inf, first at index {first}"
            )
    return found


def nonfinite_error(
    batch_of_step: Callable[[int], Any], bad: int, m: dict[str, jax.Array]
) -> NonFiniteError:
    """The error for step ``bad`` (1-based), naming non-finite inputs of its batch if any."""
    culprits = nonfinite_inputs(batch_of_step(bad - 1))
    cause = (
        "its inputs are not finite: " + "; ".join(culprits) + ". Clean the data"
        if culprits
        else "its inputs are finite, so the model diverged. Lower --lr or --clip"
    )
    return NonFiniteError(
        f"non-finite loss or gradient at step {bad} (loss={float(m['loss'])}, "
        f"grad_norm={float(m['grad_norm'])}); no update was applied from that step on; "
        f"{cause}, or pass --nonfinite=skip."
    )
