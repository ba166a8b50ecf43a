"""Pretraining the tiny coder: next-token loss on the responses of corpus transcripts, AdamW, bucketed batches.

Each example is a prompt (tokenized and cut as the trainer does: its last `max_prompt_tokens` tokens) followed by
the response and EOS. The loss is the mean negative log-likelihood of the response tokens (EOS included); the
prompt is context only, so the LM head runs on the response window alone. Sequences are right-padded to a few
length buckets, and a batch holds about `tokens_per_batch` tokens, so every shape compiles once.

The run checkpoints parameters, optimizer state and the data order every `checkpoint_every` steps (atomically)
and resumes from the last checkpoint, so an interrupted run loses at most that many steps.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.rl.logprobs import chunk_statistics

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    steps: int = 2000
    tokens_per_batch: int = 8192  # padded prompt + response tokens per batch
    length_buckets: tuple[int, ...] = (256, 512, 768, 1024)  # padded sequence lengths
    response_buckets: tuple[int, ...] = (64, 128, 256)  # padded response windows (where the loss is)
    learning_rate: float = 2e-3  # peak, after a linear warmup; then cosine decay to final_lr_fraction of it
    warmup_steps: int = 100
    final_lr_fraction: float = 0.1
    adam_b1: float = 0.9
    adam_b2: float = 0.98
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10

    def __post_init__(self):
        if self.steps < 1 or self.tokens_per_batch < max(self.length_buckets):
            raise ValueError("steps must be >= 1 and tokens_per_batch at least the longest length bucket")
        if list(self.length_buckets) != sorted(self.length_buckets) or list(self.response_buckets) != sorted(
            self.response_buckets
        ):
            raise ValueError("length_buckets and response_buckets must be increasing")


@dataclasses.dataclass(frozen=True)
class Example:
    prompt_ids: np.ndarray  # int32 [p]
    response_ids: np.ndarray  # int32 [r], ends with EOS


def tokenize(prompts: Sequence[str], responses: Sequence[str], tokenizer, max_prompt_tokens: int) -> list[Example]:
    """Examples as the trainer sees them: the prompt's last `max_prompt_tokens` tokens, the response, EOS."""
    prompt_ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(list(responses), add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return [
        Example(np.asarray(p[-max_prompt_tokens:], np.int32), np.asarray([*r, eos], np.int32))
        for p, r in zip(prompt_ids, response_ids)
    ]


def _bucket(value: int, buckets: Sequence[int]) -> int | None:
    return next((b for b in buckets if b >= value), None)


class Batches:
    """Deterministic batches: examples grouped by (length bucket, response bucket), each group reshuffled per pass.

    A group is picked with probability proportional to its number of batches, so every example is seen about
    equally often. `state()`/`restore()` carry the position for resumption."""

    def __init__(self, examples: Sequence[Example], config: PretrainConfig, pad_id: int):
        self.config, self.pad_id = config, pad_id
        groups: dict[tuple[int, int], list[Example]] = {}
        self.dropped = 0
        for ex in examples:
            length = _bucket(len(ex.prompt_ids) + len(ex.response_ids), config.length_buckets)
            window = _bucket(len(ex.response_ids), config.response_buckets)
            if length is None or window is None:
                self.dropped += 1
                continue
            groups.setdefault((length, window), []).append(ex)
        if not groups:
            raise ValueError("no example fits the length buckets")
        self.keys = sorted(groups)
        self.groups = [groups[k] for k in self.keys]
        self.rows = [max(1, config.tokens_per_batch // length) for length, _ in self.keys]
        weights = np.array([len(g) / r for g, r in zip(self.groups, self.rows)])
        self.weights = weights / weights.sum()
        self.rng = np.random.default_rng(config.seed)
        self.orders = [self.rng.permutation(len(g)) for g in self.groups]
        self.cursors = [0] * len(self.groups)

    def state(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "orders": self.orders, "cursors": self.cursors}

    def restore(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.orders, self.cursors = state["orders"], state["cursors"]

    def next(self) -> dict[str, np.ndarray]:
        g = int(self.rng.choice(len(self.groups), p=self.weights))
        (length, window), rows = self.keys[g], self.rows[g]
        chosen = []
        while len(chosen) < rows:
            if self.cursors[g] == len(self.orders[g]):
                self.orders[g], self.cursors[g] = self.rng.permutation(len(self.groups[g])), 0
            chosen.append(self.groups[g][self.orders[g][self.cursors[g]]])
            self.cursors[g] += 1
        return collate(chosen, length, window, self.pad_id)


def collate(examples: Sequence[Example], length: int, window: int, pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded ids and mask [rows, length]; `start`: the position predicting the first response token."""
    rows = len(examples)
    ids = np.full((rows, length), pad_id, np.int32)
    mask = np.zeros((rows, length), np.int32)
    start = np.zeros(rows, np.int32)
    response_length = np.zeros(rows, np.int32)
    for i, ex in enumerate(examples):
        seq = np.concatenate([ex.prompt_ids, ex.response_ids])
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1
        start[i] = len(ex.prompt_ids) - 1
        response_length[i] = len(ex.response_ids)
    window_mask = (np.arange(window)[None, :] < response_length[:, None]).astype(np.float32)
    return {"input_ids": ids, "attention_mask": mask, "start": start, "window_mask": window_mask}


def response_loss(model: Qwen2ForCausalLM, batch: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    """Mean NLL of the response tokens and their count. The LM head sees only the response window."""
    ids, window_mask = batch["input_ids"], batch["window_mask"]
    hidden, _ = model.hidden_states(ids, batch["attention_mask"])
    window = window_mask.shape[1]
    # Past a response's end the positions are clipped in range and masked out.
    positions = jnp.minimum(batch["start"][:, None] + jnp.arange(window)[None, :], ids.shape[1] - 2)
    h = jnp.take_along_axis(hidden, positions[..., None], axis=1)
    targets = jnp.take_along_axis(ids, positions + 1, axis=1)
    logprobs, _ = chunk_statistics(model.logits(h), targets)
    count = window_mask.sum()
    return -(logprobs * window_mask).sum() / jnp.maximum(count, 1.0), count


def make_optimizer(config: PretrainConfig) -> optax.GradientTransformation:
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, config.warmup_steps, config.steps, config.learning_rate * config.final_lr_fraction
    )
    adamw = optax.adamw(schedule, b1=config.adam_b1, b2=config.adam_b2, weight_decay=config.weight_decay)
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), adamw)


def pretrain(
    model_config: Qwen2Config,
    examples: Sequence[Example],
    pad_id: int,
    config: PretrainConfig,
    workdir: str | os.PathLike,
    max_seconds: float | None = None,
) -> tuple[Qwen2ForCausalLM, list[dict]]:
    """Trains (or resumes) a float32 model; returns it and the log records (also in workdir/log.jsonl).

    A record's `seconds` is the training wall time since step 0, summed over resumed runs (the time after a run's
    last checkpoint is lost with its steps). `max_seconds` stops early (after checkpointing) once that much wall
    time has passed in this call."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model = Qwen2ForCausalLM(model_config, dtype=jnp.float32, param_dtype=jnp.float32, rngs=nnx.Rngs(config.seed))
    graphdef, params = nnx.split(model)
    optimizer = make_optimizer(config)
    opt_state = optimizer.init(params)
    batches = Batches(examples, config, pad_id)
    step, seconds_before = 0, 0.0
    checkpoint = workdir / "checkpoint.pkl"
    if checkpoint.is_file():
        saved = pickle.loads(checkpoint.read_bytes())
        params = jax.tree.map(jnp.asarray, saved["params"])
        opt_state = jax.tree.map(jnp.asarray, saved["opt_state"])
        batches.restore(saved["batches"])
        step, seconds_before = saved["step"], saved["seconds"]
        log.info("resumed from %s at step %d", checkpoint, step)

    @jax.jit
    def train_step(params, opt_state, batch):
        def loss_fn(p):
            return response_loss(nnx.merge(graphdef, p), batch)

        (loss, count), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, count, optax.tree.norm(grads)

    def save():
        data = {
            "params": jax.device_get(params),
            "opt_state": jax.device_get(opt_state),
            "batches": batches.state(),
            "step": step,
            "seconds": seconds_before + time.perf_counter() - started,
        }
        tmp = checkpoint.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(data))
        os.replace(tmp, checkpoint)

    records: list[dict] = []
    started = time.perf_counter()
    window_loss, window_tokens, window_seqs = [], 0, 0
    with open(workdir / "log.jsonl", "a") as log_file:
        while step < config.steps:
            batch = batches.next()
            params, opt_state, loss, count, grad_norm = train_step(params, opt_state, batch)
            step += 1
            window_loss.append(float(loss))
            window_tokens += int(batch["attention_mask"].sum())
            window_seqs += len(batch["start"])
            if step % config.log_every == 0 or step == config.steps:
                elapsed = seconds_before + time.perf_counter() - started
                record = {
                    "step": step,
                    "loss": float(np.mean(window_loss)),
                    "grad_norm": float(grad_norm),
                    "tokens": window_tokens,
                    "sequences": window_seqs,
                    "seconds": round(elapsed, 1),
                }
                records.append(record)
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
                log.info(
                    "step %d/%d loss %.4f (%d seq, %d tokens, %.0f s)",
                    step,
                    config.steps,
                    record["loss"],
                    window_seqs,
                    window_tokens,
                    elapsed,
                )
                window_loss, window_tokens, window_seqs = [], 0, 0
            out_of_time = max_seconds is not None and time.perf_counter() - started > max_seconds
            if step % config.checkpoint_every == 0 or step == config.steps or out_of_time:
                save()
            if out_of_time:
                break
    return nnx.merge(graphdef, params), records
