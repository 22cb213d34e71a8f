"""Data parallelism with JAX's own sharding: a 1-D device mesh, the batch split, params copied.

The training loop builds ``Mesh(devices, ("data",))`` and

- shards every batch array along its first axis with ``NamedSharding(mesh, P("data"))``
  (scalars, such as a dropout seed, are replicated);
- replicates the parameters and optimizer state with ``NamedSharding(mesh, P())``;
- calls the one jitted step on them; XLA sees a sharded batch and replicated parameters and
  inserts the all-reduce of the gradient itself.

Each process builds its shards from the full batch ``problem.batch(step)`` (a pure function
of the seed and the step), so the same code runs on one device, on several local devices,
and on several hosts after :func:`maybe_initialize_distributed`.
Sequence (time-axis) parallelism is out of scope: a sequence lives on one device.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from experiments.core.errors import ConfigError

AXIS = "data"


def distributed_args(env: Mapping[str, str]) -> dict[str, Any] | None:
    """Arguments for ``jax.distributed.initialize`` read from a launcher's environment.

    - ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0), ``JAX_NUM_PROCESSES`` and
      ``JAX_PROCESS_ID``: explicit, any launcher;
    - SLURM (``srun``) or Open MPI (``mpirun``) with more than one task: ``{}``, JAX
      detects the rest itself.

    Returns:
        the keyword arguments, or None for a single-process run.

    Example:
        >>> distributed_args({}) is None
        True
        >>> distributed_args({"JAX_COORDINATOR_ADDRESS": "h0:1234", "JAX_NUM_PROCESSES": "2",
        ...                   "JAX_PROCESS_ID": "1"})
        {'coordinator_address': 'h0:1234', 'num_processes': 2, 'process_id': 1}
    """
    if env.get("JAX_COORDINATOR_ADDRESS"):
        try:
            return {
                "coordinator_address": env["JAX_COORDINATOR_ADDRESS"],
                "num_processes": int(env["JAX_NUM_PROCESSES"]),
                "process_id": int(env["JAX_PROCESS_ID"]),
            }
        except (KeyError, ValueError):
            raise ConfigError(
                "JAX_COORDINATOR_ADDRESS is set: expected JAX_NUM_PROCESSES and JAX_PROCESS_ID "
                f"to be ints too, got {env.get('JAX_NUM_PROCESSES')!r} and "
                f"{env.get('JAX_PROCESS_ID')!r}"
            ) from None
    for count in ("SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE"):
        if int(env.get(count, "1") or "1") > 1:
            return {}
    return None


_initialized = False


def maybe_initialize_distributed() -> bool:
    """Call ``jax.distributed.initialize`` once if the environment describes several
    processes (see :func:`distributed_args`); True when it did."""
    global _initialized
    args = distributed_args(os.environ)
    if args is None or _initialized:
        return _initialized
    jax.distributed.initialize(**args)
    _initialized = True
    return True


def make_mesh(n_devices: int) -> Mesh:
    """A 1-D mesh over the first ``n_devices`` devices (0: every device of every process).

    Raises:
        ConfigError: more devices asked for than exist.
    """
    devices = jax.devices()
    if n_devices == 0:
        n_devices = len(devices)
    if not 0 < n_devices <= len(devices):
        raise ConfigError(
            f"--devices: expected an int in [1, {len(devices)}] (or 0 for all), got {n_devices}"
        )
    return Mesh(np.asarray(devices[:n_devices]), (AXIS,))


def replicate(mesh: Mesh, tree: Any) -> Any:
    """Every leaf of ``tree`` copied to every device of ``mesh``."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(mesh: Mesh, batch: Any) -> Any:
    """Each array of ``batch`` split along its first axis over ``mesh`` (scalars copied).

    Raises:
        ConfigError: a leading axis does not divide by the number of devices.
    """
    n = mesh.devices.size
    split = NamedSharding(mesh, PartitionSpec(AXIS))
    whole = NamedSharding(mesh, PartitionSpec())

    def put(path, x):
        if not isinstance(x, jax.Array):
            x = np.asarray(x)
        if x.ndim == 0:
            return jax.device_put(x, whole)
        if x.shape[0] % n:
            raise ConfigError(
                f"--batch_size: the batch array {jax.tree_util.keystr(path) or 'batch'} has "
                f"{x.shape[0]} rows, which do not split evenly over --devices={n}; choose a "
                f"batch size divisible by {n} or change --devices"
            )
        if isinstance(x, jax.Array):
            return jax.device_put(x, split)
        return jax.make_array_from_callback(x.shape, split, lambda idx: x[idx])

    return jax.tree_util.tree_map_with_path(put, batch)
