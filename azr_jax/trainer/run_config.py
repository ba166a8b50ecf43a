"""One training run's settings: a frozen object assembled from each component's config.

`configs/*.py` return the ConfigDict form (`default_run_config()` plus their changes); `load_run_config` turns
it into `RunConfig`, naming any bad field, and checks what only makes sense across sections (bucket sizes
against length caps, the model path) before anything expensive starts.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Literal

import ml_collections

from azr_jax.checkpoint import CheckpointConfig
from azr_jax.config import ConfigError, from_config, to_config_dict
from azr_jax.eval.config import EvalConfig
from azr_jax.rl import ParallelConfig, RLConfig
from azr_jax.sampling import SamplerConfig
from azr_jax.selfplay.config import SelfPlayConfig
from sandbox.config import SandboxConfig


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    path: str = ""  # a Hugging Face folder (config.json, safetensors, tokenizer files) or a cached hub id


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    batch_size: int = 64  # responses per (task type, role) per step: the paper's 64
    max_prompt_tokens: int = 6144  # the paper's prompt cap
    # A prompt over max_prompt_tokens is never cut by default. "redraw" (the public code): a proposer prompt is
    # rebuilt on other references, a solver-batch prompt replaced by another of its batch, a learnability
    # rollout left out (solve rate 0). "fewer_references": a deduction/abduction proposer prompt first drops
    # references, then as "redraw". "truncate_start": keep the last max_prompt_tokens tokens, cutting the
    # instructions (only for configs/tiny.py, whose model was pretrained on prompts cut so).
    prompt_overflow: Literal["redraw", "fewer_references", "truncate_start"] = "redraw"
    max_response_tokens: int = 8096  # the paper's response cap
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    stop: tuple[str, ...] = ("</answer>",)  # generation ends once the answer is closed
    max_prompts_per_call: int = 256  # prompts per sampler call (device memory for the KV cache)
    # Trained responses per proposer prompt and per solver task: batch_size / samples_per_prompt prompts, each
    # answered this many times (1: the paper). More than 1 gives advantages.estimator="group" its groups.
    samples_per_prompt: int = 1

    def __post_init__(self):
        for name in (
            "batch_size",
            "max_prompt_tokens",
            "max_response_tokens",
            "max_prompts_per_call",
            "samples_per_prompt",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.samples_per_prompt:
            raise ValueError(
                f"samples_per_prompt: {self.samples_per_prompt} does not divide batch_size {self.batch_size}"
            )


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    steps: int = 500
    seed: int = 0
    seed_triplets_path: str | None = None  # public AZR seed format (snippet/input/output); None = identity only
    seed_induction_path: str | None = None
    seeding: Literal["off", "if_needed"] = "if_needed"  # run the seeding stage when no seed file fills the buffers
    log_every: int = 1
    text_samples: int = 2  # proposals and solutions per group printed to the text log each step
    tensorboard: bool = True
    wandb_project: str | None = None
    # Compiled programs are kept in <workdir>/compile_cache (or $JAX_COMPILATION_CACHE_DIR when set), so a
    # resumed run loads them instead of compiling again.
    compilation_cache: bool = True


@dataclasses.dataclass(frozen=True)
class GuardConfig:
    """The divergence guard (azr_jax/trainer/guard.py): bounds checked after every step; None switches one off."""

    # Mean entropy of the policy per response token during the update (rl/entropy). The tiny coder starts near
    # 0.6 nats; its run at 10x the learning rate, which collapsed, passed 1.6 within 15 steps.
    max_entropy: float | None = 2.0
    # Share of the step's responses (all six groups pooled) that broke the think/answer or proposal format.
    max_format_error_rate: float | None = 0.9
    # Mean |trainer - sampler| log-prob per response token (rl/logprob_gap_mean_abs); measured only with
    # rl.old_logprobs="recompute". Float32 sampling agrees within 1e-4, bfloat16 within a few hundredths.
    max_logprob_gap: float | None = 0.1
    # What happens after `patience` alarmed steps in a row: "warn" (a console warning and the guard/* metrics,
    # every alarmed step), "halve_lr" (the learning rate is halved, then the count starts again), "stop" (a
    # checkpoint of this step, then the run ends with a message naming the alarm).
    action: Literal["warn", "halve_lr", "stop"] = "warn"
    patience: int = 1

    def __post_init__(self):
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1, got {self.patience}")
        for name in ("max_entropy", "max_format_error_rate", "max_logprob_gap"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None (off), got {value}")


@dataclasses.dataclass(frozen=True)
class HeldoutConfig:
    """The solver's accuracy on a fixed task file during a run (azr_jax/trainer/heldout.py)."""

    # JSONL of tasks in the tiny coder's held-out format (assets/tinycoder/heldout.jsonl: a triplet and an
    # induction task per line, an optional "tier"); each task is asked as abduction, deduction and induction.
    path: str | None = None
    every_steps: int = 0  # 0: never; else after every N-th step (and after the last)
    at_start: bool = False  # also the starting parameters, as step 0, before the first step (not on resume)
    samples: int = 4  # sampled answers per task and type, at rollout.temperature/top_p/top_k (pass@1 over them)
    greedy: bool = True  # also one greedy answer per task and type
    limit: int | None = None  # the first N tasks of the file only
    seed: int = 0  # of the sampled answers: the same for every step, apart from the training run's own stream

    def __post_init__(self):
        if self.every_steps < 0:
            raise ValueError(f"every_steps must be >= 0, got {self.every_steps}")
        if self.samples < 0:
            raise ValueError(f"samples must be >= 0, got {self.samples}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1 or None, got {self.limit}")
        if not self.samples and not self.greedy:
            raise ValueError("samples is 0 and greedy is False: nothing to evaluate")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = ModelConfig()
    trainer: TrainerConfig = TrainerConfig()
    rollout: RolloutConfig = RolloutConfig()
    sampler: SamplerConfig = SamplerConfig()
    selfplay: SelfPlayConfig = SelfPlayConfig()
    rl: RLConfig = RLConfig()
    parallel: ParallelConfig = ParallelConfig()
    sandbox: SandboxConfig = SandboxConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    eval: EvalConfig = EvalConfig()  # benchmarks scored every eval.every_steps steps (0, the default: never)
    heldout: HeldoutConfig = HeldoutConfig()  # solver accuracy on a task file every heldout.every_steps steps
    guard: GuardConfig = GuardConfig()


def default_run_config() -> ml_collections.ConfigDict:
    config = to_config_dict(RunConfig())
    _typed_placeholders(config, RunConfig)
    return config


def _typed_placeholders(section: ml_collections.ConfigDict, cls: type) -> None:
    """Makes every None field of `section` a placeholder of its annotated type, in place: absl's config flags
    refuse to override a plain None (e.g. --config.parallel.coordinator_address=host:port for a multi-host run)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        value, hint = section[field.name], hints[field.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, ml_collections.ConfigDict):
            _typed_placeholders(value, hint)
        elif value is None:
            types = [t for t in typing.get_args(hint) if t is not type(None)]
            if len(types) == 1 and types[0] in (str, int, float, bool):
                section[field.name] = ml_collections.config_dict.placeholder(types[0])


def load_run_config(values: ml_collections.ConfigDict) -> RunConfig:
    """The frozen RunConfig; raises ConfigError naming the field for anything it cannot run with."""
    config = from_config(RunConfig, values)
    rollout, sampler = config.rollout, config.sampler
    if rollout.max_prompt_tokens > max(sampler.prompt_buckets):
        raise ConfigError(
            f"rollout.max_prompt_tokens: {rollout.max_prompt_tokens} exceeds the largest of sampler.prompt_buckets "
            f"{sampler.prompt_buckets}"
        )
    if rollout.max_response_tokens > sampler.max_new_tokens_cap:
        raise ConfigError(
            f"rollout.max_response_tokens: {rollout.max_response_tokens} exceeds sampler.max_new_tokens_cap "
            f"{sampler.max_new_tokens_cap}"
        )
    if config.selfplay.advantages.estimator == "group" and rollout.samples_per_prompt == 1:
        raise ConfigError(
            "selfplay.advantages.estimator: 'group' normalises over the responses to one prompt, and with "
            "rollout.samples_per_prompt=1 every prompt has one (advantage 0); set rollout.samples_per_prompt > 1"
        )
    n = max(config.selfplay.rewards.n_solver_rollouts, rollout.samples_per_prompt)  # samples per prompt in one call
    if rollout.max_prompts_per_call * n > max(sampler.batch_buckets):
        raise ConfigError(
            f"rollout.max_prompts_per_call: {rollout.max_prompts_per_call} prompts x {n} rollouts exceed the largest of "
            f"sampler.batch_buckets {sampler.batch_buckets}"
        )
    if len(rollout.stop) > sampler.max_stop_strings:
        raise ConfigError(
            f"rollout.stop: {len(rollout.stop)} stop strings, sampler.max_stop_strings is {sampler.max_stop_strings}"
        )
    if config.selfplay.prompts.time_limit_s != config.sandbox.timeout_s:
        raise ConfigError(
            f"selfplay.prompts.time_limit_s: {config.selfplay.prompts.time_limit_s} must equal sandbox.timeout_s "
            f"{config.sandbox.timeout_s} (the proposer is told the executor's limit)"
        )
    if config.selfplay.prompts.allow_helpers != config.sandbox.allow_helpers:
        raise ConfigError(
            "selfplay.prompts.allow_helpers must equal sandbox.allow_helpers (the prompt states the rule)"
        )
    if config.eval.every_steps:
        if config.eval.longest_generation > sampler.max_new_tokens_cap:
            raise ConfigError(
                f"eval.max_new_tokens: {config.eval.longest_generation} exceeds sampler.max_new_tokens_cap "
                f"{sampler.max_new_tokens_cap} (the longest generation of {config.eval.benchmarks}; eval.max_new_tokens=0 "
                "gives each benchmark its protocol length)"
            )
        if config.eval.prompts_per_call * config.eval.n > max(sampler.batch_buckets):
            raise ConfigError(
                f"eval.prompts_per_call: {config.eval.prompts_per_call} prompts x {config.eval.n} samples exceed the largest "
                f"of sampler.batch_buckets {sampler.batch_buckets}"
            )
    heldout = config.heldout
    if (heldout.every_steps or heldout.at_start) and heldout.path is None:
        raise ConfigError(
            "heldout.path: none given, but heldout.every_steps or heldout.at_start asks for an evaluation"
        )
    if heldout.path is not None and not Path(heldout.path).is_file():
        raise ConfigError(f"heldout.path: no such file {heldout.path!r}")
    if heldout.path is not None and heldout.samples * rollout.max_prompts_per_call > max(sampler.batch_buckets):
        raise ConfigError(
            f"heldout.samples: {heldout.samples} samples x rollout.max_prompts_per_call {rollout.max_prompts_per_call} "
            f"exceed the largest of sampler.batch_buckets {sampler.batch_buckets}"
        )
    if not config.model.path:
        raise ConfigError("model.path: empty; pass --config.model.path=/path/to/a/Hugging/Face/folder")
    for name in ("seed_triplets_path", "seed_induction_path"):
        path = getattr(config.trainer, name)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"trainer.{name}: no such file {path!r}")
    return config
