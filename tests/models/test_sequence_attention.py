"""The update's attention (`jax.nn.dot_product_attention` over rotated rows) against the masked-softmax einsum
path that prefill and decoding use: same hidden states and same gradients at real positions, float32, 1e-5."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.models.qwen2 import KVCache, attention_implementation

TOLERANCE = 1e-5
CONFIG = Qwen2Config(
    vocab_size=97,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    tie_word_embeddings=True,
)


def padded_batch(length: int = 12):
    """Rows as the update packs them: left padding (prompt), right padding (response), both, neither."""
    runs = [(2, 8), (0, 12), (5, 12), (0, 7), (3, 4)]  # [start, stop) of each row's real tokens
    mask = np.zeros((len(runs), length), np.int32)
    for row, (start, stop) in enumerate(runs):
        mask[row, start:stop] = 1
    ids = np.random.default_rng(0).integers(0, CONFIG.vocab_size, mask.shape).astype(np.int32)
    return jnp.asarray(ids), jnp.asarray(mask)


def hidden_both_ways(model, ids, mask):
    """(sequence path, cached einsum path): the second prefills a cache with exactly `length` slots."""
    sequence, _ = model.hidden_states(ids, mask)
    positions = jnp.maximum(jnp.cumsum(mask, axis=-1) - 1, 0)
    cache = KVCache.zeros(CONFIG, ids.shape[0], ids.shape[1], jnp.float32)
    cached, _ = model.hidden_states(ids, mask, positions, cache=cache, cache_index=0)
    return sequence, cached


def test_hidden_states_equal_the_einsum_path():
    model = Qwen2ForCausalLM(CONFIG, dtype=jnp.float32, rngs=nnx.Rngs(0))
    ids, mask = padded_batch()
    sequence, cached = hidden_both_ways(model, ids, mask)
    real = np.asarray(mask, bool)
    assert np.isfinite(np.asarray(sequence)).all()
    assert np.abs(np.asarray(sequence)[real] - np.asarray(cached)[real]).max() <= TOLERANCE


def test_gradients_equal_the_einsum_path():
    model = Qwen2ForCausalLM(CONFIG, dtype=jnp.float32, remat=True, rngs=nnx.Rngs(1))
    ids, mask = padded_batch()
    graphdef, params = nnx.split(model)
    probe = jnp.asarray(np.random.default_rng(2).standard_normal((*ids.shape, CONFIG.hidden_size)), jnp.float32)
    weight = mask[..., None].astype(jnp.float32) * probe  # real positions only

    def loss(params, which):
        hidden = hidden_both_ways(nnx.merge(graphdef, params), ids, mask)[which]
        return jnp.sum(hidden * weight)

    ours = jax.tree.leaves(jax.grad(loss)(params, 0))
    reference = jax.tree.leaves(jax.grad(loss)(params, 1))
    assert len(ours) == len(reference) > 0
    for a, b in zip(ours, reference):
        assert np.abs(np.asarray(a) - np.asarray(b)).max() <= TOLERANCE * max(1.0, float(np.abs(np.asarray(b)).max()))


def test_a_mask_with_holes_poisons_its_row_only():
    model = Qwen2ForCausalLM(CONFIG, dtype=jnp.float32, rngs=nnx.Rngs(0))
    ids, mask = padded_batch()
    mask = mask.at[1, 6].set(0)  # row 1: tokens, a hole, tokens
    hidden, _ = model.hidden_states(ids, mask)
    rows_finite = np.isfinite(np.asarray(hidden)).all(axis=(1, 2))
    assert rows_finite.tolist() == [True, False, True, True, True]


def test_cpu_uses_xla():
    assert jax.default_backend() == "cpu"
    assert attention_implementation(jnp.bfloat16) == attention_implementation(jnp.float32) == "xla"
