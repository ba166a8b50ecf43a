"""The device mesh from config, multi-host start-up, and placing the update's batch on the mesh.

The mesh's axes and what each array dimension is split over are the table in `azr_jax.models.sharding`: a batch
is split over its sequences. With several processes (hosts), every process holds the whole step on the host
(host state is replicated) and hands the mesh only the rows its own devices hold (`process_rows`);
`shard_batch` joins those shares into one global array without a copy. (Which sandbox jobs each process runs
is another split, strided over the jobs: `azr_jax/trainer/process_share.py`.)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
from jax.sharding import Mesh

from azr_jax.models.sharding import MESH_AXES, batch_sharding, make_mesh


@dataclasses.dataclass(frozen=True)
class ParallelConfig:
    # Mesh axis sizes; one may be -1 to take the devices the others leave.
    data: int = 1
    fsdp: int = -1
    tensor: int = 1
    # Multi-host: call jax.distributed.initialize() before anything touches a device. The three settings below
    # may stay None where JAX detects them (Cloud TPU, SLURM, Open MPI); set them for plain multi-node GPU.
    distributed: bool = False
    coordinator_address: str | None = None  # "host:port" of process 0
    num_processes: int | None = None
    process_id: int | None = None

    def __post_init__(self):
        for name in MESH_AXES:
            value = getattr(self, name)
            if value != -1 and value < 1:
                raise ValueError(f"{name} must be >= 1 or -1, got {value}")


def initialize(config: ParallelConfig) -> None:
    """Joins the processes of a multi-host run (a no-op for a single process); call it first thing."""
    if config.distributed:
        jax.distributed.initialize(
            coordinator_address=config.coordinator_address,
            num_processes=config.num_processes,
            process_id=config.process_id,
        )


def mesh_from_config(config: ParallelConfig, devices=None) -> Mesh:
    return make_mesh(config.data, config.fsdp, config.tensor, devices)


def is_primary() -> bool:
    """Process 0 writes logs and checkpoint metadata; the others stay quiet."""
    return jax.process_index() == 0


def process_rows(num_sequences: int, mesh: Mesh) -> slice:
    """The rows of a global batch of `num_sequences` that this process's devices hold (its share)."""
    indices = batch_sharding(mesh).addressable_devices_indices_map((num_sequences,))
    rows = sorted({i for index in indices.values() for i in range(*index[0].indices(num_sequences))})
    if rows != list(range(rows[0], rows[-1] + 1)):
        raise ValueError("this process's batch rows are not contiguous; order the mesh's devices by process")
    return slice(rows[0], rows[-1] + 1)


def shard_batch(batch, mesh: Mesh, num_sequences: int | None = None):
    """Puts every array of a pytree on the mesh, split over sequences.

    jax.Arrays are moved to the batch sharding (a no-op when they are there already). Host arrays hold the
    whole batch when the mesh is this process's own, or this process's `process_rows` when the mesh spans
    several processes; then `num_sequences` gives the global batch size.
    """
    sharding = batch_sharding(mesh)

    def place(x):
        if isinstance(x, jax.Array):
            return jax.device_put(x, sharding)
        x = np.asarray(x)
        if x.dtype == np.float64:  # numpy's default float; the update computes in float32
            x = x.astype(np.float32)
        if sharding.is_fully_addressable:
            return jax.device_put(x, sharding)
        if num_sequences is None:
            raise ValueError("shard_batch over a multi-host mesh needs num_sequences (the global batch size)")
        return jax.make_array_from_process_local_data(sharding, x, (num_sequences, *x.shape[1:]))

    return jax.tree.map(place, batch)
