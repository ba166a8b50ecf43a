"""The update's input (`RLBatch`) and the batch hierarchy: global batch > mini-batches > micro-batches.

A mini-batch is one optimizer update; a micro-batch is one forward/backward pass (memory). Micro-batches are
taken with a stride over the batch, so each one spans every batch shard of the mesh: micro-batch j of U*K is
rows {j, j + U*K, j + 2*U*K, ...}, and mini-batch u is micro-batches u*K .. u*K + K - 1.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from azr_jax.rl.config import RLConfig


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class RLBatch:
    """One step's training data, [sequences, length] each, aligned with the token ids.

    input_ids: prompt (left-padded) + response (right-padded); attention_mask: 1 on real tokens; loss_mask: 1 on
    the response tokens trained on; advantages: per token (a per-sequence advantage broadcast over its tokens);
    old_logprobs: per token, from `Learner.old_logprobs`; ref_logprobs: per token under the frozen reference
    (only with rl.kl_coeff > 0). Values outside loss_mask are ignored.
    """

    input_ids: jax.Array
    attention_mask: jax.Array
    loss_mask: jax.Array
    advantages: jax.Array
    old_logprobs: jax.Array
    ref_logprobs: jax.Array | None = None

    @classmethod
    def from_numpy(
        cls,
        input_ids,
        attention_mask,
        loss_mask,
        advantages,
        old_logprobs,
        ref_logprobs=None,
    ) -> RLBatch:
        """Checks shapes and masks on the host and fixes dtypes; advantages may be [sequences] or per token."""
        input_ids = np.asarray(input_ids)
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be [sequences, length], got shape {input_ids.shape}")
        shape = input_ids.shape
        attention_mask = _per_token("attention_mask", attention_mask, shape)
        loss_mask = _per_token("loss_mask", loss_mask, shape)
        advantages = np.asarray(advantages, np.float32)
        if advantages.shape == shape[:1]:
            advantages = np.broadcast_to(advantages[:, None], shape)
        advantages = _per_token("advantages", advantages, shape)
        if np.any(loss_mask.astype(bool) & ~attention_mask.astype(bool)):
            raise ValueError("loss_mask marks a token that attention_mask marks as padding")
        if np.any(loss_mask[:, 0]):
            raise ValueError("loss_mask marks position 0, which has no prefix to predict it from")
        if not np.all(np.isfinite(np.where(loss_mask.astype(bool), advantages, 0.0))):
            raise ValueError("advantages are not finite on response tokens")
        return cls(
            input_ids=input_ids.astype(np.int32),
            attention_mask=attention_mask.astype(np.int32),
            loss_mask=loss_mask.astype(np.float32),
            advantages=advantages.astype(np.float32),
            old_logprobs=_per_token("old_logprobs", old_logprobs, shape).astype(np.float32),
            ref_logprobs=(
                None if ref_logprobs is None else _per_token("ref_logprobs", ref_logprobs, shape).astype(np.float32)
            ),
        )

    @property
    def num_sequences(self) -> int:
        return self.input_ids.shape[0]


def _per_token(name: str, value, shape: tuple[int, int]) -> np.ndarray:
    value = np.asarray(value)
    if value.shape != shape:
        raise ValueError(f"{name} must have the shape of input_ids {shape}, got {value.shape}")
    return value


@dataclasses.dataclass(frozen=True)
class BatchLayout:
    mini_batch_size: int  # sequences per optimizer update
    micro_batch_size: int  # sequences per forward/backward pass
    num_mini_batches: int
    micro_batches_per_mini_batch: int


def batch_layout(num_sequences: int, config: RLConfig, batch_shards: int = 1) -> BatchLayout:
    """Splits a global batch by the config, or says which setting does not divide; call it at start-up.

    batch_shards: devices the batch is split over (mesh data x fsdp); every micro-batch must split evenly.
    """
    if num_sequences % config.num_mini_batches:
        raise ValueError(
            f"rl.num_mini_batches={config.num_mini_batches} does not divide the global batch of "
            f"{num_sequences} sequences"
        )
    mini = num_sequences // config.num_mini_batches
    micro = config.micro_batch_size or mini
    if mini % micro:
        raise ValueError(
            f"rl.micro_batch_size={micro} does not divide the mini-batch of {mini} sequences "
            f"({num_sequences} sequences / rl.num_mini_batches={config.num_mini_batches})"
        )
    if micro % batch_shards:
        raise ValueError(
            f"the micro-batch of {micro} sequences does not split over the mesh's {batch_shards} batch shards "
            "(data x fsdp); change rl.micro_batch_size or the mesh"
        )
    return BatchLayout(mini, micro, config.num_mini_batches, mini // micro)


def to_micro_batches(x: jax.Array, layout: BatchLayout) -> jax.Array:
    """[sequences, ...] -> [mini-batches, micro-batches, micro_batch_size, ...] by the strided assignment."""
    u, k, m = layout.num_mini_batches, layout.micro_batches_per_mini_batch, layout.micro_batch_size
    x = x.reshape(m, u, k, *x.shape[1:])
    return jnp.moveaxis(x, 0, 2)


def from_micro_batches(x: jax.Array, layout: BatchLayout) -> jax.Array:
    """The inverse of `to_micro_batches`."""
    x = jnp.moveaxis(x, 2, 0)
    return x.reshape(-1, *x.shape[3:])
