"""AdamW with global-norm clipping and an optional linear warmup, from RLConfig."""

from __future__ import annotations

import optax

from azr_jax.rl.config import RLConfig


def learning_rate_schedule(config: RLConfig) -> optax.Schedule:
    """Linear warmup from 0 over `warmup_steps` optimizer updates, then constant."""
    if config.warmup_steps == 0:
        return optax.constant_schedule(config.learning_rate)
    warmup = optax.linear_schedule(0.0, config.learning_rate, config.warmup_steps)
    return optax.join_schedules([warmup, optax.constant_schedule(config.learning_rate)], [config.warmup_steps])


def make_optimizer(config: RLConfig) -> optax.GradientTransformation:
    adamw = optax.adamw(
        learning_rate_schedule(config),
        b1=config.adam_b1,
        b2=config.adam_b2,
        eps=config.adam_eps,
        weight_decay=config.weight_decay,
    )
    if config.max_grad_norm is None:
        return adamw
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), adamw)
