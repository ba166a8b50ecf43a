"""Choosing the next token from logits: temperature, top-k, top-p, greedy. Pure functions of traced values.

Every sampling parameter is a traced array, so changing it never recompiles. The full-vocabulary sort that
top-k/top-p need runs only when one of them is active (`lax.cond`), so the paper's setting (temperature 1,
top-p 1, no top-k) costs one softmax per step.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SamplingParams:
    """Traced sampling settings, the same for every row of a call.

    temperature 0 is greedy; top_k <= 0 and top_p >= 1 disable those filters; max_new_tokens is the budget
    (at most the sampler's static cap).
    """

    temperature: jax.Array
    top_p: jax.Array
    top_k: jax.Array
    max_new_tokens: jax.Array

    @classmethod
    def make(cls, temperature=1.0, top_p=1.0, top_k=0, max_new_tokens=256) -> SamplingParams:
        return cls(
            temperature=jnp.asarray(temperature, jnp.float32),
            top_p=jnp.asarray(top_p, jnp.float32),
            top_k=jnp.asarray(top_k, jnp.int32),
            max_new_tokens=jnp.asarray(max_new_tokens, jnp.int32),
        )


def filter_logits(logits: jax.Array, top_k: jax.Array, top_p: jax.Array) -> jax.Array:
    """Sets every token outside the top-k and outside the top-p nucleus to -inf. logits: [batch, vocab]."""

    def apply(logits):
        descending = -jnp.sort(-logits, axis=-1)
        vocab = logits.shape[-1]
        k = jnp.where(top_k > 0, jnp.minimum(top_k, vocab), vocab)
        kth_largest = jnp.take(descending, k - 1, axis=-1)[:, None]
        probs = jax.nn.softmax(descending, axis=-1)
        # Keep the smallest prefix whose mass reaches top_p: a token stays if the mass before it is < top_p.
        mass_before = jnp.cumsum(probs, axis=-1) - probs
        kept = jnp.sum(mass_before < top_p, axis=-1, keepdims=True)
        nucleus_floor = jnp.take_along_axis(descending, jnp.maximum(kept - 1, 0), axis=-1)
        threshold = jnp.maximum(kth_largest, nucleus_floor)
        return jnp.where(logits >= threshold, logits, -jnp.inf)

    active = (top_k > 0) | (top_p < 1.0)
    return jax.lax.cond(active, apply, lambda logits: logits, logits)


def sample_tokens(logits: jax.Array, key: jax.Array, params: SamplingParams) -> tuple[jax.Array, jax.Array]:
    """Next token per row and its log-probability under the model (the unscaled, unfiltered log-softmax).

    The returned log-prob is what the RL update compares against as the old policy's: the model's own
    distribution, not the temperature- or nucleus-shaped one the token was drawn from.

    Drawing inverts the cumulative distribution with one uniform number per row, rather than adding Gumbel
    noise to every logit (`jax.random.categorical`): that would generate batch x vocabulary random numbers
    per step, which costs more than the rest of a small model's decode step. Greedy decoding draws nothing.
    """
    logits = logits.astype(jnp.float32)

    def draw(logits):
        scaled = logits / jnp.maximum(params.temperature, 1e-6)
        cdf = jnp.cumsum(jax.nn.softmax(filter_logits(scaled, params.top_k, params.top_p), axis=-1), axis=-1)
        # u in (0, total]: a zero-probability token never holds the first cdf value >= u.
        u = jax.random.uniform(key, (logits.shape[0], 1), minval=jnp.finfo(jnp.float32).tiny, maxval=1.0)
        return jnp.sum(cdf < u * cdf[:, -1:], axis=-1)

    tokens = jax.lax.cond(params.temperature > 0, draw, lambda logits: jnp.argmax(logits, axis=-1), logits)
    tokens = tokens.astype(jnp.int32)
    log_probs = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), tokens[:, None], axis=-1)[:, 0]
    return tokens, log_probs
