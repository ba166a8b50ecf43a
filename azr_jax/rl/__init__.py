"""The RL update: PPO clipped surrogate on TRR++ advantages, chunked log-probs, AdamW, sharded over a mesh."""

from azr_jax.rl.batch import BatchLayout, RLBatch, batch_layout
from azr_jax.rl.config import RLConfig
from azr_jax.rl.learner import Learner, TrainState, model_options
from azr_jax.rl.logprobs import token_logprobs
from azr_jax.rl.parallel import ParallelConfig, initialize, is_primary, mesh_from_config, process_rows, shard_batch

__all__ = [
    "BatchLayout",
    "Learner",
    "ParallelConfig",
    "RLBatch",
    "RLConfig",
    "TrainState",
    "batch_layout",
    "initialize",
    "is_primary",
    "mesh_from_config",
    "model_options",
    "process_rows",
    "shard_batch",
    "token_logprobs",
]
