"""Task-Relative REINFORCE++ advantages, with global REINFORCE++ and a GRPO-style baseline for ablations.

Task-Relative REINFORCE++ normalises each reward with the mean and standard deviation of its own
(task type, role) group in the step's batch: six baselines. The paper computes the statistics per sample;
the public code (veRL's REINFORCE++ whitening applied to each task-role batch) weights every response
token, so long responses count more, and uses the unbiased variance under `rsqrt(var + eps)`.

A group of one response, or one whose rewards are all equal, has no spread to learn from: its advantages
are exactly 0 (not (r - mean) / eps, which would turn rounding noise into full-size updates).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import numpy as np


@dataclasses.dataclass(frozen=True)
class AdvantageConfig:
    # "task_relative": one baseline per (task type, role) (the paper); "global": one baseline for the whole
    # batch (REINFORCE++); "group": one per prompt, over the responses to it (GRPO-style; the trainer answers
    # each prompt rollout.samples_per_prompt times and refuses "group" with one response per prompt).
    estimator: Literal["task_relative", "global", "group"] = "task_relative"
    # "sample": every response counts once (the paper); "token": weighted by response tokens (public code).
    weighting: Literal["sample", "token"] = "sample"
    # sample weighting: A = (r - mean) / (std + epsilon), population std.
    # token weighting: A = (r - mean) / sqrt(unbiased var + epsilon), as veRL's masked whitening (1e-8).
    epsilon: float = 1e-6

    def __post_init__(self):
        if self.epsilon < 0:
            raise ValueError(f"epsilon must be >= 0, got {self.epsilon}")


def compute_advantages(
    rewards: np.ndarray,
    task_types: Sequence[str],
    roles: Sequence[str],
    config: AdvantageConfig,
    token_counts: np.ndarray | None = None,
    prompt_ids: Sequence[object] | None = None,
) -> np.ndarray:
    """One advantage per response (the trainer spreads it over the response's tokens).

    rewards: [n]; task_types, roles: [n] labels (TaskType/Role or their values); token_counts: [n] response
    lengths, needed for token weighting; prompt_ids: [n] prompt identity, needed for the "group" estimator.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    n = rewards.shape[0]
    if rewards.ndim != 1 or len(task_types) != n or len(roles) != n:
        raise ValueError("rewards, task_types and roles must be 1-d and of one length")
    if config.weighting == "token":
        if token_counts is None:
            raise ValueError("advantages.weighting='token' needs token_counts")
        weights = np.asarray(token_counts, dtype=np.float64)
        if weights.shape != (n,) or np.any(weights < 0):
            raise ValueError("token_counts must be [n] non-negative lengths")
    else:
        weights = np.ones(n)
    if config.estimator == "task_relative":
        labels = [f"{_value(t)}/{_value(r)}" for t, r in zip(task_types, roles)]
    elif config.estimator == "global":
        labels = [""] * n
    else:
        if prompt_ids is None or len(prompt_ids) != n:
            raise ValueError("advantages.estimator='group' needs prompt_ids of length n")
        labels = [repr(p) for p in prompt_ids]
    _, group_of = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    advantages = np.zeros(n)
    for g in range(group_of.max() + 1 if n else 0):
        members = np.flatnonzero(group_of == g)
        advantages[members] = _normalise(rewards[members], weights[members], config)
    return advantages


def _normalise(rewards: np.ndarray, weights: np.ndarray, config: AdvantageConfig) -> np.ndarray:
    if rewards.size < 2 or np.all(rewards == rewards[0]):
        return np.zeros_like(rewards)
    total = weights.sum()
    if config.weighting == "sample":
        mean = rewards.mean()
        return (rewards - mean) / (rewards.std() + config.epsilon)
    if total <= 1:  # the unbiased token variance needs more than one token
        return np.zeros_like(rewards)
    mean = (weights * rewards).sum() / total
    var = (weights * (rewards - mean) ** 2).sum() / total * total / (total - 1)
    return (rewards - mean) / np.sqrt(var + config.epsilon)


def _value(label: object) -> str:
    return str(getattr(label, "value", label))
