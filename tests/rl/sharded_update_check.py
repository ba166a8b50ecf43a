"""Run in a subprocess with 8 simulated CPU devices (XLA_FLAGS must be set before jax is imported).

The same tiny model and batch go through a Learner on a (data=2, fsdp=2, tensor=2) mesh and one on a single
device: recomputed old log-probs and the KL reference's log-probs, then two updates of two micro-batches each. Prints, as JSON, the max |delta|
of log-probs, diagnostics, parameters and AdamW moments (the first moment after the first update is 0.1 x the
clipped gradient, so it checks the gradients too), and the partition specs and shard shapes of parameters and
moments.
"""

import dataclasses
import json

import jax
import jax.numpy as jnp
from flax import nnx
from rl_fixtures import random_batch, tiny_model

from azr_jax.models import make_mesh
from azr_jax.rl import Learner, RLConfig


def max_abs_diff(a, b) -> float:
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b))
    return max(float(jnp.max(jnp.abs(jax.device_get(x) - jax.device_get(y)))) for x, y in pairs)


def describe(state: nnx.State) -> dict:
    out = {}
    for path, variable in nnx.to_flat_state(state):
        value = variable.get_value()
        out[".".join(map(str, path))] = {
            "spec": [list(a) if isinstance(a, tuple) else a for a in value.sharding.spec],
            "shard_shape": list(value.addressable_shards[0].data.shape),
        }
    return out


def main():
    config = RLConfig(compute_dtype="float32", micro_batch_size=4, num_mini_batches=1, kl_coeff=0.1)
    batch = random_batch(sequences=8)
    results = {}
    meshes = {"sharded": make_mesh(data=2, fsdp=2, tensor=2), "single": make_mesh(devices=jax.devices()[:1])}
    for name, mesh in meshes.items():
        model = tiny_model(config, mesh)
        learner = Learner(model, config, mesh)
        reference = learner.reference(model)  # the KL penalty's frozen initial weights
        state = learner.init_state(model)
        old, _ = learner.old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask)
        ref = learner.logprobs(reference, batch.input_ids, batch.attention_mask)
        step_batch = dataclasses.replace(batch, old_logprobs=old, ref_logprobs=ref)
        state, first = learner.update(state, step_batch)
        first_moment = jax.device_get(state.opt_state[1][0].mu)  # chain(clip, adamw) -> adamw -> scale_by_adam
        state, second = learner.update(state, step_batch)
        results[name] = {
            "old": old,
            "ref": ref,
            "reference": reference,
            "first_moment": first_moment,
            "metrics": [first, second],
            "params": state.params,
            "opt_state": state.opt_state,
        }
    sharded, single = results["sharded"], results["single"]
    print(
        json.dumps(
            {
                "devices": jax.device_count(),
                "first_moment": max_abs_diff(sharded["first_moment"], single["first_moment"]),
                "first_moment_max": max(float(abs(x).max()) for x in jax.tree.leaves(single["first_moment"])),
                "old_logprobs": max_abs_diff(sharded["old"], single["old"]),
                "ref_logprobs": max_abs_diff(sharded["ref"], single["ref"]),
                "kl_ref": [float(m["kl_ref"]) for m in single["metrics"]],
                "metrics": max(
                    abs(float(a[k]) - float(b[k])) for a, b in zip(sharded["metrics"], single["metrics"]) for k in a
                ),
                "params": max_abs_diff(sharded["params"], single["params"]),
                "opt_state": max_abs_diff(sharded["opt_state"], single["opt_state"]),
                "param_shardings": describe(sharded["params"]),
                "mu_shardings": describe(sharded["opt_state"][1][0].mu),
                "reference_shardings": describe(sharded["reference"]),
                "old_logprobs_spec": [list(a) if isinstance(a, tuple) else a for a in sharded["old"].sharding.spec],
            }
        )
    )


if __name__ == "__main__":
    main()
