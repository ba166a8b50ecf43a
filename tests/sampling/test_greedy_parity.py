"""Greedy decoding against transformers' greedy `generate`, token for token (float32, left padding)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hf_reference import build_hf_model, left_padded_batch, save_hf_model

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.sampling import Sampler, SamplerConfig

NEW_TOKENS = 12


@pytest.mark.parametrize("name", ["tied_gqa2_theta1e6", "untied_gqa4_theta1e6"])
def test_greedy_equals_transformers_generate(tmp_path, name):
    reference = build_hf_model(name, seed=11)
    model = Qwen2ForCausalLM.from_pretrained(save_hf_model(reference, tmp_path), dtype=jnp.float32)
    lengths = [7, 3, 5, 1]
    ids, mask = left_padded_batch(np.random.default_rng(5), reference.config.vocab_size, lengths)
    with torch.no_grad():
        expected = reference.generate(
            torch.as_tensor(ids),
            attention_mask=torch.as_tensor(mask),
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            eos_token_id=None,
            pad_token_id=0,
        )[:, ids.shape[1] :].numpy()

    sampler = Sampler(
        model,
        config=SamplerConfig(
            prompt_buckets=(8, 16), batch_buckets=(4, 8), max_new_tokens_cap=16, cache_dtype="float32"
        ),
    )
    prompts = [row[m == 1].tolist() for row, m in zip(ids, mask)]
    out = sampler.generate(prompts, key=jax.random.key(0), max_new_tokens=NEW_TOKENS, temperature=0.0, eos_ids=[])
    np.testing.assert_array_equal(out.token_ids, expected)
    assert out.lengths.tolist() == [NEW_TOKENS] * 4
    assert out.finish_reasons == ["length"] * 4
