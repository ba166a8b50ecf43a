"""Log-probs (and entropies) of the tokens of a sequence, computed chunk by chunk over its positions.

The LM head of a 150k-token vocabulary turns [batch, length, hidden] into [batch, length, vocab] float32
logits: 4.9 GB for 8 x 1024 tokens. Here the head runs on `chunk_size` positions at a time inside a scan
whose body is rematerialised, so the forward pass keeps only each chunk's two outputs and the backward pass
recomputes one chunk's logits at a time: full logits never exist, in either pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from azr_jax.models import Qwen2ForCausalLM


def chunk_statistics(logits: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
    """log softmax(logits)[target] and the entropy of softmax(logits), in float32: [..., vocab] -> [...] each."""
    # Shift by the max first, as log_softmax does: the picked logit and the normaliser then stay small, so
    # subtracting them loses no precision.
    logits = logits.astype(jnp.float32)
    shifted = logits - jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    log_normaliser = jnp.log(jnp.sum(jnp.exp(shifted), axis=-1))
    # A select-and-sum rather than a gather: it stays local when the vocabulary is split over devices.
    vocab_ids = jax.lax.broadcasted_iota(jnp.int32, logits.shape, logits.ndim - 1)
    target_logit = jnp.sum(jnp.where(vocab_ids == targets[..., None], shifted, 0.0), axis=-1)
    probs = jnp.exp(shifted - log_normaliser[..., None])
    entropy = log_normaliser - jnp.sum(probs * shifted, axis=-1)
    return target_logit - log_normaliser, entropy


def token_logprobs(
    model: Qwen2ForCausalLM, input_ids: jax.Array, attention_mask: jax.Array, chunk_size: int
) -> tuple[jax.Array, jax.Array]:
    """Per-token log-prob of each token given the ones before it, and the entropy of that prediction.

    input_ids, attention_mask: [batch, length] (left padding allowed). Returns float32 [batch, length] arrays
    aligned with the tokens: entry t scores token t from the hidden state at t - 1; entry 0 has no prefix and
    is 0. Padding positions get finite values that callers mask out.
    """
    batch, length = input_ids.shape
    hidden, _ = model.hidden_states(input_ids, attention_mask)
    hidden, targets = hidden[:, :-1], input_ids[:, 1:]
    predicted = length - 1
    chunk = min(chunk_size, max(predicted, 1))
    chunks = -(-predicted // chunk)
    pad = chunks * chunk - predicted
    hidden = jnp.pad(hidden, ((0, 0), (0, pad), (0, 0)))
    targets = jnp.pad(targets, ((0, 0), (0, pad)))
    # [chunks, batch, chunk, ...]: the scan walks the sequence; batch (and its sharding) stays whole per step.
    hidden = hidden.reshape(batch, chunks, chunk, -1).swapaxes(0, 1)
    targets = targets.reshape(batch, chunks, chunk).swapaxes(0, 1)

    @jax.checkpoint
    def one_chunk(xs):
        hidden_chunk, target_chunk = xs
        return chunk_statistics(model.logits(hidden_chunk), target_chunk)

    logprobs, entropy = jax.lax.map(one_chunk, (hidden, targets))

    def unchunk(x):
        x = x.swapaxes(0, 1).reshape(batch, chunks * chunk)[:, :predicted]
        return jnp.pad(x, ((0, 0), (1, 0)))

    return unchunk(logprobs), unchunk(entropy)
