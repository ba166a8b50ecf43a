"""Prompt + response token sequences for the RL update, padded to a few bucketed shapes.

Prompts are left-padded and responses right-padded, so every prompt ends at the same column and the update
step compiles once per (prompt bucket, response bucket) pair.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from azr_jax.sampling.sampler import bucket


def length_bucket(length: int, cap: int, smallest: int = 16) -> int:
    """The next power of two >= length (at least `smallest`), never above cap."""
    size = smallest
    while size < length:
        size *= 2
    return min(size, cap)


@dataclasses.dataclass(frozen=True)
class PackedSequences:
    input_ids: np.ndarray  # int32 [rows, P + R]
    attention_mask: np.ndarray  # int32 [rows, P + R]
    loss_mask: np.ndarray  # bool [rows, P + R]: response tokens
    sampler_logprobs: np.ndarray  # float32 [rows, P + R]: entry t scores token t (0 outside responses)
    response_lengths: np.ndarray  # int32 [rows]


def pack_sequences(
    prompt_ids: Sequence[Sequence[int]],
    response_ids: Sequence[np.ndarray],
    response_logprobs: Sequence[np.ndarray],
    pad_id: int,
    prompt_buckets: Sequence[int],
    max_response_tokens: int,
) -> PackedSequences:
    rows = len(prompt_ids)
    if not rows == len(response_ids) == len(response_logprobs):
        raise ValueError("prompt_ids, response_ids and response_logprobs must have one entry per sequence")
    width_p = bucket(max(len(p) for p in prompt_ids), prompt_buckets, "prompt length")
    width_r = length_bucket(max(max(len(r) for r in response_ids), 1), max_response_tokens)
    ids = np.full((rows, width_p + width_r), pad_id, np.int32)
    mask = np.zeros_like(ids)
    loss = np.zeros(ids.shape, bool)
    logprobs = np.zeros(ids.shape, np.float32)
    for i, (prompt, response, lp) in enumerate(zip(prompt_ids, response_ids, response_logprobs)):
        if len(prompt) > width_p or len(response) > width_r:
            raise ValueError(f"sequence {i}: prompt {len(prompt)} / response {len(response)} tokens exceed the caps")
        ids[i, width_p - len(prompt) : width_p] = prompt
        mask[i, width_p - len(prompt) : width_p + len(response)] = 1
        ids[i, width_p : width_p + len(response)] = response
        loss[i, width_p : width_p + len(response)] = True
        logprobs[i, width_p : width_p + len(response)] = lp
    lengths = np.asarray([len(r) for r in response_ids], np.int32)
    return PackedSequences(ids, mask, loss, logprobs, lengths)
