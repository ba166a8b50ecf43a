"""The one table of logical axes: what each named dimension is split over on the (data, fsdp, tensor) mesh.

Every array placed on the mesh names what its dimensions mean: a parameter in its `logical_axes` metadata
(("embed", "mlp")), an activation, a KV cache or a batch where it is placed or constrained
(("batch", "kv_heads", "length", "head_dim")). `LOGICAL_AXIS_RULES` says which mesh axes split each meaning, and
`logical_to_physical` turns names into a PartitionSpec. A name the table does not know raises, and so do two
dimensions of one array split over the same mesh axis: a silently replicated 3B embedding costs gigabytes per
device and nobody notices. The model, the sampler, the learner and the weight loader all take their shardings
from here.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

# The mesh's axes, in device order: data parallelism, fully sharded data parallelism, tensor parallelism.
DATA, FSDP, TENSOR = "data", "fsdp", "tensor"
MESH_AXES = (DATA, FSDP, TENSOR)
MeshAxes = str | tuple[str, ...] | None

# Parameters are split over fsdp along their model dimension and over tensor along heads/mlp/vocab, the usual
# Megatron-style pairing (column-parallel q/k/v/gate/up, row-parallel o/down). A batch's rows (of activations,
# KV caches, the update's sequences) are split over data and fsdp together; positions are never split.
LOGICAL_AXIS_RULES: Mapping[str, MeshAxes] = {
    # parameters
    "vocab": TENSOR,
    "embed": FSDP,
    "mlp": TENSOR,
    "heads": TENSOR,
    "kv_heads": TENSOR,
    "head_dim": None,
    "norm": None,
    # activations, caches, batches
    "batch": (DATA, FSDP),
    "length": None,  # sequence positions, KV cache slots
    "mini_batches": None,  # the update's [mini-batches, micro-batches, batch, ...] layout of a batch
    "micro_batches": None,
}

# A batch split over its rows, every other dimension whole (the shape of an activation, a token array, a cache).
BATCH = ("batch",)

log = logging.getLogger(__name__)


class ShardingRuleError(KeyError):
    def __str__(self):  # KeyError would quote the whole message
        return self.args[0]


def logical_to_physical(
    logical_axes: Sequence[str | None], rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES, what: str = "array"
) -> PartitionSpec:
    """The PartitionSpec for dimensions with these logical names (None: not split), as the table says.

    Raises on a name the table does not know and on two dimensions that would be split over one mesh axis.
    """
    spec = []
    for name in logical_axes:
        if name is not None and name not in rules:
            raise ShardingRuleError(
                f"{what}: logical axis {name!r} has no sharding rule (known: {', '.join(sorted(rules))})"
            )
        spec.append(None if name is None else rules[name])
    physical = [a for axes in spec for a in ((axes,) if isinstance(axes, str) else axes or ())]
    if len(set(physical)) != len(physical):
        raise ShardingRuleError(
            f"{what}: logical axes {tuple(logical_axes)} would split mesh axes {physical} more than once"
        )
    return PartitionSpec(*spec)


def make_mesh(data: int = 1, fsdp: int = -1, tensor: int = 1, devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A (data, fsdp, tensor) mesh; one axis may be -1 to take the devices the others leave."""
    devices = list(jax.devices() if devices is None else devices)
    sizes = [data, fsdp, tensor]
    if sizes.count(-1) > 1:
        raise ValueError(f"mesh: at most one axis may be -1, got data={data} fsdp={fsdp} tensor={tensor}")
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        if len(devices) % known:
            raise ValueError(f"mesh: {len(devices)} devices do not divide into data={data} fsdp={fsdp} tensor={tensor}")
        sizes[sizes.index(-1)] = len(devices) // known
    if math.prod(sizes) != len(devices):
        raise ValueError(
            f"mesh: data*fsdp*tensor = {math.prod(sizes)} but there are {len(devices)} devices "
            f"(data={sizes[0]} fsdp={sizes[1]} tensor={sizes[2]})"
        )
    return Mesh(np.asarray(devices).reshape(sizes), MESH_AXES)


def partition_spec(
    logical_axes: Sequence[str | None],
    shape: Sequence[int],
    mesh: Mesh,
    rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES,
    what: str = "array",
) -> PartitionSpec:
    """`logical_to_physical` for an array of this shape on this mesh.

    Mesh axes of size 1 are left out (they split nothing). A dimension that its mesh axes do not divide evenly is
    replicated (e.g. Qwen2.5-3B's 2 KV heads on a tensor axis of 4), with a note in the log.
    """
    if len(logical_axes) != len(shape):
        raise ShardingRuleError(
            f"{what}: {len(logical_axes)} logical axes {tuple(logical_axes)} for shape {tuple(shape)}"
        )
    spec = []
    for name, size, axes in zip(logical_axes, shape, logical_to_physical(logical_axes, rules, what)):
        axes = (axes,) if isinstance(axes, str) else tuple(axes or ())
        unknown = [a for a in axes if a not in mesh.shape]
        if unknown:
            raise ShardingRuleError(
                f"{what}: logical axis {name!r} is split over {unknown}, not in the mesh {MESH_AXES}"
            )
        axes = tuple(a for a in axes if mesh.shape[a] > 1)
        if axes and size % math.prod(mesh.shape[a] for a in axes):
            _note_replicated(name, size, axes)
            axes = ()
        spec.append(axes[0] if len(axes) == 1 else (axes or None))
    return PartitionSpec(*spec)


@functools.cache
def _note_replicated(name: str, size: int, axes: tuple[str, ...]) -> None:
    # Once per kind of dimension, not once per layer and optimizer moment.
    log.info("dimensions %r of size %d are replicated: mesh axes %s do not divide them", name, size, axes)


def logical_sharding(
    logical_axes: Sequence[str | None],
    shape: Sequence[int],
    mesh: Mesh,
    rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES,
) -> NamedSharding:
    return NamedSharding(mesh, partition_spec(logical_axes, shape, mesh, rules))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Rows split over the batch's mesh axes, every other dimension whole."""
    return NamedSharding(mesh, logical_to_physical(BATCH))


def batch_shards(mesh: Mesh) -> int:
    """How many parts `batch_sharding` splits the rows into."""
    return math.prod(mesh.shape[a] for a in logical_to_physical(BATCH)[0])


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def state_shardings(state: nnx.State, mesh: Mesh, rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES) -> nnx.State:
    """A State of NamedShardings mirroring `state` (abstract or concrete), from each Variable's `logical_axes`."""

    def sharding_of(path, variable):
        what = ".".join(str(p) for p in path)
        axes = variable.get_metadata().get("logical_axes")
        if axes is None:
            raise ShardingRuleError(f"{what}: parameter has no logical_axes metadata, so no sharding rule matches it")
        return NamedSharding(mesh, partition_spec(axes, variable.get_value().shape, mesh, rules, what))

    return nnx.map_state(sharding_of, state)


def shard_module(module: nnx.Module, mesh: Mesh, rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES) -> nnx.Module:
    """Moves every parameter of `module` onto its sharding (in place) and returns the module."""
    state = nnx.state(module)
    shardings = state_shardings(state, mesh, rules)
    nnx.update(module, jax.device_put(state, shardings))
    return module
