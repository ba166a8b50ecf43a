"""Run in a process of its own with 8 simulated CPU devices (`process_group.run_with_devices`).

Loads a model folder onto a (data=2, fsdp=2, tensor=2) mesh and prints, as JSON, the parameters' partition specs,
whether they are really split, and the max |delta| between sharded and single-device logits.
"""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from azr_jax.models import Qwen2ForCausalLM, make_mesh
from azr_jax.models.sharding import batch_sharding


def forward(model, ids, mask):
    graphdef, state = nnx.split(model)
    run = jax.jit(lambda state, ids, mask: nnx.merge(graphdef, state)(ids, attention_mask=mask))
    return run(state, ids, mask)


def main(folder: str):
    mesh = make_mesh(data=2, fsdp=2, tensor=2)
    sharded = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32, mesh=mesh)
    single = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, sharded.config.vocab_size, (4, 12)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, :5] = 0
    mask[3, :9] = 0
    rows = batch_sharding(mesh)
    sharded_logits = forward(sharded, jax.device_put(ids, rows), jax.device_put(mask, rows))
    single_logits = forward(single, jnp.asarray(ids), jnp.asarray(mask))
    params = {}
    for path, variable in nnx.to_flat_state(nnx.state(sharded, nnx.Param)):
        value = variable.get_value()
        params[".".join(map(str, path))] = {
            "spec": [list(a) if isinstance(a, tuple) else a for a in value.sharding.spec],
            "shard_shape": list(value.addressable_shards[0].data.shape),
            "shape": list(value.shape),
        }
    real = mask.astype(bool)
    print(
        json.dumps(
            {
                "devices": jax.device_count(),
                "max_abs_diff": float(np.abs(np.asarray(sharded_logits)[real] - np.asarray(single_logits)[real]).max()),
                "logits_spec": [list(a) if isinstance(a, tuple) else a for a in sharded_logits.sharding.spec],
                "params": params,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
