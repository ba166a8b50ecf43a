"""What a step did, as flat scalars per (task type, role) group, and the places they are written.

Metric names are `<task>/<role>/<name>` (e.g. `deduction/solver/accuracy`), plus `time/*`, `rl/*` and
`buffer/*`. Only process 0 writes: JSONL in the workdir, TensorBoard event files, W&B when configured, and a
short text log of sample proposals and solutions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.selfplay.tasks import Role
from azr_jax.trainer.selfplay_step import GroupResult, StepResult


def group_metrics(group: GroupResult) -> dict[str, float]:
    lengths = np.array([len(c.token_ids) for c in group.completions])
    prefix = f"{group.task_type.value}/{group.role.value}"
    metrics = {
        "reward_mean": float(group.rewards.mean()),
        "format_error_rate": float(1.0 - group.format_ok.mean()),
        "response_length_mean": float(lengths.mean()),
        "response_length_max": float(lengths.max()),
    }
    if group.role is Role.SOLVE:
        metrics["accuracy"] = float(group.passed.mean())
    else:
        rates = group.solve_rates[~np.isnan(group.solve_rates)]
        learnable = (rates > 0) & (rates < 1)
        metrics["valid_rate"] = float(group.passed.mean())
        metrics["solve_rate_mean"] = float(rates.mean()) if rates.size else math.nan
        metrics["learnability_mean"] = float(np.where(learnable, 1 - rates, 0.0).mean()) if rates.size else 0.0
        metrics["learnable_fraction"] = float(learnable.mean()) if rates.size else 0.0
        metrics["distinct_programs"] = float(len(set(group.programs)))
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def step_metrics(
    result: StepResult, buffers: TaskBuffers, update_seconds: float, rl: Mapping[str, Any]
) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for group in result.groups:
        metrics.update(group_metrics(group))
    for t, buffer in buffers.buffers.items():
        metrics[f"buffer/{t.value}_size"] = float(len(buffer))
    seconds = dict(result.seconds, update=update_seconds)
    total = sum(seconds.values())
    for phase, value in seconds.items():
        metrics[f"time/{phase}_s"] = value
    metrics["time/step_s"] = total
    # The device waits while the host parses, grades and logs; sampling and the update keep it busy.
    metrics["time/host_share"] = (seconds["sandbox"] + seconds["host"]) / total if total else 0.0
    metrics["time/generated_tokens_per_s"] = result.generated_tokens / seconds["sample"] if seconds["sample"] else 0.0
    metrics.update({f"rl/{k}": float(v) for k, v in rl.items()})
    metrics.update({f"prompts/dropped_{kind}": float(n) for kind, n in result.dropped_prompts.items()})
    return metrics


class MetricsWriter:
    """JSONL + TensorBoard (+ W&B) for process 0; every other process writes nothing."""

    def __init__(self, workdir: Path, enabled: bool, tensorboard: bool, wandb_project: str | None, config: dict):
        self.enabled = enabled
        self._jsonl = self._text = self._tensorboard = self._wandb = None
        if not enabled:
            return
        workdir.mkdir(parents=True, exist_ok=True)
        self._jsonl = open(workdir / "metrics.jsonl", "a", encoding="utf-8")
        self._text = open(workdir / "samples.txt", "a", encoding="utf-8")
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tensorboard = SummaryWriter(str(workdir / "tensorboard"))
        if wandb_project:
            import wandb  # optional: only when configured

            self._wandb = wandb.init(project=wandb_project, config=config, dir=str(workdir), resume="allow")

    def write(self, step: int, metrics: Mapping[str, float]) -> None:
        if not self.enabled:
            return
        record = {
            "step": step,
            **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()},
        }
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()
        if self._tensorboard is not None:
            for name, value in metrics.items():
                if not math.isnan(value):
                    self._tensorboard.add_scalar(name, value, step)
            self._tensorboard.flush()
        if self._wandb is not None:
            self._wandb.log(dict(metrics), step=step)

    def write_samples(self, step: int, result: StepResult, per_group: int) -> None:
        if not self.enabled or per_group <= 0:
            return
        for group in result.groups:
            for completion, reward in list(zip(group.completions, group.rewards))[:per_group]:
                self._text.write(
                    f"===== step {step} {group.task_type.value}/{group.role.value} reward {reward:+.2f}\n"
                    f"{completion.prompt[-600:]}\n----- response\n{completion.text}\n"
                )
        self._text.flush()

    def close(self) -> None:
        for handle in (self._jsonl, self._text):
            if handle is not None:
                handle.close()
        if self._tensorboard is not None:
            self._tensorboard.close()
        if self._wandb is not None:
            self._wandb.finish()


def progress_line(step: int, total: int, metrics: Mapping[str, float]) -> str:
    """One line for the console: step time; per task type (abduction/deduction/induction) the proposers' reward
    and their valid and learnable shares of all proposals, the solvers' reward and accuracy; and the held-out
    evaluation's pass@1 and greedy accuracy on the steps it ran."""

    def per_type(group: str, *names: str) -> str:
        # group: a role ("{type}/{role}/{name}") or "heldout" ("heldout/{type}/{name}").
        types = ("abduction", "deduction", "induction")

        def key(t, n):
            return f"heldout/{t}/{n}" if group == "heldout" else f"{t}/{group}/{n}"

        values = [math.prod(metrics.get(key(t, n), math.nan) for n in names) for t in types]
        return "/".join("-" if math.isnan(v) else f"{v:.2f}" for v in values)

    line = (
        f"step {step}/{total}  {metrics['time/step_s']:.1f}s  "
        f"propose a/d/i: reward {per_type('propose', 'reward_mean')} valid {per_type('propose', 'valid_rate')} "
        f"learnable {per_type('propose', 'valid_rate', 'learnable_fraction')}  "
        f"solve a/d/i: reward {per_type('solve', 'reward_mean')} accuracy {per_type('solve', 'accuracy')}"
    )
    if "heldout/deduction/pass@1" in metrics or "heldout/deduction/greedy_accuracy" in metrics:
        line += "  held-out a/d/i:"
        if "heldout/deduction/pass@1" in metrics:
            line += f" pass@1 {per_type('heldout', 'pass@1')}"
        if "heldout/deduction/greedy_accuracy" in metrics:
            line += f" greedy {per_type('heldout', 'greedy_accuracy')}"
    return line
