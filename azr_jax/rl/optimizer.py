"""AdamW with global-norm clipping, an optional linear warmup and a run-time learning-rate scale, from RLConfig."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from azr_jax.rl.config import RLConfig


class LearningRateScaleState(NamedTuple):
    # Multiplies every update, so it scales the learning rate (weight decay included, as AdamW couples them).
    # 1 unless the divergence guard lowered it; it lives in the optimizer state so checkpoints keep it.
    learning_rate_scale: jax.Array


def scale_learning_rate() -> optax.GradientTransformation:
    def init(params):
        del params
        return LearningRateScaleState(jnp.ones((), jnp.float32))

    def update(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * state.learning_rate_scale.astype(u.dtype), updates), state

    return optax.GradientTransformation(init, update)


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
    clip = [] if config.max_grad_norm is None else [optax.clip_by_global_norm(config.max_grad_norm)]
    return optax.chain(*clip, adamw, scale_learning_rate())
