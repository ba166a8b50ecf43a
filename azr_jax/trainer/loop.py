"""The training run: load or resume, then self-play steps with a TRR++/PPO update each, checkpointing as it goes.

Workdir layout:
    model/          config.json and tokenizer files of the model being trained (what export needs)
    checkpoints/    orbax checkpoints: train state + host state (step, PRNG, numpy RNG, buffers)
    buffers/        append-only JSONL journal of every task the buffers accepted
    metrics.jsonl, samples.txt, tensorboard/, run_config.json
    eval/step_<N>/  results.md, results.json, samples/ of the periodic evaluation (eval.every_steps > 0)
    heldout/step_<N>.json  per-task counts of the held-out evaluation (heldout.every_steps > 0)

Multi-host (parallel.distributed): every process runs this same loop on one mesh spanning all of them, with the
same seed and so the same host state (buffers, numpy RNG), which is checked after every step. The sampler and
the update take global arrays; each process runs the sandbox for its share of the items and the verdicts are
exchanged (`process_share`). Process 0 alone writes everything above but the checkpoint arrays, which orbax
writes from every process; the workdir must be one folder all hosts share.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path

import jax
import ml_collections
import numpy as np
from tqdm import tqdm

from azr_jax.checkpoint import Checkpointer
from azr_jax.config import ConfigError
from azr_jax.eval.periodic import PeriodicEval
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.models.hf_io import copy_tokenizer_files, resolve_model_folder
from azr_jax.models.info import check_fits, device_memory, memory_plan
from azr_jax.models.qwen2 import attention_implementation
from azr_jax.models.qwen2_config import Qwen2Config
from azr_jax.rl import (
    Learner,
    RLBatch,
    initialize,
    is_primary,
    mesh_from_config,
    model_options,
    process_rows,
    shard_batch,
)
from azr_jax.sampling import Sampler
from azr_jax.selfplay.advantages import compute_advantages
from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.selfplay.seeding import load_seed_files, seed_buffers
from azr_jax.trainer.guard import Divergence, DivergenceGuard
from azr_jax.trainer.heldout import HeldoutEval
from azr_jax.trainer.metrics import MetricsWriter, progress_line, step_metrics
from azr_jax.trainer.process_share import check_agreement
from azr_jax.trainer.run_config import RunConfig, load_run_config
from azr_jax.trainer.selfplay_step import SelfPlayStep, StepResult
from azr_jax.trainer.sequences import pack_sequences
from sandbox.executor import Executor

log = logging.getLogger(__name__)


def train(config_dict: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, float]:
    """Runs (or resumes) the configured training; returns the last step's metrics."""
    if "://" in str(workdir):
        raise ConfigError(
            f"workdir {workdir}: metrics, buffers and model/ are written with local file APIs; mount the bucket "
            "(e.g. gcsfuse) or use a shared filesystem and pass its path (docs/running.md)"
        )
    workdir = Path(workdir)
    config = load_run_config(config_dict)
    if config.trainer.compilation_cache and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(workdir / "compile_cache"))
    initialize(config.parallel)
    primary = is_primary()
    folder = resolve_model_folder(config.model.path)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if primary:
        _record_run(workdir, folder, config_dict)

    mesh = mesh_from_config(config.parallel)
    _check_memory(folder, config, mesh)  # before anything is allocated
    model = Qwen2ForCausalLM.from_pretrained(folder, **model_options(config.rl, mesh))
    learner = Learner(model, config.rl, mesh)
    learner.layout(6 * config.rollout.batch_size)  # fail now, not after the first rollouts
    # The KL reference is the initial weights (also on resume: the model above is read from model.path).
    reference = learner.reference(model) if config.rl.kl_coeff else None
    state = learner.init_state(model)
    del model

    buffers = TaskBuffers(config.selfplay.buffer, journal_dir=workdir / "buffers" if primary else None)
    rng = np.random.default_rng(config.trainer.seed)
    key = jax.random.key(config.trainer.seed)
    checkpointer = Checkpointer(workdir / "checkpoints", config.checkpoint)
    guard = DivergenceGuard(config.guard)
    start = checkpointer.latest_step()
    if start is not None:
        state, host = checkpointer.restore(start, learner.abstract_state())
        buffers.load_state_dict(host["buffers"])
        rng.bit_generator.state = host["numpy_rng"]
        key = jax.random.wrap_key_data(np.asarray(host["jax_key"], np.uint32))
        guard.streak = host.get("guard_streak", 0)
        log.info("resumed from %s at step %d", workdir / "checkpoints", start)
    else:
        start = 0
        load_seed_files(buffers, config.trainer.seed_triplets_path, config.trainer.seed_induction_path)

    sampler = Sampler(learner.policy(state), tokenizer, config.sampler, keep_weights=False)  # updates donate them
    writer = MetricsWriter(
        workdir, primary, config.trainer.tensorboard, config.trainer.wandb_project, config_dict.to_dict()
    )
    metrics: dict[str, float] = {}
    with Executor(config.sandbox) as executor:
        selfplay = SelfPlayStep(config, sampler, tokenizer, executor, buffers)
        evaluate = None
        try:
            if config.eval.every_steps:
                evaluate = PeriodicEval(
                    config.eval, sampler, tokenizer, workdir / "eval" if primary else None, config.sandbox
                )
            heldout = None
            if config.heldout.every_steps or config.heldout.at_start:
                heldout = HeldoutEval(config.heldout, selfplay, workdir / "heldout" if primary else None)
            if start == 0 and config.trainer.seeding == "if_needed":
                key = _seed(selfplay, state, key, rng, config)
            if start == 0 and config.heldout.at_start:
                writer.write(0, heldout(0, state.params))
            progress = tqdm(
                range(start + 1, config.trainer.steps + 1),
                initial=start,
                total=config.trainer.steps,
                disable=not primary,
                dynamic_ncols=True,
            )
            for step in progress:
                key, step_key = jax.random.split(key)
                result = selfplay.run(step, state.params, step_key, rng)
                started = time.perf_counter()
                state, rl_metrics = _update(learner, state, result, config, tokenizer, reference)
                jax.block_until_ready(state)
                metrics = step_metrics(result, buffers, time.perf_counter() - started, rl_metrics)
                guard_metrics, alarms = guard.check(metrics)
                metrics.update(guard_metrics)
                if alarms:
                    log.warning("step %d: divergence alarm: %s", step, "; ".join(alarms))
                stop = False
                if guard.should_act():
                    if config.guard.action == "halve_lr":
                        state = learner.scale_learning_rate(state, 0.5)
                        log.warning("step %d: the divergence guard halved the learning rate", step)
                    stop = config.guard.action == "stop"
                evaluated = evaluate is not None and step % config.eval.every_steps == 0
                if evaluated:
                    metrics.update(evaluate(step, state.params))
                every = config.heldout.every_steps
                if every and (step % every == 0 or step == config.trainer.steps):
                    metrics.update(heldout(step, state.params))
                    evaluated = True
                check_agreement(
                    lambda: {"buffers": buffers.state_dict(), "numpy_rng": rng.bit_generator.state},
                    f"host state after step {step}",
                )
                if step % config.trainer.log_every == 0 or step == config.trainer.steps or evaluated or stop:
                    writer.write(step, metrics)
                    writer.write_samples(step, result, config.trainer.text_samples)
                    if primary:
                        progress.write(progress_line(step, config.trainer.steps, metrics))
                if checkpointer.should_save(step, last=step == config.trainer.steps or stop):
                    host = {
                        "step": step,
                        "buffers": buffers.state_dict(),
                        "numpy_rng": rng.bit_generator.state,
                        "jax_key": np.asarray(jax.random.key_data(key)).tolist(),
                        "guard_streak": guard.streak,
                    }
                    checkpointer.save(step, state, host)
                if stop:
                    raise Divergence(
                        f"step {step}: {config.guard.patience} step(s) in a row with a divergence alarm "
                        f"({'; '.join(alarms)}); checkpoint {workdir / 'checkpoints'} step {step} holds this "
                        "state. Lower rl.learning_rate (or widen the guard.* bound, or set guard.action) and "
                        "run again to resume from it."
                    )
        finally:
            if evaluate is not None:
                evaluate.close()
            selfplay.close()
            checkpointer.close()
            writer.close()
    return metrics


def _seed(selfplay: SelfPlayStep, state, key, rng: np.random.Generator, config: RunConfig):
    """The seeding stage: the base model proposes until every buffer holds seeding.target_size valid tasks
    (buffers already filled from seed files are left alone). Returns the advanced PRNG key."""
    keys = iter(jax.random.split(key, config.selfplay.seeding.max_rounds * 2 + 1))
    key = next(keys)

    def generate(prompts):
        return [c.text for c in selfplay.generate(prompts, 1, next(keys), state.params)]

    reports = seed_buffers(
        selfplay.buffers,
        generate,
        selfplay.validate,
        selfplay.validate,
        rng,
        config.selfplay.seeding,
        config.selfplay.prompts,
        selfplay.banned_words,
        limit=selfplay.prompt_limit,
    )
    for task_type, report in reports.items():
        log.info("seeding %s: %s", task_type.value, report)
    return key


def _update(learner: Learner, state, result: StepResult, config: RunConfig, tokenizer, reference=None):
    """TRR++ advantages over the six groups, then one PPO update on every trainable response of the step;
    `reference` (rl.kl_coeff > 0): the frozen reference policy's parameters for the KL penalty."""
    completions = [c for g in result.groups for c in g.completions]
    rewards = np.concatenate([g.rewards for g in result.groups])
    task_types = [g.task_type for g in result.groups for _ in g.completions]
    roles = [g.role for g in result.groups for _ in g.completions]
    packed = pack_sequences(
        [c.prompt_ids for c in completions],
        [c.token_ids for c in completions],
        [c.log_probs for c in completions],
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        prompt_buckets=config.sampler.prompt_buckets,
        max_response_tokens=config.rollout.max_response_tokens,
    )
    # The n responses to one prompt (rollout.samples_per_prompt) share an id: the "group" estimator's groups.
    prompt_ids = [(g.task_type.value, g.role.value, c.prompt_index) for g in result.groups for c in g.completions]
    advantages = compute_advantages(
        rewards,
        task_types,
        roles,
        config.selfplay.advantages,
        token_counts=packed.response_lengths,
        prompt_ids=prompt_ids,
    )
    # Every process holds the whole step (host state is replicated) and hands the mesh its own rows.
    rows = process_rows(len(completions), learner.mesh)
    local = RLBatch.from_numpy(
        packed.input_ids[rows],
        packed.attention_mask[rows],
        packed.loss_mask[rows],
        advantages[rows],
        packed.sampler_logprobs[rows],
    )
    batch = shard_batch(local, learner.mesh, len(completions))
    old, gap = learner.old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask, batch.old_logprobs)
    ref = None if reference is None else learner.logprobs(reference, batch.input_ids, batch.attention_mask)
    state, metrics = learner.update(state, dataclasses.replace(batch, old_logprobs=old, ref_logprobs=ref))
    metrics = {**{k: float(v) for k, v in metrics.items()}, **{k: float(v) for k, v in gap.items()}}
    metrics["advantage_abs_mean"] = float(np.abs(advantages).mean())
    return state, metrics


def _check_memory(folder: Path, config: RunConfig, mesh) -> None:
    """The per-device memory plan (python -m azr_jax.models.info), logged; ConfigError when it cannot fit."""
    attention = attention_implementation(jax.numpy.dtype(config.rl.compute_dtype))
    plan = memory_plan(Qwen2Config.from_json_file(folder / "config.json"), config, dict(mesh.shape), attention)
    device_bytes = device_memory(jax.local_devices()[0])
    log.info("%s", plan.table(device_bytes))
    check_fits(plan, device_bytes)


def _record_run(workdir: Path, folder: Path, config_dict: ml_collections.ConfigDict) -> None:
    """What export and a human need later: the model's config and tokenizer, and the run's config."""
    model_dir = workdir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "config.json", model_dir / "config.json")
    copy_tokenizer_files(folder, model_dir)
    (workdir / "run_config.json").write_text(json.dumps(config_dict.to_dict(), indent=2, default=str) + "\n")
