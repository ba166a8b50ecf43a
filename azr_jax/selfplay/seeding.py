"""The seeding stage: the base model proposes tasks until each buffer holds N valid, distinct tasks.

Model and executor are injected as callables, so this loop needs neither JAX nor the sandbox:

- `generate(prompts) -> completions` (the text after each prompt),
- `validate_triplets(candidates) -> [Triplet | None]` (run the program on the input, check determinism),
- `validate_induction(candidates) -> [InductionTask | None]` (run the program on every proposed input).

As in the paper, proposals made with K references from the growing seed set (half with the deduction and
half with the abduction proposer prompt) fill the shared seed set D_seed, which then initialises both the
deduction and the abduction buffer; induction tasks are
proposed on programs drawn from D_seed until the induction buffer holds N as well.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from azr_jax.selfplay.buffer import TaskBuffer, TaskBuffers, load_seed_file
from azr_jax.selfplay.parsing import CandidateInduction, CandidateTriplet, FormatError, parse_proposal
from azr_jax.selfplay.prompts import ChatTemplate, PromptConfig, PromptLimit, fit_references, proposer_prompt, render
from azr_jax.selfplay.tasks import InductionTask, TaskType, Triplet

Generate = Callable[[Sequence[str]], Sequence[str]]
ValidateTriplets = Callable[[Sequence[CandidateTriplet]], Sequence["Triplet | None"]]
ValidateInduction = Callable[[Sequence[CandidateInduction]], Sequence["InductionTask | None"]]


@dataclasses.dataclass(frozen=True)
class SeedingConfig:
    target_size: int = 256  # N valid distinct tasks per buffer (batch 64 x factor 4 in the paper's runs)
    batch_size: int = 64  # proposals asked for per round
    max_rounds: int = 1000  # give up (with an error) after this many rounds per stage
    # The seed set holds distinct tasks whatever the training buffers do: "normalized" (program, input)
    # keys, or "exact" records (the public code's seed set).
    dedup: Literal["normalized", "exact"] = "normalized"

    def __post_init__(self):
        for name in ("target_size", "batch_size", "max_rounds"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class SeedingError(RuntimeError):
    """The model did not produce enough valid distinct tasks within `max_rounds`."""


@dataclasses.dataclass
class SeedingReport:
    rounds: int = 0
    proposals: int = 0
    format_errors: int = 0
    invalid: int = 0
    duplicates: int = 0
    surplus: int = 0  # valid, new, but past the target in the last round
    added: int = 0


def load_seed_files(
    buffers: TaskBuffers,
    triplets_path: str | os.PathLike | None = None,
    induction_path: str | os.PathLike | None = None,
    limit: int | None = None,
) -> dict[TaskType, int]:
    """Adds seed files in the public AZR format: triplets go to deduction and abduction, induction to induction."""
    added = dict.fromkeys(TaskType, 0)
    if triplets_path is not None:
        triplets = load_seed_file(triplets_path, TaskType.DEDUCTION)[:limit]
        for t in (TaskType.DEDUCTION, TaskType.ABDUCTION):
            added[t] = int(buffers[t].add(triplets, step=0).sum())
    if induction_path is not None:
        tasks = load_seed_file(induction_path, TaskType.INDUCTION)[:limit]
        added[TaskType.INDUCTION] = int(buffers[TaskType.INDUCTION].add(tasks, step=0).sum())
    return added


def seed_buffers(
    buffers: TaskBuffers,
    generate: Generate,
    validate_triplets: ValidateTriplets,
    validate_induction: ValidateInduction,
    rng: np.random.Generator,
    seeding: SeedingConfig,
    prompts: PromptConfig,
    banned_words: Sequence[str],
    chat_template: ChatTemplate | None = None,
    limit: PromptLimit | None = None,
) -> dict[TaskType, SeedingReport]:
    """Fills every buffer up to `seeding.target_size` (buffers already that full are left alone). Prompts over
    `limit` are rebuilt on new references, as in training."""
    deduction, abduction = buffers[TaskType.DEDUCTION], buffers[TaskType.ABDUCTION]
    reports = {t: SeedingReport() for t in TaskType}
    if len(deduction) < seeding.target_size:
        reports[TaskType.DEDUCTION] = _seed_triplets(
            deduction, generate, validate_triplets, rng, seeding, prompts, banned_words, chat_template, limit
        )
    reports[TaskType.ABDUCTION].added = int(abduction.add(deduction.tasks[: seeding.target_size], step=0).sum())
    induction = buffers[TaskType.INDUCTION]
    if len(induction) < seeding.target_size:
        reports[TaskType.INDUCTION] = _seed_induction(
            induction, deduction, generate, validate_induction, rng, seeding, prompts, chat_template, limit
        )
    return reports


def _seed_triplets(
    buffer, generate, validate, rng, seeding, prompts, banned_words, chat_template, limit
) -> SeedingReport:
    report = SeedingReport()

    def draw():
        return tuple(buffer.sample_references(prompts.num_references, rng))

    def build(kind, refs):
        return render(proposer_prompt(kind, refs, banned_words, prompts), prompts, chat_template)

    def candidates():
        # Half deduction, half abduction proposer prompts: both yield (program, input) triplets.
        kinds = [(TaskType.DEDUCTION, TaskType.ABDUCTION)[i % 2] for i in range(seeding.batch_size)]
        texts = [fit_references(k, draw(), functools.partial(build, k), draw, limit)[1] for k in kinds]
        return [parse_proposal(k, c, prompts) for k, c in zip(kinds, _generate(generate, texts))]

    return _seed_in_rounds(buffer, candidates, validate, seeding, report)


def _seed_induction(
    buffer, programs_buffer, generate, validate, rng, seeding, prompts, chat_template, limit
) -> SeedingReport:
    report = SeedingReport()

    def draw():
        return (programs_buffer[int(rng.integers(0, len(programs_buffer)))],)

    def build(refs):
        return render(proposer_prompt(TaskType.INDUCTION, refs, (), prompts), prompts, chat_template)

    def candidates():
        drawn = [(programs_buffer[i],) for i in rng.integers(0, len(programs_buffer), size=seeding.batch_size)]
        fitted = [fit_references(TaskType.INDUCTION, refs, build, draw, limit) for refs in drawn]
        programs = [refs[0] for refs, _, _ in fitted]
        completions = _generate(generate, [text for _, text, _ in fitted])
        return [parse_proposal(TaskType.INDUCTION, c, prompts, program=p) for c, p in zip(completions, programs)]

    return _seed_in_rounds(buffer, candidates, validate, seeding, report)


def _seed_in_rounds(buffer: TaskBuffer, candidates, validate, seeding: SeedingConfig, report: SeedingReport):
    """Rounds of `candidates()` (one generate call), validated and added, until the buffer is full; raises after
    `seeding.max_rounds` rounds."""
    while len(buffer) < seeding.target_size:
        if report.rounds == seeding.max_rounds:
            raise SeedingError(
                f"seeding {buffer.task_type.value}: {len(buffer)} of {seeding.target_size} tasks after "
                f"{report.rounds} rounds ({report})"
            )
        report.rounds += 1
        _add_validated(buffer, candidates(), validate, seeding, report)
    return report


def _generate(generate: Generate, prompts: list[str]) -> list[str]:
    completions = list(generate(prompts))
    if len(completions) != len(prompts):
        raise ValueError(f"generate returned {len(completions)} completions for {len(prompts)} prompts")
    return completions


def _add_validated(buffer: TaskBuffer, candidates, validate, seeding: SeedingConfig, report: SeedingReport) -> None:
    report.proposals += len(candidates)
    parsed = [c for c in candidates if not isinstance(c, FormatError)]
    report.format_errors += len(candidates) - len(parsed)
    results = list(validate(parsed)) if parsed else []
    if len(results) != len(parsed):
        raise ValueError(f"validate returned {len(results)} results for {len(parsed)} candidates")
    valid = [task for task in results if task is not None]
    report.invalid += len(parsed) - len(valid)
    seen = {_seed_key(t, seeding) for t in buffer.tasks}
    fresh = []
    for task in valid:
        key = _seed_key(task, seeding)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        fresh.append(task)
    room = seeding.target_size - len(buffer)
    report.surplus += max(0, len(fresh) - room)
    report.added += int(buffer.add(fresh[:room], step=0).sum())


def _seed_key(task, seeding: SeedingConfig) -> str:
    return task.dedup_key() if seeding.dedup == "normalized" else json.dumps(task.to_record(), sort_keys=True)
