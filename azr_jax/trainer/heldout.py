"""The solver's accuracy on a fixed task file: inside a run (heldout.every_steps) or on its own
(`python -m azr_jax.tinycoder.evaluate`), with the same code and the same numbers.

Every task of the file is asked as abduction, deduction and induction, prompted, parsed and graded exactly as the
trainer's solver is (`SelfPlayStep.generate`, `parse_solutions`, `SelfPlayStep.correctness`): `samples` answers
at the training temperature (their mean is sampled pass@1) and one greedy answer. The random numbers come from
heldout.seed and the task type alone, so every evaluation of a run, and of the pretrained model, draws with the
same numbers (differences between steps are not sampling noise of the evaluation), and the training run's own
random stream is untouched (a resumed run stays identical).

Metrics, per task type and for each tier of the file's tasks ("tier": e.g. the tiny coder's "one_step"):
    heldout/<type>/pass@1                the mean of the sampled answers' correctness
    heldout/<type>/format_error_rate     of the sampled answers
    heldout/<type>/well_formed_accuracy  correct among the well-formed sampled answers
    heldout/<type>/greedy_accuracy, .../greedy_format_error_rate, .../greedy_well_formed_accuracy
    heldout/<tier>/<type>/...            the same over that tier's tasks
and the per-task counts in <workdir>/heldout/step_<N>.json for paired comparisons.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import jax
import numpy as np

from azr_jax.config import ConfigError
from azr_jax.selfplay.batches import parse_solutions, solve_requests
from azr_jax.selfplay.parsing import FormatError
from azr_jax.selfplay.tasks import TaskType
from azr_jax.tinycoder.corpus import GeneratedTask, load_tasks
from azr_jax.trainer.run_config import HeldoutConfig
from azr_jax.trainer.selfplay_step import TASK_TYPES, SelfPlayStep


@dataclasses.dataclass(frozen=True)
class Answers:
    """One task type's graded answers: per task, how many of its answers were correct and well-formed."""

    correct: np.ndarray  # [tasks] int
    well_formed: np.ndarray  # [tasks] int
    per_task: int  # answers per task

    def metrics(self, prefix: str, rows: np.ndarray) -> dict[str, float]:
        answers = len(rows) * self.per_task
        correct, well_formed = self.correct[rows].sum(), self.well_formed[rows].sum()
        return {
            f"{prefix}accuracy": float(correct / answers),
            f"{prefix}format_error_rate": float(1 - well_formed / answers),
            f"{prefix}well_formed_accuracy": float(correct / well_formed) if well_formed else 0.0,
        }

    def to_json(self) -> dict:
        return {"correct": self.correct.tolist(), "well_formed": self.well_formed.tolist(), "per_task": self.per_task}


class HeldoutEval:
    def __init__(
        self,
        config: HeldoutConfig,
        selfplay: SelfPlayStep,
        out_dir: Path | None,
        tasks: Sequence[GeneratedTask] | None = None,
    ):
        """`tasks` (default: read from heldout.path, the first heldout.limit). Every prompt is built and checked
        against the trainer's prompt limit now, so that a task file the run cannot ask stops it before step 1."""
        self.config = config
        self.selfplay = selfplay
        self.out_dir = out_dir
        if tasks is None:
            try:
                tasks = load_tasks(config.path)
            except (OSError, ValueError, KeyError) as e:
                raise ConfigError(f"heldout.path: cannot read {config.path!r}: {e}") from None
        self.tasks = list(tasks)[: config.limit]
        if not self.tasks:
            raise ConfigError(f"heldout.path: no tasks in {config.path!r}")
        self.tiers = [task.tier for task in self.tasks]
        self.requests = {
            t: solve_requests(
                t,
                [task.induction if t is TaskType.INDUCTION else task.triplet for task in self.tasks],
                selfplay.config.selfplay,
                selfplay.chat_template,
            )
            for t in TASK_TYPES
        }
        limit = selfplay.prompt_limit
        too_long = sum(not limit.fits(r.prompt) for rs in self.requests.values() for r in rs) if limit else 0
        if too_long:
            raise ConfigError(
                f"heldout.path: {too_long} prompts of {config.path!r} exceed rollout.max_prompt_tokens "
                f"{selfplay.config.rollout.max_prompt_tokens}; raise it or leave those tasks out of the file"
            )

    def answer(self, params) -> dict[str, dict[TaskType, Answers]]:
        """{"sampled": ..., "greedy": ...} (those configured): each task type's graded answers."""
        modes = {"sampled": (self.config.samples, None)} if self.config.samples else {}
        if self.config.greedy:
            modes["greedy"] = (1, 0.0)
        key = jax.random.key(self.config.seed)
        out: dict[str, dict[TaskType, Answers]] = {}
        for mode, (n, temperature) in modes.items():
            out[mode] = {}
            for i, t in enumerate(TASK_TYPES):
                requests = self.requests[t]
                completions = self.selfplay.generate(
                    [r.prompt for r in requests], n, jax.random.fold_in(key, i), params, temperature=temperature
                )
                repeated = [r for r in requests for _ in range(n)]
                answers = parse_solutions(repeated, [c.text for c in completions], self.selfplay.config.selfplay)
                correct = self.selfplay.correctness(t, [r.task for r in repeated], answers)
                well_formed = np.array([not isinstance(a, FormatError) for a in answers])
                out[mode][t] = Answers(
                    np.asarray(correct, np.int64).reshape(-1, n).sum(axis=1),
                    well_formed.astype(np.int64).reshape(-1, n).sum(axis=1),
                    n,
                )
        return out

    def metrics(self, answers: dict[str, dict[TaskType, Answers]]) -> dict[str, float]:
        groups = {"": np.arange(len(self.tasks))}
        for tier in sorted({t for t in self.tiers if t is not None}):
            groups[f"{tier}/"] = np.array([i for i, t in enumerate(self.tiers) if t == tier])
        metrics: dict[str, float] = {}
        for group, rows in groups.items():
            for t in TASK_TYPES:
                prefix = f"heldout/{group}{t.value}/"
                if "sampled" in answers:
                    sampled = answers["sampled"][t].metrics(prefix, rows)
                    sampled[f"{prefix}pass@1"] = sampled.pop(f"{prefix}accuracy")
                    metrics.update(sampled)
                if "greedy" in answers:
                    metrics.update(answers["greedy"][t].metrics(f"{prefix}greedy_", rows))
        return metrics

    def evaluate(self, step: int, params) -> tuple[dict[str, float], dict]:
        """(metrics, record): the metrics of `params` on the file, with time/heldout_s, and the JSON record of
        every task's counts that __call__ writes."""
        started = time.perf_counter()
        answers = self.answer(params)
        metrics = self.metrics(answers)
        record = {
            "step": step,
            "path": self.config.path,
            "samples": self.config.samples,
            "seed": self.config.seed,
            "tiers": self.tiers,
            **{mode: {t.value: a.to_json() for t, a in per_type.items()} for mode, per_type in answers.items()},
            "metrics": metrics,
        }
        return {**metrics, "time/heldout_s": time.perf_counter() - started}, record

    def __call__(self, step: int, params) -> dict[str, float]:
        """The metrics of `params` on the file; the per-task counts go to out_dir/step_<step>.json."""
        metrics, record = self.evaluate(step, params)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / f"step_{step}.json").write_text(json.dumps(record) + "\n")
        return metrics
