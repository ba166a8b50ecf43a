"""Prefill + cached one-token decoding computes what a full forward over the whole sequence computes."""

import jax.numpy as jnp
import numpy as np
from hf_reference import build_hf_model, left_padded_batch, save_hf_model

from azr_jax.models import KVCache, Qwen2ForCausalLM


def test_cached_decode_equals_full_forward_at_every_position(tmp_path):
    folder = save_hf_model(build_hf_model("untied_gqa4_theta1e6", seed=9), tmp_path)
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32)
    rng = np.random.default_rng(0)
    prompt, prompt_mask = left_padded_batch(rng, model.config.vocab_size, [6, 2, 4])
    new_tokens = rng.integers(0, model.config.vocab_size, (3, 5))
    batch, prompt_len = prompt.shape
    slots = prompt_len + new_tokens.shape[1] + 3  # spare slots stay masked

    full_ids = np.concatenate([prompt, new_tokens], axis=1)
    full_mask = np.concatenate([prompt_mask, np.ones_like(new_tokens)], axis=1)
    expected = np.asarray(model(jnp.asarray(full_ids), attention_mask=jnp.asarray(full_mask)))

    cache = KVCache.zeros(model.config, batch, slots, dtype=jnp.float32)
    slot_mask = np.zeros((batch, slots), np.int32)
    slot_mask[:, :prompt_len] = prompt_mask
    positions = np.maximum(np.cumsum(prompt_mask, axis=1) - 1, 0)
    hidden, cache = model.hidden_states(
        jnp.asarray(prompt), jnp.asarray(slot_mask), jnp.asarray(positions), cache=cache, cache_index=0
    )
    real = prompt_mask.astype(bool)
    np.testing.assert_allclose(
        np.asarray(model.logits(hidden))[real], expected[:, :prompt_len][real], rtol=0, atol=1e-5
    )

    next_position = prompt_mask.sum(axis=1)
    for step in range(new_tokens.shape[1]):
        slot = prompt_len + step
        slot_mask[:, slot] = 1
        hidden, cache = model.hidden_states(
            jnp.asarray(new_tokens[:, step : step + 1]),
            jnp.asarray(slot_mask),
            jnp.asarray((next_position + step)[:, None]),
            cache=cache,
            cache_index=slot,
        )
        np.testing.assert_allclose(np.asarray(model.logits(hidden[:, 0])), expected[:, slot], rtol=0, atol=1e-5)
