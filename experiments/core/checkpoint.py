"""Orbax checkpoints of the training state: keep the last ``k``, atomic, fall back on damage.

Orbax writes each step into a temporary directory and renames it when complete, so a run
killed mid-save leaves the previous checkpoints intact. :meth:`Checkpointer.restore_latest`
tries the newest checkpoint first and falls back to older ones if one cannot be read.
Arrays of zero size (the absent readout ``V (0, d_h)`` of an RNN layer inside a stack) hold
no data and orbax refuses them: they are left out of the checkpoint and come back from the
structure restored into.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp


def _without_empty(tree: Any) -> Any:
    """``tree`` with every zero-size array replaced by None (orbax cannot save them)."""
    return jax.tree.map(lambda x: None if np.size(x) == 0 else x, tree)


def _with_empty(like: Any, restored: Any) -> Any:
    """``restored`` with the zero-size arrays of ``like`` put back where it holds None."""
    like_leaves, treedef = jax.tree.flatten(like)
    leaves = jax.tree.leaves(restored, is_leaf=lambda x: x is None)
    return jax.tree.unflatten(treedef, [a if b is None else b for a, b in zip(like_leaves, leaves)])


class Checkpointer:
    """Save and restore a pytree of arrays under ``directory/<step>/``.

    Args:
        directory: where the step directories live (created if missing).
        keep: number of most recent checkpoints kept on disk.
    """

    def __init__(self, directory: Path | str, keep: int) -> None:
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def save(self, step: int, state: Any) -> None:
        """Save ``state`` as checkpoint ``step`` (a no-op if that step already exists)."""
        if step in self._manager.all_steps():
            return
        self._manager.save(step, args=ocp.args.StandardSave(_without_empty(state)))

    def wait(self) -> None:
        """Block until pending asynchronous saves are on disk."""
        self._manager.wait_until_finished()

    def steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def restore_latest(self, like: Any) -> tuple[int, Any] | None:
        """Restore the newest readable checkpoint into the structure of ``like``.

        Returns:
            ``(step, state)``, or None when there is no readable checkpoint.
        """
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _without_empty(like))
        for step in reversed(self.steps()):
            try:
                state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
            except Exception as err:  # noqa: BLE001 - any unreadable checkpoint falls back
                warnings.warn(
                    f"checkpoint {self.directory / str(step)} is unreadable ({err!r}); "
                    "trying an older one",
                    stacklevel=2,
                )
                continue
            return step, _with_empty(like, state)
        return None

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
