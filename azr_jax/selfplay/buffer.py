"""Task buffers, one per task type: validated tasks with the step that produced them.

A buffer is an append-only list of records plus a numpy array of step numbers. It deduplicates on the
normalised (program, input) key, samples proposer references (K without replacement) and solver batches
(newest first, the rest uniform, resampled with replacement while the buffer is smaller than the batch; or the
public trainer's `max_new` draw), keeps an optional JSONL journal that survives a crash mid-write, and
checkpoints to a plain-data state dict.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from azr_jax.selfplay.tasks import Task, TaskType, Triplet, identity_seed, record_class

STATE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class BufferConfig:
    # "normalized": one task per normalised (program, input(s)) key; "exact": one per exact record;
    # "off": keep duplicates (the public code's training buffers).
    dedup: Literal["normalized", "exact", "off"] = "normalized"
    # "newest_first": drawn after the step's valid proposals are added; tasks from the last `new_task_window`
    # steps (the current one included) first, the rest uniformly from older tasks.
    # "public_max_new": the public trainer's `pred_data_mix_strategy=max_new`, drawn *before* the step's
    # proposals are added: the last R tasks of the buffer first, R = tasks offered to it at steps s' with
    # step - s' <= `new_task_window` (so window 1 = the previous step's tasks), then `random.sample` of the whole
    # buffer, where a new task can come again.
    # "uniform": the whole batch uniformly from the buffer.
    solver_sampling: Literal["newest_first", "public_max_new", "uniform"] = "newest_first"
    # newest_first: 1 = only tasks added at the current step (the paper). public_max_new: the public
    # `past_epoch_window`, which its run scripts set to 1 (= `update_iteration`).
    new_task_window: int = 1
    # Stop accepting tasks once the buffer holds this many (the public runs cap at 16384); None = no cap.
    max_tasks: int | None = None
    fsync: bool = True  # fsync the journal after each append, so a crash loses no acknowledged task

    @property
    def draws_before_adding(self) -> bool:
        """Whether the trainer draws the solver batch before this step's valid proposals are added."""
        return self.solver_sampling == "public_max_new"

    def __post_init__(self):
        if self.new_task_window < 1:
            raise ValueError(f"new_task_window must be >= 1, got {self.new_task_window}")
        if self.max_tasks is not None and self.max_tasks < 1:
            raise ValueError(f"max_tasks must be >= 1 or None, got {self.max_tasks}")


class BufferError(ValueError):
    """A journal or state dict that cannot be read; the message names the file and line or the field."""


class TaskBuffer:
    """Validated tasks of one type, in the order they were added."""

    def __init__(
        self, task_type: TaskType, config: BufferConfig = BufferConfig(), journal: str | os.PathLike | None = None
    ):
        self.task_type = TaskType(task_type)
        self.config = config
        self._records: list[Task] = []
        self._steps = np.zeros(16, dtype=np.int64)
        self._keys: set[str] = set()
        # Tasks offered per step (cap-rejected ones included): the public trainer counts its recent additions
        # before truncating a buffer to its cap, so its "new" tasks are the last R of the buffer either way.
        self._offered: dict[int, int] = {}
        self._journal = Path(journal) if journal is not None else None
        if self._journal is not None and self._journal.exists():
            self._load_journal()

    # --- contents ---

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index: int) -> Task:
        return self._records[index]

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(self._records)

    @property
    def steps(self) -> np.ndarray:
        """The step at which each task was added (a read-only view)."""
        view = self._steps[: len(self._records)]
        view.flags.writeable = False
        return view

    def dedup_key(self, task: Task) -> str | None:
        """The key two tasks share when this buffer treats them as duplicates (None: no deduplication)."""
        if self.config.dedup == "off":
            return None
        if self.config.dedup == "exact":
            return json.dumps(task.to_record(), sort_keys=True)
        return task.dedup_key()

    def contains(self, task: Task) -> bool:
        key = self.dedup_key(task)
        return key is not None and key in self._keys

    def add(self, tasks: Iterable[Task], step: int) -> np.ndarray:
        """Appends the tasks not already present (nor repeated within `tasks`); returns which were added."""
        tasks = list(tasks)
        cls = record_class(self.task_type)
        for task in tasks:
            if not isinstance(task, cls):
                raise TypeError(f"{self.task_type.value} buffer takes {cls.__name__}, got {type(task).__name__}")
        room = len(tasks) if self.config.max_tasks is None else max(0, self.config.max_tasks - len(self))
        added = np.zeros(len(tasks), dtype=bool)
        new: list[Task] = []
        new_keys: set[str] = set()
        offered = 0
        for i, task in enumerate(tasks):
            key = self.dedup_key(task)
            if key is not None and (key in self._keys or key in new_keys):
                continue
            offered += 1
            if len(new) < room:
                new.append(task)
                added[i] = True
                if key is not None:
                    new_keys.add(key)
        if new:
            self._write_journal(new, step)  # first, so a failed write leaves memory unchanged
            self._append(new, step)
            self._keys |= new_keys
        if offered:
            self._offered[step] = self._offered.get(step, 0) + offered
        return added

    def _append(self, tasks: Sequence[Task], step: int) -> None:
        n, m = len(self._records), len(tasks)
        if n + m > len(self._steps):
            grown = np.zeros(max(2 * len(self._steps), n + m), dtype=np.int64)
            grown[:n] = self._steps[:n]
            self._steps = grown
        self._steps[n : n + m] = step
        self._records.extend(tasks)

    # --- sampling (the caller owns the numpy Generator, so its state checkpoints with the trainer's) ---

    def sample_references(self, k: int, rng: np.random.Generator) -> list[Task]:
        """Up to `k` distinct tasks, uniformly without replacement (fewer only when the buffer is smaller)."""
        if len(self) == 0:
            raise ValueError(f"the {self.task_type.value} buffer is empty: seed it before sampling")
        chosen = rng.choice(len(self), size=min(k, len(self)), replace=False)
        return [self._records[i] for i in chosen]

    def sample_indices(self, batch_size: int, rng: np.random.Generator, current_step: int) -> np.ndarray:
        """Indices of a solver batch: newest tasks first, then uniform over the rest, then resampling."""
        if len(self) == 0:
            raise ValueError(f"the {self.task_type.value} buffer is empty: seed it before sampling")
        steps = self.steps
        everything = np.arange(len(self))
        if self.config.solver_sampling == "public_max_new":
            return self._public_max_new(batch_size, rng, current_step)
        if self.config.solver_sampling == "newest_first":
            is_new = steps > current_step - self.config.new_task_window
            pools = [everything[is_new], everything[~is_new]]
        else:
            pools = [everything]
        picked: list[np.ndarray] = []
        needed = batch_size
        for pool in pools:
            take = min(needed, len(pool))
            if take:
                picked.append(rng.choice(pool, size=take, replace=False))
                needed -= take
        if needed:  # the buffer is smaller than the batch: fill by resampling uniformly
            picked.append(rng.choice(len(self), size=needed, replace=True))
        return np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)

    def _public_max_new(self, batch_size: int, rng: np.random.Generator, current_step: int) -> np.ndarray:
        """The public `max_new` draw (`_create_train_code_pred_dataloader`): the last R tasks, R = recent offers,
        sampled without replacement, then `random.sample` of the whole buffer for the rest (the public code
        raises when the buffer is smaller than that rest; here the rest is then drawn with replacement)."""
        recent = sum(n for s, n in self._offered.items() if current_step - s <= self.config.new_task_window)
        newest = np.arange(len(self) - min(recent, len(self)), len(self))
        first = rng.choice(newest, size=min(batch_size, len(newest)), replace=False)
        rest = batch_size - len(first)
        fill = rng.choice(len(self), size=rest, replace=rest > len(self))
        return np.concatenate([first, fill]).astype(np.int64)

    def sample_solver_batch(self, batch_size: int, rng: np.random.Generator, current_step: int) -> list[Task]:
        return [self._records[i] for i in self.sample_indices(batch_size, rng, current_step)]

    # --- checkpoint ---

    def state_dict(self) -> dict[str, Any]:
        """Plain data (str, int, list, dict): saves as JSON or with orbax and restores exactly."""
        return {
            "version": STATE_VERSION,
            "task_type": self.task_type.value,
            "records": [task.to_record() for task in self._records],
            "steps": [int(s) for s in self.steps],
            "offered": [[int(s), int(n)] for s, n in sorted(self._offered.items())],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replaces the contents with `state`; the journal, if any, is rewritten to match it atomically."""
        if state.get("version") != STATE_VERSION:
            raise BufferError(f"buffer state: unsupported version {state.get('version')!r}")
        if state.get("task_type") != self.task_type.value:
            raise BufferError(f"buffer state: task_type {state.get('task_type')!r}, expected {self.task_type.value!r}")
        records, steps = state.get("records"), state.get("steps")
        if not isinstance(records, list) or not isinstance(steps, (list, np.ndarray)) or len(records) != len(steps):
            raise BufferError("buffer state: 'records' and 'steps' must be lists of the same length")
        cls = record_class(self.task_type)
        try:
            tasks = [cls.from_record(r) for r in records]
        except ValueError as e:
            raise BufferError(f"buffer state: {e}") from e
        self._records = tasks
        self._steps = np.zeros(max(16, len(tasks)), dtype=np.int64)
        self._steps[: len(tasks)] = np.asarray(steps, dtype=np.int64)
        self._keys = {k for k in map(self.dedup_key, tasks) if k is not None}
        offered = state.get("offered")
        if offered is None:  # a state saved before offers were counted: what was added is what was offered
            self._offered = _counts(self.steps)
        else:
            self._offered = {int(s): int(n) for s, n in offered}
        if self._journal is not None:
            self._journal.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._journal.with_name(self._journal.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                for task, step in zip(tasks, self.steps):
                    f.write(_journal_line(task, int(step)))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._journal)

    # --- journal ---

    def _write_journal(self, tasks: Sequence[Task], step: int) -> None:
        if self._journal is None:
            return
        self._journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self._journal, "a", encoding="utf-8") as f:
            f.write("".join(_journal_line(t, step) for t in tasks))
            f.flush()
            if self.config.fsync:
                os.fsync(f.fileno())

    def _load_journal(self) -> None:
        assert self._journal is not None
        data = self._journal.read_bytes()
        lines = data.split(b"\n")
        # A complete file ends with "\n", so the last piece is empty; anything else there is a torn write.
        body, tail = lines[:-1], lines[-1]
        cls = record_class(self.task_type)
        good_bytes = 0
        for number, raw in enumerate(body, start=1):
            try:
                entry = json.loads(raw)
                step = entry.pop("step")
                if not isinstance(step, int) or isinstance(step, bool):
                    raise ValueError("field 'step': expected an int")
                task = cls.from_record(entry)
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                if number == len(body) and not tail:
                    warnings.warn(f"{self._journal}:{number}: skipping a torn last line ({e})", stacklevel=3)
                    break
                raise BufferError(f"{self._journal}:{number}: {e}") from e
            key = self.dedup_key(task)
            if key is not None:
                self._keys.add(key)
            self._append([task], step)
            good_bytes += len(raw) + 1
        else:
            if tail:
                warnings.warn(f"{self._journal}:{len(body) + 1}: skipping a torn last line (no newline)", stacklevel=3)
        # The journal holds what was added; offers the cap rejected are in checkpoints only.
        self._offered = _counts(self.steps)
        if good_bytes != len(data):
            # Cut the torn tail so the next append starts on a fresh line.
            with open(self._journal, "r+b") as f:
                f.truncate(good_bytes)


def _counts(steps: np.ndarray) -> dict[int, int]:
    values, counts = np.unique(steps, return_counts=True)
    return {int(s): int(n) for s, n in zip(values, counts)}


def _journal_line(task: Task, step: int) -> str:
    return json.dumps({"step": step, **task.to_record()}, ensure_ascii=False) + "\n"


# --- the three buffers together ---


class TaskBuffers:
    """One buffer per task type, seeded with the identity task; what the trainer checkpoints."""

    def __init__(
        self,
        config: BufferConfig = BufferConfig(),
        journal_dir: str | os.PathLike | None = None,
        seed_identity: bool = True,
    ):
        self.config = config
        self.buffers = {
            t: TaskBuffer(t, config, None if journal_dir is None else Path(journal_dir) / f"{t.value}.jsonl")
            for t in TaskType
        }
        if seed_identity:
            for t, buffer in self.buffers.items():
                if len(buffer) == 0:
                    buffer.add([identity_seed(t)], step=0)

    def __getitem__(self, task_type: TaskType) -> TaskBuffer:
        return self.buffers[TaskType(task_type)]

    def sample_programs(self, n: int, rng: np.random.Generator) -> list[Triplet]:
        """Programs for induction proposals: uniform over the deduction and abduction buffers together."""
        pool = [*self[TaskType.DEDUCTION].tasks, *self[TaskType.ABDUCTION].tasks]
        if not pool:
            raise ValueError("the deduction and abduction buffers are empty: seed them before sampling")
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]

    def state_dict(self) -> dict[str, Any]:
        return {t.value: b.state_dict() for t, b in self.buffers.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for t, buffer in self.buffers.items():
            if t.value not in state:
                raise BufferError(f"buffers state: missing {t.value!r}")
            buffer.load_state_dict(state[t.value])


def load_seed_file(path: str | os.PathLike, task_type: TaskType) -> list[Task]:
    """Tasks from a seed file in the public AZR format (JSONL; unknown fields are ignored)."""
    cls = record_class(task_type)
    tasks = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                tasks.append(cls.from_record(json.loads(line)))
            except ValueError as e:
                raise BufferError(f"{path}:{number}: {e}") from e
    return tasks
