"""The self-play settings in one frozen object, assembled from each component's config."""

from __future__ import annotations

import dataclasses

from azr_jax.selfplay.advantages import AdvantageConfig
from azr_jax.selfplay.buffer import BufferConfig
from azr_jax.selfplay.prompts import PromptConfig
from azr_jax.selfplay.rewards import RewardConfig
from azr_jax.selfplay.seeding import SeedingConfig


@dataclasses.dataclass(frozen=True)
class SelfPlayConfig:
    prompts: PromptConfig = PromptConfig()
    buffer: BufferConfig = BufferConfig()
    rewards: RewardConfig = RewardConfig()
    advantages: AdvantageConfig = AdvantageConfig()
    seeding: SeedingConfig = SeedingConfig()
