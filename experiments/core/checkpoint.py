"""Orbax checkpoints of the training state: keep the last ``k``, atomic, fall back on damage.

Orbax writes each step into a temporary directory and renames it when complete, so a run
killed mid-save leaves the previous checkpoints intact. :meth:`Checkpointer.restore_latest`
tries the newest checkpoint first and falls back to older ones if one cannot be read.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp


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
        self._manager.save(step, args=ocp.args.StandardSave(state))

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
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
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
            return step, state
        return None

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
