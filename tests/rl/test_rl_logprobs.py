"""Chunked log-probs against the naive full-logits log-softmax, and no full logits in the backward pass."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rl_fixtures import VOCAB, random_batch, tiny_model

from azr_jax.rl import RLConfig, token_logprobs

F32 = RLConfig(compute_dtype="float32", remat=False)


@nnx.jit
def _naive(model, ids, mask):
    log_probs = jax.nn.log_softmax(model(ids, attention_mask=mask), axis=-1)
    picked = jnp.take_along_axis(log_probs[:, :-1], ids[:, 1:, None], axis=-1)[..., 0]
    entropy = -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)[:, :-1]
    return jnp.pad(picked, ((0, 0), (1, 0))), jnp.pad(entropy, ((0, 0), (1, 0)))


@pytest.fixture(scope="module", params=[True, False], ids=["tied", "untied"])
def model_and_batch(request):
    return tiny_model(F32, tied=request.param), random_batch(sequences=3, prompt=6, response=7)


@pytest.mark.parametrize("chunk_size", [1, 4, 5, 64])  # the 12 predicted positions: divisors and not
def test_chunked_logprobs_equal_full_log_softmax(model_and_batch, chunk_size):
    model, batch = model_and_batch
    ids, mask = jnp.asarray(batch.input_ids), jnp.asarray(batch.attention_mask)
    graphdef, state = nnx.split(model)
    chunked = jax.jit(lambda s: token_logprobs(nnx.merge(graphdef, s), ids, mask, chunk_size))
    logprobs, entropy = chunked(state)
    expected_logprobs, expected_entropy = _naive(model, ids, mask)
    real = np.asarray(mask, bool)
    np.testing.assert_allclose(np.asarray(logprobs)[real], np.asarray(expected_logprobs)[real], rtol=0, atol=1e-6)
    # Entropy is a vocabulary-long sum computed by a different formula on each side: agree to 1e-6 relative (~8 ulp).
    np.testing.assert_allclose(np.asarray(entropy)[real], np.asarray(expected_entropy)[real], rtol=1e-6, atol=0)
    assert np.all(np.asarray(logprobs)[:, 0] == 0)


def test_full_logits_never_exist_in_the_gradient():
    model = tiny_model(F32)
    batch = random_batch(sequences=3, prompt=6, response=7)
    ids, mask = jnp.asarray(batch.input_ids), jnp.asarray(batch.attention_mask)
    graphdef, state = nnx.split(model)

    def total(state):
        logprobs, entropy = token_logprobs(nnx.merge(graphdef, state), ids, mask, 4)
        return logprobs.sum() + entropy.sum()

    hlo = jax.jit(jax.grad(total)).lower(state).compile().as_text()
    shapes = {tuple(int(d) for d in s.split(",") if d) for s in re.findall(rf"\[((?:[0-9]+,)*){VOCAB}\]", hlo)}
    assert (3, 4) in shapes  # one chunk's logits: [batch, chunk, vocab]
    # Nothing holds more than one chunk's logits (3 x 4 positions), stacked or not; (32,) is the head's kernel.
    assert all(np.prod(s) <= 3 * 4 for s in shapes if s != (32,)), shapes
