"""jit-compiled batched generation with a KV cache, shared-prefix rollouts and per-token log-probs."""

from azr_jax.sampling.sampler import SampleOutput, Sampler, SamplerConfig, end_of_sequence_ids
from azr_jax.sampling.token_sampling import SamplingParams, filter_logits, sample_tokens

__all__ = [
    "SampleOutput",
    "Sampler",
    "SamplerConfig",
    "SamplingParams",
    "end_of_sequence_ids",
    "filter_logits",
    "sample_tokens",
]
