"""Generated tasks and the transcripts the tiny coder is pretrained on, in the trainer's own prompt formats.

`generate_tasks` draws programs and inputs (`programs`), turns them into proposals exactly as the trainer's
parser would see them, and keeps those the sandbox accepts through the trainer's own validation
(`selfplay_step.validate_candidates`: policy, determinism, gold outputs). `transcripts` then writes, for every
task, one (prompt, response) pair per (task type, role): prompts are built by the functions the trainer calls
(`proposal_requests`-style reference sampling from a real `TaskBuffer`, `proposer_prompt`, `solver_prompt`,
`render`, the sandbox policy's banned words), responses are what a competent model would answer: a proposal
with its reasoning, or a short reasoning inside <think> and the correct answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import numpy as np

from azr_jax.selfplay.buffer import TaskBuffer
from azr_jax.selfplay.parsing import CandidateInduction, CandidateTriplet
from azr_jax.selfplay.prompts import PromptConfig, proposer_prompt, render, solver_prompt
from azr_jax.selfplay.tasks import GROUPS, InductionTask, Role, TaskType, Triplet, identity_seed, normalize_program
from azr_jax.tinycoder.programs import draw_inputs, draw_program
from azr_jax.trainer.selfplay_step import validate_candidates
from sandbox.executor import Executor


@dataclasses.dataclass(frozen=True)
class GeneratedTask:
    """One program with a triplet (deduction/abduction) and an induction task, both validated by the sandbox."""

    description: str
    triplet: Triplet
    induction: InductionTask
    tier: str | None = None  # the program's tier ("one_step", "multi_step"; azr_jax.tinycoder.programs)


@dataclasses.dataclass(frozen=True)
class Transcript:
    task_type: TaskType
    role: Role
    prompt: str  # the full text the model continues (ends with the prefilled "<think>")
    response: str  # what follows the prompt, up to and including "</answer>"


def generate_tasks(
    count: int,
    seed: int,
    executor: Executor,
    prompts: PromptConfig,
    exclude_programs: frozenset[str] = frozenset(),
    max_per_program: int = 1,
    max_output_chars: int = 60,
    batch: int = 256,
) -> list[GeneratedTask]:
    """`count` tasks, deterministic for `seed`: each program (normalised) at most `max_per_program` times, with
    different inputs, and none in `exclude_programs`. Repeats let templates with few variants (factorial,
    palindromes) keep their share of the corpus next to those with thousands (affine maps).

    A task is kept only if the sandbox accepts its triplet input and all of its induction inputs, and every
    output repr fits `max_output_chars` (long outputs make long, slow sequences for a tiny model)."""
    rng = np.random.default_rng(seed)
    uses: dict[str, int] = dict.fromkeys(exclude_programs, max_per_program)
    pairs: set[tuple[str, str]] = set()
    tasks: list[GeneratedTask] = []
    n_inputs = prompts.induction_num_inputs
    draws, max_draws = 0, 100 * count + 10_000
    while len(tasks) < count:
        drafts = []
        while len(drafts) < batch:
            draws += 1
            if draws > max_draws:
                raise ValueError(
                    f"{len(tasks)} of {count} tasks after {max_draws} draws: the template space is nearly used up"
                )
            spec = draw_program(rng)
            key = normalize_program(spec.program)
            inputs = draw_inputs(spec, n_inputs, rng)
            if uses.get(key, 0) >= max_per_program or len(inputs) < n_inputs or (key, inputs[0]) in pairs:
                continue
            uses[key] = uses.get(key, 0) + 1
            pairs.add((key, inputs[0]))
            drafts.append((spec, inputs))
        candidates = []
        for spec, inputs in drafts:
            candidates.append(CandidateTriplet(program=spec.program, input=inputs[0]))
            candidates.append(
                CandidateInduction(program=spec.program, inputs=tuple(inputs), message=_message(spec.description))
            )
        validated = validate_candidates(executor, candidates)
        for k, (spec, _) in enumerate(drafts):
            triplet, induction = validated[2 * k], validated[2 * k + 1]
            if triplet is None or induction is None:
                continue
            if max(len(o) for o in (triplet.output, *induction.outputs)) > max_output_chars:
                continue
            tasks.append(GeneratedTask(spec.description, triplet, induction, spec.tier))
            if len(tasks) == count:
                break
    return tasks


def _message(description: str) -> str:
    return f"The function {description}."


# ---- transcripts ----


def transcripts(
    tasks: Sequence[GeneratedTask],
    prompts: PromptConfig,
    banned_words: Sequence[str],
    seed: int,
    max_earlier_tasks: int = 8,
) -> list[Transcript]:
    """Six transcripts per task, one per (task type, role), in `GROUPS` order.

    A proposer's references come from a buffer holding the identity seed and up to `max_earlier_tasks` other
    generated triplets (as a self-play buffer early in training), sampled with `TaskBuffer.sample_references`."""
    rng = np.random.default_rng(seed)
    out: list[Transcript] = []
    for index, task in enumerate(tasks):
        earlier = [
            tasks[int(j)].triplet
            for j in rng.integers(0, len(tasks), size=int(rng.integers(0, max_earlier_tasks + 1)))
            if j != index
        ]
        for task_type, role in GROUPS:
            if role is Role.PROPOSE:
                prompt = _proposer_prompt(task_type, task, earlier, prompts, banned_words, rng)
                response = _proposal(task_type, task)
            else:
                puzzle = task.induction if task_type is TaskType.INDUCTION else task.triplet
                prompt = render(solver_prompt(task_type, puzzle), prompts)
                response = _solution(task_type, task)
            out.append(Transcript(task_type, role, prompt, response))
    return out


def _proposer_prompt(task_type, task, earlier, prompts, banned_words, rng) -> str:
    if task_type is TaskType.INDUCTION:
        references = [task.triplet]
    else:
        buffer = TaskBuffer(task_type)
        buffer.add([identity_seed(task_type), *earlier], step=0)
        references = buffer.sample_references(prompts.num_references, rng)
    return render(proposer_prompt(task_type, references, banned_words, prompts), prompts)


def _fenced(kind: str, text: str) -> str:
    return f"```{kind}\n{text}\n```"


def _respond(thought: str, *answer_blocks: str) -> str:
    """The text after the prefilled "<think>": the thought, then the answer."""
    return f" {thought} </think>\n<answer>\n" + "\n".join(answer_blocks) + "\n</answer>"


def _proposal(task_type: TaskType, task: GeneratedTask) -> str:
    if task_type is TaskType.INDUCTION:
        blocks = [_fenced("input", text) for text in task.induction.inputs]
        return _respond(
            "I pick inputs that show what the function does.", *blocks, _fenced("message", task.induction.message)
        )
    return _respond(
        f"A function that {task.description}.",
        _fenced("python", task.triplet.program),
        _fenced("input", task.triplet.input),
    )


def _solution(task_type: TaskType, task: GeneratedTask) -> str:
    if task_type is TaskType.DEDUCTION:
        return _respond(f"f {task.description}.", _fenced("output", task.triplet.output))
    if task_type is TaskType.ABDUCTION:
        return _respond(f"f {task.description}.", _fenced("input", task.triplet.input))
    return _respond(f"The examples fit a function that {task.description}.", _fenced("python", task.triplet.program))


# ---- files ----


def save_tasks(path, tasks: Sequence[GeneratedTask]) -> None:
    """JSONL, one task a line: its description, triplet and induction task in the public AZR record format, and
    its tier when known."""
    with open(path, "w", encoding="utf-8") as f:
        for task in tasks:
            record = {
                "description": task.description,
                "triplet": task.triplet.to_record(),
                "induction": task.induction.to_record(),
                **({} if task.tier is None else {"tier": task.tier}),
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def load_tasks(path) -> list[GeneratedTask]:
    tasks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                tasks.append(
                    GeneratedTask(
                        r["description"],
                        Triplet.from_record(r["triplet"]),
                        InductionTask.from_record(r["induction"]),
                        r.get("tier"),
                    )
                )
    return tasks
