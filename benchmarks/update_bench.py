"""The RL update on one device: chunked log-probs against full logits, and a whole sharded RL step.

    python benchmarks/update_bench.py --preset qwen2.5-coder-3b --batch 8 --prompt 512 --response 1024

Random weights, bfloat16 compute on float32 master weights, remat, as `RLConfig()` trains.

Part 1 (LM head only, one micro-batch of hidden states): gradient of sum(log-probs) + sum(entropy) with
respect to hidden states and head weights, through `token_logprobs`' chunked scan (several chunk sizes) and
through naive full [batch, length, vocab] float32 logits. Prints XLA's temporary-buffer size of each compiled
program and its median time.

Part 2 (the model): `Learner.old_logprobs` and `Learner.update` on every device (an fsdp mesh): compile time,
median step time, tokens/s and model FLOPs utilisation (6 x parameters x tokens plus attention, against
--peak-tflops), and peak device memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from random_qwen_folder import tiny

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM, make_mesh, preset
from azr_jax.models.info import memory_plan
from azr_jax.models.qwen2 import attention_implementation
from azr_jax.rl import Learner, RLBatch, RLConfig, model_options, token_logprobs
from azr_jax.rl.logprobs import chunk_statistics
from azr_jax.sampling import SamplerConfig
from azr_jax.trainer.run_config import RolloutConfig, RunConfig


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class _HeadOnly:
    """Stands in for the model in `token_logprobs`: fixed hidden states, then the real LM head."""

    def __init__(self, hidden, head):
        self._hidden, self._head = hidden, head

    def hidden_states(self, input_ids, attention_mask):
        return self._hidden, None

    def logits(self, hidden):
        return jnp.einsum("...e,ve->...v", hidden, self._head.astype(hidden.dtype), preferred_element_type=jnp.float32)


def bench_head(config: Qwen2Config, batch: int, length: int, chunk_sizes: list[int], repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    hidden = jnp.asarray(rng.standard_normal((batch, length, config.hidden_size)), jnp.bfloat16)
    head = jnp.asarray(0.02 * rng.standard_normal((config.vocab_size, config.hidden_size)), jnp.float32)
    ids = jnp.asarray(rng.integers(0, config.vocab_size, (batch, length)), jnp.int32)

    def chunked(chunk):
        def total(hidden, head):
            logprobs, entropy = token_logprobs(_HeadOnly(hidden, head), ids, None, chunk)
            return logprobs.sum() + entropy.sum()

        return total

    def naive(hidden, head):
        logits = _HeadOnly(hidden, head).logits(hidden[:, :-1])
        logprobs, entropy = chunk_statistics(logits, ids[:, 1:])
        return logprobs.sum() + entropy.sum()

    rows = []
    for name, fn in [("full logits", naive)] + [(f"chunks of {c}", chunked(c)) for c in chunk_sizes]:
        compiled = jax.jit(jax.grad(fn, argnums=(0, 1))).lower(hidden, head).compile()
        memory = compiled.memory_analysis()
        rows.append(
            {
                "variant": name,
                "temp_GiB": memory.temp_size_in_bytes / 2**30 if memory is not None else float("nan"),
                "grad_s": median_seconds(lambda: compiled(hidden, head), repeats),
            }
        )
        print(f"  head {rows[-1]}", flush=True)
    return rows


def random_model(config: Qwen2Config, rl: RLConfig, mesh) -> Qwen2ForCausalLM:
    abstract = nnx.eval_shape(lambda: Qwen2ForCausalLM(config, **model_options(rl, mesh), rngs=nnx.Rngs(0)))
    from azr_jax.models import state_shardings

    shardings = state_shardings(nnx.state(abstract), mesh)
    build = nnx.jit(lambda: nnx.state(Qwen2ForCausalLM(config, **model_options(rl, mesh), rngs=nnx.Rngs(0))))
    state = jax.jit(lambda: build(), out_shardings=shardings)()
    nnx.update(abstract, state)
    return abstract


def model_flops_per_token(config: Qwen2Config, context: int) -> float:
    """Training FLOPs per token: 6 x matmul parameters (the LM head included) + attention over `context`."""
    e, m, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    q, kv = config.num_attention_heads * config.head_dim, config.num_key_value_heads * config.head_dim
    per_layer = e * q + 2 * e * kv + q * e + 3 * e * m
    matmul_params = layers * per_layer + e * config.vocab_size
    attention = layers * 4 * context * q  # QK^T and PV, forward, the full (masked) square as computed
    return 3 * (2 * matmul_params + attention)


def bench_step(
    config: Qwen2Config, rl: RLConfig, batch: int, prompt: int, response: int, repeats: int, peak_tflops: float
) -> dict:
    mesh = make_mesh()
    start = time.perf_counter()
    model = random_model(config, rl, mesh)
    learner = Learner(model, rl, mesh)
    state = learner.init_state(model)
    jax.block_until_ready(state)
    init_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    length = prompt + response
    ids = rng.integers(0, config.vocab_size, (batch, length)).astype(np.int32)
    attention = np.ones_like(ids)
    loss_mask = np.zeros_like(ids)
    loss_mask[:, prompt:] = 1

    start = time.perf_counter()
    old, _ = learner.old_logprobs(state, ids, attention, loss_mask)
    jax.block_until_ready(old)
    logprobs_first_s = time.perf_counter() - start
    logprobs_s = median_seconds(lambda: learner.old_logprobs(state, ids, attention, loss_mask)[0], repeats)

    rl_batch = RLBatch.from_numpy(ids, attention, loss_mask, rng.standard_normal(batch), np.asarray(old))
    start = time.perf_counter()
    state, metrics = learner.update(state, rl_batch)
    jax.block_until_ready(metrics)
    update_first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        state, metrics = learner.update(state, rl_batch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    update_s = statistics.median(times)
    tokens = batch * length
    flops = model_flops_per_token(config, length) * tokens * rl.num_epochs
    stats = jax.devices()[0].memory_stats() or {}
    # The trainer's memory plan for this update (its update phase: no sampling happened here).
    run = RunConfig(
        rollout=RolloutConfig(batch_size=max(batch // 6, 1), max_prompt_tokens=prompt, max_response_tokens=response),
        sampler=SamplerConfig(prompt_buckets=(prompt,), max_new_tokens_cap=response),
        rl=rl,
    )
    attention = attention_implementation(jnp.dtype(rl.compute_dtype))
    plan = memory_plan(config, run, dict(mesh.shape), attention, num_sequences=batch)
    return {
        "batch": f"{batch}x({prompt}+{response})",
        "attention": attention,
        "micro": rl.micro_batch_size or batch,
        "init_s": init_s,
        "logprobs_first_s": logprobs_first_s,
        "logprobs_s": logprobs_s,
        "update_first_s": update_first_s,
        "update_s": update_s,
        "update_tokens_per_s": tokens / update_s,
        "update_MFU": flops / update_s / (peak_tflops * 1e12),
        "peak_GiB": stats.get("peak_bytes_in_use", float("nan")) / 2**30,
        "planned_update_peak_GiB": plan.update_peak / 2**30,
        "loss": float(metrics["loss"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-coder-3b")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model instead of the preset (a CPU smoke run)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=512)
    parser.add_argument("--response", type=int, default=1024)
    parser.add_argument("--micro-batch", type=int, nargs="+", default=[8], help="one step row per micro-batch size")
    parser.add_argument("--head-batch", type=int, default=4)
    parser.add_argument("--chunk", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100 SXM: 989)")
    parser.add_argument("--skip-head", action="store_true")
    parser.add_argument("--skip-step", action="store_true")
    parser.add_argument("--json", default=None, help="also write the step rows to this file")
    args = parser.parse_args()
    config = tiny(preset(args.preset)) if args.tiny else preset(args.preset)
    print(
        f"device: {jax.devices()[0].device_kind} x {jax.device_count()} ({jax.default_backend()}), jax {jax.__version__}"
    )
    print(f"model: {'tiny ' if args.tiny else ''}{args.preset}", flush=True)
    length = args.prompt + args.response
    if not args.skip_head:
        rows = bench_head(config, args.head_batch, length, args.chunk, args.repeats)
        print(
            f"\nLM head, gradient of log-probs + entropy, {args.head_batch} x {length} tokens, vocab {config.vocab_size}"
        )
        print("| variant | XLA temp GiB | time s |\n|---|---|---|")
        for row in rows:
            print(f"| {row['variant']} | {row['temp_GiB']:.2f} | {row['grad_s']:.4f} |")
    step_rows = []
    for micro in [] if args.skip_step else args.micro_batch:
        rl = RLConfig(micro_batch_size=micro)
        step_rows.append(bench_step(config, rl, args.batch, args.prompt, args.response, args.repeats, args.peak_tflops))
        print(f"  step {step_rows[-1]}", flush=True)
    if not step_rows:
        return
    if args.json:
        meta = {
            "preset": args.preset,
            "tiny": args.tiny,
            "device": jax.devices()[0].device_kind,
            "devices": jax.device_count(),
            "jax": jax.__version__,
            "peak_tflops": args.peak_tflops,
        }
        with open(args.json, "w") as f:
            json.dump({**meta, "rows": step_rows}, f, indent=2)
    columns = [
        "batch",
        "micro",
        "attention",
        "logprobs_first_s",
        "logprobs_s",
        "update_first_s",
        "update_s",
        "update_tokens_per_s",
        "update_MFU",
        "peak_GiB",
        "planned_update_peak_GiB",
    ]
    print("\nRL step (bf16 compute, f32 master weights, remat, AdamW)")
    print("| " + " | ".join(columns) + " |\n" + "|---" * len(columns) + "|")
    for row in step_rows:
        print("| " + " | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")


if __name__ == "__main__":
    main()
