"""The sampler keeps no weights when told so, and checks the weights each call passes against the model's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.sampling import Sampler, SamplerConfig

CONFIG = SamplerConfig(
    prompt_buckets=(8,), batch_buckets=(2,), max_new_tokens_cap=4, cache_dtype="float32", decode_segments=1
)
MODEL = Qwen2Config(
    vocab_size=61,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=1,
    num_attention_heads=2,
    num_key_value_heads=1,
    max_position_embeddings=64,
    tie_word_embeddings=True,
)
PROMPTS = [[3, 5, 7], [11, 2]]


def generate(sampler, state=None):
    out = sampler.generate(PROMPTS, key=jax.random.key(0), max_new_tokens=4, temperature=0.0, eos_ids=[], state=state)
    return out.token_ids


def test_weights_passed_each_call():
    model = Qwen2ForCausalLM(MODEL, dtype=jnp.float32, rngs=nnx.Rngs(0))
    keeping = Sampler(model, config=CONFIG)
    lean = Sampler(model, config=CONFIG, keep_weights=False)
    assert not any(isinstance(v, jax.Array) for v in vars(lean).values())
    with pytest.raises(ValueError, match="keeps no weights"):
        generate(lean)
    np.testing.assert_array_equal(generate(lean, nnx.state(model)), generate(keeping))


def test_passed_weights_are_checked():
    model = Qwen2ForCausalLM(MODEL, dtype=jnp.float32, rngs=nnx.Rngs(0))
    sampler = Sampler(model, config=CONFIG, keep_weights=False)
    state = nnx.state(model)
    with pytest.raises(ValueError, match=r"embed_tokens.*bfloat16\[61, 32\].*float32\[61, 32\]"):
        generate(sampler, jax.tree.map(lambda x: x.astype(jnp.bfloat16) if x.shape == (61, 32) else x, state))
    with pytest.raises(ValueError, match=r"final_norm.*float32\[31\]"):
        generate(sampler, jax.tree.map(lambda x: x[:31] if x.shape == (32,) else x, state))
    with pytest.raises(ValueError, match="structure"):
        generate(
            sampler,
            nnx.state(Qwen2ForCausalLM(MODEL.__class__(**{**vars(MODEL), "num_hidden_layers": 2}), rngs=nnx.Rngs(0))),
        )
    donated = jax.tree.map(lambda x: x + 0, state)
    jax.tree.leaves(donated)[0].delete()
    with pytest.raises(ValueError, match="deleted"):
        generate(sampler, donated)
