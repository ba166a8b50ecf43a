"""Tiny random models and batches shared by the RL tests (also imported by the 8-device subprocess script)."""

import numpy as np
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.rl import RLBatch, RLConfig, model_options

VOCAB = 98  # even, so tensor parallelism splits it; no other dimension of the tests has this size


def tiny_config(tied: bool = True) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=tied,
    )


def tiny_model(config: RLConfig, mesh=None, seed: int = 0, tied: bool = True) -> Qwen2ForCausalLM:
    """A random model: norm scales near 1, everything else N(0, 0.1^2) (biases too, so they get tested).

    Weights come from numpy into the abstract model: eager initialisation would compile every op on first
    use, seconds per process on this CPU.
    """
    model = nnx.eval_shape(lambda: Qwen2ForCausalLM(tiny_config(tied), **model_options(config, mesh), rngs=nnx.Rngs(0)))
    rng = np.random.default_rng(seed)

    def draw(path, variable):
        shape = variable.get_value().shape
        if path[-1] == "scale":
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            value = 0.1 * rng.standard_normal(shape)
        return variable.replace(value.astype(np.float32))

    nnx.update(model, nnx.map_state(draw, nnx.state(model)))
    return model


def random_batch(sequences: int = 8, prompt: int = 6, response: int = 7, seed: int = 0) -> RLBatch:
    """Left-padded prompts of random length, right-padded responses of random (unequal) length."""
    rng = np.random.default_rng(seed)
    length = prompt + response
    ids = rng.integers(0, VOCAB, (sequences, length))
    attention = np.zeros((sequences, length), np.int32)
    loss = np.zeros((sequences, length), np.int32)
    for row in range(sequences):
        prompt_len = rng.integers(2, prompt + 1)
        response_len = rng.integers(1, response + 1)
        attention[row, prompt - prompt_len : prompt + response_len] = 1
        loss[row, prompt : prompt + response_len] = 1
    old = rng.normal(-4.6, 0.3, (sequences, length))
    return RLBatch.from_numpy(ids, attention, loss, rng.normal(size=sequences), old)
