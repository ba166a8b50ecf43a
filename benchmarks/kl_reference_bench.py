"""The RL update of the tiny config with and without the KL reference policy (rl.kl_coeff > 0).

    python benchmarks/kl_reference_bench.py [--repeats 5]

The tiny coder (assets/tinycoder) with configs/tiny.py's RL settings, one step's batch of 6 x rollout.batch_size
sequences at the largest prompt bucket plus rollout.max_response_tokens. Times what the trainer does per step
after sampling: old log-probs, the reference log-probs (KL on only), the update. Prints the median of --repeats
runs after one compiling run, and the reference copy's bytes.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.rl import Learner, RLBatch, mesh_from_config, model_options
from azr_jax.trainer.run_config import load_run_config

REPO = Path(__file__).resolve().parents[1]


def tiny_run_config():
    spec = importlib.util.spec_from_file_location("tiny_config", REPO / "configs" / "tiny.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return load_run_config(module.get_config())


def step_seconds(config, kl_coeff: float, repeats: int) -> tuple[float, float, int]:
    rl = dataclasses.replace(config.rl, kl_coeff=kl_coeff)
    mesh = mesh_from_config(config.parallel)
    model = Qwen2ForCausalLM.from_pretrained(config.model.path, **model_options(rl, mesh))
    learner = Learner(model, rl, mesh)
    reference = learner.reference(model) if kl_coeff else None
    state = learner.init_state(model)
    rng = np.random.default_rng(0)
    rows, prompt, response = (
        6 * config.rollout.batch_size,
        max(config.sampler.prompt_buckets),
        config.rollout.max_response_tokens,
    )
    ids = rng.integers(0, model.config.vocab_size, (rows, prompt + response)).astype(np.int32)
    attention, loss_mask = np.ones_like(ids), np.zeros_like(ids)
    loss_mask[:, prompt:] = 1
    advantages = rng.standard_normal(rows)

    def step(state):
        old, _ = learner.old_logprobs(state, ids, attention, loss_mask)
        ref = None if reference is None else learner.logprobs(reference, ids, attention)
        batch = dataclasses.replace(
            RLBatch.from_numpy(ids, attention, loss_mask, advantages, np.zeros(ids.shape)),
            old_logprobs=old,
            ref_logprobs=ref,
        )
        state, metrics = learner.update(state, batch)
        jax.block_until_ready(metrics)
        return state

    start = time.perf_counter()
    state = step(state)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        state = step(state)
        times.append(time.perf_counter() - start)
    reference_bytes = 0 if reference is None else sum(x.nbytes for x in jax.tree.leaves(reference))
    return first, statistics.median(times), reference_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    config = tiny_run_config()
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
    print("| rl.kl_coeff | first step s (compiles) | median step s | reference bytes |\n|---|---|---|---|")
    for kl_coeff in (0.0, 0.01):
        first, median, reference_bytes = step_seconds(config, kl_coeff, args.repeats)
        print(f"| {kl_coeff} | {first:.2f} | {median:.3f} | {reference_bytes} |", flush=True)


if __name__ == "__main__":
    main()
