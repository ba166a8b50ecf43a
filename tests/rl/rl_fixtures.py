"""Tiny random models and batches shared by the RL tests (also imported by the 8-device subprocess script)."""

import numpy as np
from tiny_models import VOCAB, random_model, tiny_config

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.rl import RLBatch, RLConfig, model_options


def tiny_model(config: RLConfig, mesh=None, seed: int = 0, tied: bool = True) -> Qwen2ForCausalLM:
    return random_model(tiny_config(tied=tied), seed, **model_options(config, mesh))


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
