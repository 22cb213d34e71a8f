"""Final parameters as ``params.npz``, one array per leaf keyed by its pytree path
(``['cell'].f.W``), and back into the structure of a freshly initialised model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.core.errors import RunDirError


def save_params(path: Path, params: Any) -> None:
    """Write a pytree of arrays to ``.npz``, one entry per leaf named by its key path."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    np.savez(path, **{jax.tree_util.keystr(k): np.asarray(v) for k, v in flat})


def load_params(path: Path, like: Any) -> Any:
    """Read :func:`save_params` output into the structure of ``like`` (shapes must match).

    Raises:
        RunDirError: a leaf is missing or has another shape (the file is of another model).
    """
    with np.load(path) as data:
        leaves = []
        for key, leaf in jax.tree_util.tree_flatten_with_path(like)[0]:
            name = jax.tree_util.keystr(key)
            if name not in data or data[name].shape != np.shape(leaf):
                got = data[name].shape if name in data else "missing"
                raise RunDirError(
                    f"{path}: expected {name} with shape {np.shape(leaf)}, got {got}; "
                    "the file belongs to another model or configuration"
                )
            leaves.append(jnp.asarray(data[name]))
    return jax.tree.unflatten(jax.tree.structure(like), leaves)
