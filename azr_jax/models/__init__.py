"""Qwen2 / Qwen2.5 in Flax NNX, its presets, sharding rules and Hugging Face interop."""

from azr_jax.models.qwen2 import KVCache, Qwen2ForCausalLM
from azr_jax.models.qwen2_config import PRESETS, Qwen2Config, UnsupportedConfigError, preset
from azr_jax.models.sharding import LOGICAL_AXIS_RULES, make_mesh, shard_module, state_shardings

__all__ = [
    "KVCache",
    "LOGICAL_AXIS_RULES",
    "PRESETS",
    "Qwen2Config",
    "Qwen2ForCausalLM",
    "UnsupportedConfigError",
    "make_mesh",
    "preset",
    "shard_module",
    "state_shardings",
]
