"""jit-compiled batched generation with a KV cache, shared-prefix rollouts and per-token log-probs."""

from azr_jax.sampling.sampler import SampleOutput, Sampler, SamplerConfig
from azr_jax.sampling.token_sampling import SamplingParams, filter_logits, sample_tokens

__all__ = ["SampleOutput", "Sampler", "SamplerConfig", "SamplingParams", "filter_logits", "sample_tokens"]
