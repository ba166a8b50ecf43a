"""The RL objective as pure functions of per-token arrays: PPO clipped surrogate, entropy bonus, KL penalty.

Every array is [..., length] and aligned with the token ids: entry t belongs to token t (its log-prob under the
prefix before it). `mask` marks the response tokens that are trained on; everything else (prompt, padding, the
first position) is excluded with `where`, never by multiplying, so garbage there (inf, NaN) cannot leak in.

Aggregation is by per-token weights computed once over a whole mini-batch (`loss_weights`), so the sum of
micro-batch losses is exactly the mini-batch loss: a token mean over the mini-batch, not a mean of micro-batch
means.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp

from azr_jax.rl.config import RLConfig


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class PolicyTerms:
    loss: jax.Array  # per-token clipped surrogate (to minimise), 0 outside the mask
    ratio: jax.Array  # pi / pi_old, 1 outside the mask
    clipped: jax.Array  # the clip bound is the active term (its gradient is zero)
    dual_clipped: jax.Array  # the dual-clip cap is the active term (negative advantages only)


def policy_gradient_terms(
    logprobs: jax.Array, old_logprobs: jax.Array, advantages: jax.Array, mask: jax.Array, config: RLConfig
) -> PolicyTerms:
    """max(-A r, -A clip(r, 1 - eps, 1 + eps_high)), optionally capped at -A c for A < 0 (dual clip)."""
    mask = mask.astype(bool)
    log_ratio = jnp.where(mask, logprobs - old_logprobs, 0.0)
    if config.log_ratio_clamp is not None:
        log_ratio = jnp.clip(log_ratio, -config.log_ratio_clamp, config.log_ratio_clamp)
    ratio = jnp.exp(log_ratio)
    advantages = jnp.where(mask, advantages, 0.0)
    unclipped = -advantages * ratio
    bounded = -advantages * jnp.clip(ratio, 1.0 - config.clip_eps, 1.0 + config.clip_high)
    loss = jnp.maximum(unclipped, bounded)
    clipped = mask & (bounded > unclipped)
    dual_clipped = jnp.zeros_like(mask)
    if config.dual_clip is not None:
        cap = -advantages * config.dual_clip
        dual_clipped = mask & (advantages < 0) & (loss > cap)
        loss = jnp.where(dual_clipped, cap, loss)
    return PolicyTerms(loss=jnp.where(mask, loss, 0.0), ratio=ratio, clipped=clipped, dual_clipped=dual_clipped)


def kl_penalty(
    logprobs: jax.Array, ref_logprobs: jax.Array, mask: jax.Array, estimator: Literal["k1", "k3"], clamp: float | None
) -> jax.Array:
    """Per-token estimate of KL(pi || pi_ref) from the sampled token's log-probs, 0 outside the mask."""
    mask = mask.astype(bool)
    log_ratio = jnp.where(mask, ref_logprobs - logprobs, 0.0)  # log(pi_ref / pi)
    if estimator == "k1":
        return -log_ratio
    if clamp is not None:
        log_ratio = jnp.clip(log_ratio, -clamp, clamp)
    return jnp.where(mask, jnp.exp(log_ratio) - log_ratio - 1.0, 0.0)


def loss_weights(mask: jax.Array, aggregation: Literal["token_mean", "sequence_mean"]) -> jax.Array:
    """Per-token weights over one whole mini-batch [sequences, length] that sum to 1 (0 for an empty mask).

    token_mean: 1 / (response tokens in the mini-batch). sequence_mean: 1 / (own response length x responses
    with at least one token).
    """
    mask = mask.astype(jnp.float32)
    if aggregation == "token_mean":
        return mask / jnp.maximum(mask.sum(), 1.0)
    lengths = mask.sum(axis=-1, keepdims=True)
    responses = jnp.maximum(jnp.sum(lengths > 0), 1)
    return mask / jnp.maximum(lengths, 1.0) / responses


def objective(
    logprobs: jax.Array,
    entropy: jax.Array,
    old_logprobs: jax.Array,
    advantages: jax.Array,
    ref_logprobs: jax.Array | None,
    mask: jax.Array,
    weights: jax.Array,
    token_weights: jax.Array,
    config: RLConfig,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The loss to minimise, sum(weights * (pg + kl_coeff kl - entropy_coeff H)), and its diagnostics.

    weights: the aggregation weights (`loss_weights` with config.loss_aggregation); token_weights: token-mean
    weights, used for the diagnostics so they read as per-token averages whatever the aggregation. Both come
    from the whole mini-batch, so the diagnostics of micro-batches add up, except the ratio extremes
    (`EXTREME_METRICS`), which combine by max/min.
    """
    mask = mask.astype(bool)
    terms = policy_gradient_terms(logprobs, old_logprobs, advantages, mask, config)
    per_token = terms.loss
    if config.entropy_coeff:
        per_token = per_token - config.entropy_coeff * entropy
    kl_ref = None
    if config.kl_coeff:
        if ref_logprobs is None:
            raise ValueError("rl.kl_coeff > 0 needs the batch's ref_logprobs")
        kl_ref = kl_penalty(logprobs, ref_logprobs, mask, config.kl_estimator, config.log_ratio_clamp)
        per_token = per_token + config.kl_coeff * kl_ref
    loss = jnp.sum(jnp.where(mask, weights * per_token, 0.0))

    def token_mean(x):
        return jnp.sum(jnp.where(mask, token_weights * x, 0.0))

    log_ratio = jnp.log(terms.ratio)
    metrics = {
        "loss": loss,
        "pg_loss": jnp.sum(jnp.where(mask, weights * terms.loss, 0.0)),
        "entropy": token_mean(jax.lax.stop_gradient(entropy)),
        "clip_fraction": token_mean(terms.clipped.astype(jnp.float32)),
        "dual_clip_fraction": token_mean(terms.dual_clipped.astype(jnp.float32)),
        # KL(pi_old || pi) by k3 on tokens sampled from pi_old: how far this update moved the policy.
        "approx_kl": token_mean((terms.ratio - 1.0) - log_ratio),
        "ratio_mean": token_mean(terms.ratio),
        "ratio_max": jnp.max(jnp.where(mask, terms.ratio, -jnp.inf)),
        "ratio_min": jnp.min(jnp.where(mask, terms.ratio, jnp.inf)),
        "tokens": jnp.sum(mask.astype(jnp.float32)),
    }
    if kl_ref is not None:
        metrics["kl_ref"] = token_mean(kl_ref)
    return loss, jax.tree.map(jax.lax.stop_gradient, metrics)


# Diagnostics that combine over micro-batches and updates by these reductions; the rest are weighted sums.
EXTREME_METRICS = {"ratio_max": jnp.max, "ratio_min": jnp.min}


def logprob_gap(trainer_logprobs: jax.Array, sampler_logprobs: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
    """How far the sampler's log-probs of its own tokens are from the trainer's (numerics, not learning)."""
    mask = mask.astype(bool)
    diff = jnp.where(mask, trainer_logprobs - sampler_logprobs, 0.0)
    count = jnp.maximum(mask.sum(), 1)
    return {
        "logprob_gap_mean_abs": jnp.sum(jnp.abs(diff)) / count,
        "logprob_gap_max_abs": jnp.max(jnp.abs(diff)),
        "logprob_gap_mean": jnp.sum(diff) / count,
        # k3 estimate of KL(sampler || trainer) on the sampler's tokens.
        "logprob_gap_kl": jnp.sum(jnp.where(mask, jnp.exp(diff) - diff - 1.0, 0.0)) / count,
    }
