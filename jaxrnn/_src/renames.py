"""Old argument names that keep working for one release, with a ``DeprecationWarning``.

Renamed in 0.2 (old -> new), for :func:`jaxrnn.layers.stack`,
:func:`jaxrnn.layers.init_stack` and the Flax/Equinox modules:

- ``initial_state`` -> ``initial_carry`` (stack and the modules' ``__call__``);
- ``d_in`` -> ``in_features``, ``d_h`` -> ``features`` (``init_stack``, ``jaxrnn.nnx``);
- ``dtype`` -> ``param_dtype`` (``init_stack``; in ``jaxrnn.nnx``, ``dtype`` is now the
  compute dtype, as in Flax).

``lengths`` (the scans' name) and ``seq_lengths`` (Flax's name) are both accepted, without a
warning, by the layers and modules.
"""

from __future__ import annotations

import warnings
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
"""Default of an old argument name: tells "not passed" from None."""


def renamed(
    where: str, new_name: str, new: Any, old_name: str, old: Any, *, default: Any = None
) -> Any:
    """The value of ``new_name``, taken from ``old_name`` (with a warning) if that was passed."""
    if old is MISSING:
        return new
    if new is not default and new is not MISSING:
        raise TypeError(
            f"{where}: got both {new_name} and its old name {old_name}; pass {new_name}"
        )
    warnings.warn(
        f"{where}: the argument {old_name} is renamed {new_name}; the old name will be "
        "removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
    return old


def alias(where: str, name: str, value: Any, other_name: str, other: Any) -> Any:
    """``value``, or ``other`` when only the accepted alias ``other_name`` was passed."""
    if other is None:
        return value
    if value is not None:
        raise TypeError(f"{where}: got both {name} and {other_name}; pass one of them")
    return other
