"""Our Flax Qwen2 against the PyTorch transformers reference, float32, max |delta logits| <= 1e-4."""

import jax.numpy as jnp
import numpy as np
import pytest
from hf_reference import TINY_CONFIGS, build_hf_model, hf_logits, left_padded_batch, save_hf_model

from azr_jax.models import Qwen2ForCausalLM

TOLERANCE = 1e-4


@pytest.fixture(scope="module", params=sorted(TINY_CONFIGS))
def pair(request, tmp_path_factory):
    reference = build_hf_model(request.param)
    folder = save_hf_model(reference, tmp_path_factory.mktemp(request.param))
    return reference, Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32)


def test_logits_match_without_padding(pair):
    reference, ours = pair
    ids = np.random.default_rng(1).integers(0, reference.config.vocab_size, (3, 11))
    expected = hf_logits(reference, ids)
    got = np.asarray(ours(jnp.asarray(ids)))
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() <= TOLERANCE


def test_logits_match_with_left_padding(pair):
    reference, ours = pair
    ids, mask = left_padded_batch(np.random.default_rng(2), reference.config.vocab_size, [9, 4, 1, 6])
    expected = hf_logits(reference, ids, mask)
    got = np.asarray(ours(jnp.asarray(ids), attention_mask=jnp.asarray(mask)))
    real = mask.astype(bool)
    assert np.abs(got[real] - expected[real]).max() <= TOLERANCE


def test_padding_is_never_attended(pair):
    """Changing the pad tokens' ids changes nothing at real positions."""
    reference, ours = pair
    ids, mask = left_padded_batch(np.random.default_rng(3), reference.config.vocab_size, [8, 3])
    other = np.where(mask == 1, ids, (ids + 17) % reference.config.vocab_size)
    a = np.asarray(ours(jnp.asarray(ids), attention_mask=jnp.asarray(mask)))
    b = np.asarray(ours(jnp.asarray(other), attention_mask=jnp.asarray(mask)))
    real = mask.astype(bool)
    np.testing.assert_array_equal(a[real], b[real])


def test_hidden_states_then_lm_head_equal_logits(pair):
    _, ours = pair
    ids = jnp.asarray(np.random.default_rng(4).integers(0, 101, (2, 5)))
    hidden, cache = ours.hidden_states(ids)
    assert cache is None
    np.testing.assert_array_equal(np.asarray(ours.logits(hidden[:, -1])), np.asarray(ours(ids)[:, -1]))
