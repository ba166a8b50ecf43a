"""The tiny random Qwen2 model that the RL, checkpoint, export and sampling tests share.

Every tensor is random (norm scales near 1, everything else N(0, 0.1^2), biases included so that they get tested),
drawn in numpy into the abstract model: eager initialisation would compile every op on first use, seconds per
process on a CPU.
"""

import numpy as np
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM

VOCAB = 98  # even, so tensor parallelism splits it; no other dimension of the tests has this size


def tiny_config(vocab_size: int = VOCAB, tied: bool = True, **changes) -> Qwen2Config:
    """2 layers, hidden 32, MLP 48, 4 query heads sharing 2 KV heads (head_dim 8): every size divides by 2."""
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=tied,
        **changes,
    )


def random_model(config: Qwen2Config, seed: int = 0, **options) -> Qwen2ForCausalLM:
    """`options` are the model's (dtype, param_dtype, mesh, remat...); weights are float32 draws either way."""
    model = nnx.eval_shape(lambda: Qwen2ForCausalLM(config, **options, rngs=nnx.Rngs(0)))
    rng = np.random.default_rng(seed)

    def draw(path, variable):
        scale = 1.0 if path[-1] == "scale" else 0.0
        return variable.replace((scale + 0.1 * rng.standard_normal(variable.get_value().shape)).astype(np.float32))

    nnx.update(model, nnx.map_state(draw, nnx.state(model)))
    return model
