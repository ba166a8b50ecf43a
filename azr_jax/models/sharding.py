"""Logical axis names -> a named device mesh (data, fsdp, tensor), through one rules table.

Every parameter declares what its dimensions mean (`logical_axes=("embed", "mlp")`); the table below says which
mesh axis each meaning is split over. A parameter without names, or a name the table does not know, raises:
a silently replicated 3B embedding costs gigabytes per device and nobody notices.
"""

from __future__ import annotations

import logging
import math
from typing import Mapping, Sequence

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

MESH_AXES = ("data", "fsdp", "tensor")
MeshAxes = str | tuple[str, ...] | None

# Parameters are split over fsdp along their model dimension and over tensor along heads/mlp/vocab, the usual
# Megatron-style pairing (column-parallel q/k/v/gate/up, row-parallel o/down). Activations' batch dimension is
# split over data and fsdp together.
LOGICAL_AXIS_RULES: Mapping[str, MeshAxes] = {
    "vocab": "tensor",
    "embed": "fsdp",
    "mlp": "tensor",
    "heads": "tensor",
    "kv_heads": "tensor",
    "head_dim": None,
    "norm": None,
    "batch": ("data", "fsdp"),
    "length": None,
}

log = logging.getLogger(__name__)


class ShardingRuleError(KeyError):
    def __str__(self):  # KeyError would quote the whole message
        return self.args[0]


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
    """The PartitionSpec for an array whose dimensions have these logical names.

    A dimension that the mesh axes do not divide evenly is replicated (e.g. Qwen2.5-3B's 2 KV heads on a
    tensor axis of 4), as is a mesh axis already used by an earlier dimension.
    """
    if len(logical_axes) != len(shape):
        raise ShardingRuleError(f"{what}: {len(logical_axes)} logical axes {tuple(logical_axes)} for shape {tuple(shape)}")
    used: set[str] = set()
    spec = []
    for name, size in zip(logical_axes, shape):
        if name is None:
            spec.append(None)
            continue
        if name not in rules:
            raise ShardingRuleError(
                f"{what}: logical axis {name!r} has no sharding rule (known: {', '.join(sorted(rules))})"
            )
        axes = rules[name]
        axes = (axes,) if isinstance(axes, str) else tuple(axes or ())
        axes = tuple(a for a in axes if a not in used and mesh.shape.get(a, 1) > 1)
        if axes and size % math.prod(mesh.shape[a] for a in axes):
            log.info("%s: dimension %s of size %d is replicated (mesh axes %s do not divide it)", what, name, size, axes)
            axes = ()
        used.update(axes)
        spec.append(axes[0] if len(axes) == 1 else (axes or None))
    return PartitionSpec(*spec)


def logical_sharding(
    logical_axes: Sequence[str | None],
    shape: Sequence[int],
    mesh: Mesh,
    rules: Mapping[str, MeshAxes] = LOGICAL_AXIS_RULES,
) -> NamedSharding:
    return NamedSharding(mesh, partition_spec(logical_axes, shape, mesh, rules))


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
