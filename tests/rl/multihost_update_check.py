"""One process of a two-process run joined by jax.distributed on localhost (CPU, 2 devices per process).

    python multihost_update_check.py PORT PROCESS_ID OUT_JSON

Each process builds the same tiny model, holds only its own rows of the batch (`process_rows`), and the two
run one RL step on a (data=2, fsdp=2) mesh spanning both. Writes the step's loss, a checksum of every parameter
as this process sees it (the processes must agree), and the max |delta| to the same step on one local device.
"""

import os
import sys

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import dataclasses
import json

import jax
import numpy as np
from jax.experimental import multihost_utils
from rl_fixtures import random_batch, tiny_model

from azr_jax.models import make_mesh
from azr_jax.rl import (
    Learner,
    ParallelConfig,
    RLConfig,
    initialize,
    is_primary,
    mesh_from_config,
    process_rows,
    shard_batch,
)


def main(port: str, process_id: int, out: str):
    address = f"localhost:{port}"
    initialize(ParallelConfig(distributed=True, coordinator_address=address, num_processes=2, process_id=process_id))
    mesh = mesh_from_config(ParallelConfig(data=2, fsdp=2))
    config = RLConfig(compute_dtype="float32", learning_rate=1e-3)
    model = tiny_model(config, mesh)
    learner = Learner(model, config, mesh)
    state = learner.init_state(model)
    full = random_batch(sequences=8)
    rows = process_rows(8, mesh)
    batch = shard_batch(jax.tree.map(lambda x: x[rows], full), mesh, 8)  # this process holds only its rows
    old, gap = learner.old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask, batch.old_logprobs)
    state, metrics = learner.update(state, dataclasses.replace(batch, old_logprobs=old))
    params = multihost_utils.process_allgather(state.params, tiled=True)

    # The same step on one local device with the whole batch: what the two processes must have computed.
    local_mesh = make_mesh(devices=jax.local_devices()[:1])
    reference_model = tiny_model(config, local_mesh)
    reference = Learner(reference_model, config, local_mesh)
    reference_state = reference.init_state(reference_model)
    gathered_old = multihost_utils.process_allgather(old, tiled=True)
    reference_state, _ = reference.update(reference_state, dataclasses.replace(full, old_logprobs=gathered_old))
    difference = max(
        float(np.abs(np.asarray(a) - np.asarray(b)).max())
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(reference_state.params))
    )
    with open(out, "w") as f:
        json.dump(
            {
                "rows": [rows.start, rows.stop],
                "primary": is_primary(),
                "loss": float(metrics["loss"]),
                "tokens": float(metrics["tokens"]),
                "gap": float(gap["logprob_gap_mean"]),
                "max_abs_diff_to_single_device": difference,
                "checksums": [float(np.abs(np.asarray(x, np.float64)).sum()) for x in jax.tree.leaves(params)],
            },
            f,
        )
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
