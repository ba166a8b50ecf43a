"""`models.info.memory_plan` against XLA's own buffer assignment of the compiled update (CPU, small shapes), and the
refusal the trainer raises from it.

Tolerance: the plan's update peak is within 25% of XLA's (arguments + outputs - aliased + temporaries). Parameters,
optimizer state and the batch are exact; activations are an estimate of what XLA keeps alive.
"""

import functools
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from azr_jax.config import ConfigError
from azr_jax.models import Qwen2Config, Qwen2ForCausalLM, make_mesh, preset
from azr_jax.models.info import check_fits, memory_plan, parameter_count
from azr_jax.rl import Learner, RLBatch, RLConfig, model_options
from azr_jax.sampling import SamplerConfig
from azr_jax.trainer.run_config import RolloutConfig, RunConfig

TOLERANCE = 0.25


def run_config(sequences: int, prompt: int, response: int, rl: RLConfig, prompts_per_call: int = 16) -> RunConfig:
    return RunConfig(
        rollout=RolloutConfig(
            batch_size=sequences // 6,
            max_prompt_tokens=prompt,
            max_response_tokens=response,
            max_prompts_per_call=prompts_per_call,
        ),
        sampler=SamplerConfig(prompt_buckets=(prompt,), max_new_tokens_cap=response),
        rl=rl,
    )


@pytest.mark.parametrize(
    "e, m, layers, heads, kv, head_dim, vocab, micro, sequences, prompt, response",
    [
        (128, 256, 2, 4, 2, 32, 1000, 4, 24, 256, 256),  # attention scores dominate
        (512, 2048, 4, 4, 2, 32, 1000, 4, 24, 32, 32),  # weights, gradients and MLP dominate
        (256, 1024, 3, 4, 2, 64, 4000, 6, 12, 64, 192),  # mixed, two micro-batches accumulated
    ],
)
def test_update_peak_matches_xla(e, m, layers, heads, kv, head_dim, vocab, micro, sequences, prompt, response):
    model_config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=e,
        intermediate_size=m,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=head_dim,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
    )
    rl = RLConfig(micro_batch_size=micro, compute_dtype="bfloat16", remat=True, logprob_chunk_size=64)
    mesh = make_mesh(1, 1, 1, jax.devices()[:1])
    model = nnx.eval_shape(lambda: Qwen2ForCausalLM(model_config, **model_options(rl, mesh), rngs=nnx.Rngs(0)))
    learner = Learner(model, rl, mesh)
    length = prompt + response
    array = functools.partial(jax.ShapeDtypeStruct, (sequences, length))
    batch = RLBatch(array(jnp.int32), array(jnp.int32), array(jnp.float32), array(jnp.float32), array(jnp.float32))
    update = jax.jit(functools.partial(learner._update, layout=learner.layout(sequences)), donate_argnums=0)
    memory = update.lower(learner.abstract_state(), batch).compile().memory_analysis()
    xla = (
        memory.argument_size_in_bytes
        + memory.output_size_in_bytes
        - memory.alias_size_in_bytes
        + memory.temp_size_in_bytes
    )

    plan = memory_plan(
        model_config, run_config(sequences, prompt, response, rl), {"data": 1, "fsdp": 1, "tensor": 1}, "xla", sequences
    )
    assert plan.parameters == 4 * parameter_count(model_config)
    assert abs(plan.update_peak / xla - 1) <= TOLERANCE, (plan.update_peak, xla)


def test_parameters_shard_over_fsdp_and_reference_counts_with_kl():
    config = preset("qwen2.5-coder-3b")
    rl = RLConfig(micro_batch_size=8)
    run = run_config(384, 1024, 1024, rl)
    one = memory_plan(config, run, {"data": 1, "fsdp": 1, "tensor": 1})
    four = memory_plan(config, run, {"data": 1, "fsdp": 4, "tensor": 1})
    assert one.parameters == 4 * parameter_count(config)
    # Norm scales and attention biases have no "embed" dimension, so fsdp leaves them whole on every device.
    whole = 36 * (2 * 2048 + (16 + 2 + 2) * 128) + 2048
    assert four.parameters == 4 * ((parameter_count(config) - whole) // 4 + whole)
    assert four.optimizer == 2 * four.parameters
    assert one.reference == 0
    with_kl = memory_plan(
        config,
        run_config(384, 1024, 1024, RLConfig(micro_batch_size=8, kl_coeff=0.01)),
        {"data": 1, "fsdp": 1, "tensor": 1},
    )
    assert with_kl.reference == one.parameters // 2  # a bfloat16 copy of the float32 weights
    assert with_kl.resident == one.resident + with_kl.reference


def test_kv_cache_is_the_largest_calls_bytes():
    config = preset("qwen2.5-coder-3b")
    # 12 prompts per call, padded to the sampler's batch bucket of 16, x 8 rollouts each
    run = run_config(384, 1024, 1024, RLConfig(micro_batch_size=8), prompts_per_call=12)
    plan = memory_plan(config, run, {"data": 1, "fsdp": 1, "tensor": 1})
    per_token = 2 * 36 * 2 * 128 * 2  # keys and values, 36 layers, 2 KV heads of 128, bfloat16: 36 KiB
    prompts = 16
    rows, slots = prompts * 8, 1024 + 1024
    assert (plan.sampler_rows, plan.sampler_slots) == (rows, slots)
    assert plan.kv_cache == (prompts + rows) * slots * per_token + rows * 1024 * 8


def test_a_run_that_cannot_fit_is_refused_naming_the_settings():
    config = preset("qwen2.5-coder-3b")
    plan = memory_plan(
        config, run_config(384, 6144, 8096, RLConfig(micro_batch_size=8)), {"data": 1, "fsdp": 1, "tensor": 1}
    )
    with pytest.raises(ConfigError, match=r"rollout\.max_prompts_per_call.*rl\.micro_batch_size"):
        check_fits(plan, 80 * 2**30)
    check_fits(plan, plan.peak)  # exactly enough passes
    check_fits(plan, None)  # a device that does not say (CPU) is not checked


def test_cli_prints_the_plan_of_a_config_file():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "azr_jax.models.info",
            "qwen2.5-coder-3b",
            "--config",
            "configs/azr_3b.py",
            "--device-memory-gib",
            "141",
            "--config.rl.micro_batch_size=2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "update: activations, 2 sequences x 14240 tokens" in out.stdout
    assert "per device:" in out.stdout and ("fits" in out.stdout)
