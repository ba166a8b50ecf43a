"""Run in a subprocess with 8 simulated CPU devices: greedy generation with the model sharded over a
(data=2, fsdp=2, tensor=2) mesh equals single-device generation. Prints JSON."""

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np

from azr_jax.models import Qwen2ForCausalLM, make_mesh
from azr_jax.sampling import Sampler, SamplerConfig

CONFIG = SamplerConfig(prompt_buckets=(16,), batch_buckets=(4, 8), max_new_tokens_cap=16, cache_dtype="float32")


def main(folder: str):
    rng = np.random.default_rng(0)
    prompts = [rng.integers(1, 128, n).tolist() for n in (5, 9, 2, 12)]
    outputs = {}
    for name, mesh in (("single", None), ("sharded", make_mesh(data=2, fsdp=2, tensor=2))):
        model = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32, mesh=mesh)
        out = Sampler(model, config=CONFIG).generate(
            prompts, key=jax.random.key(0), max_new_tokens=10, temperature=0.0, n=2, eos_ids=[]
        )
        outputs[name] = (out.token_ids.tolist(), out.log_probs)
    gap = float(np.abs(outputs["single"][1] - outputs["sharded"][1]).max())
    print(json.dumps({"same_tokens": outputs["single"][0] == outputs["sharded"][0], "log_prob_gap": gap}))


if __name__ == "__main__":
    main(sys.argv[1])
