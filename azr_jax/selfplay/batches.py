"""The trainer's view of one self-play step: prompts in, parsed candidates and answers out.

One step, per task type:
1. `proposal_requests`: proposer prompts, with K references (induction: one program) from the buffers.
2. the model answers; `parse_proposals` turns responses into candidate tasks or format errors.
3. the executor validates candidates and completes them (`candidate.complete(output)`); the valid tasks go into
   the buffer at once (`TaskBuffer.add(tasks, step)`), unless `buffer.draws_before_adding` (the public order)
   holds them back until the solver batch is drawn.
4. `solve_requests` for each valid task, repeated `rewards.n_solver_rollouts` times to estimate its solve
   rate (`rewards.solve_rates`), then `rewards.proposer_rewards`.
5. the solver batch is drawn with `TaskBuffer.sample_solver_batch` (newest first), answered, parsed with
   `parse_solutions`, graded (`selfplay/grading.grade`), and rewarded with `rewards.solver_rewards`.
6. `advantages.compute_advantages` over all six (task type, role) groups of the step.

Prompts over the token limit (`PromptLimit`) are never cut: a proposer prompt is rebuilt on freshly drawn
references (or on fewer of them), a solver prompt is replaced by another of its batch, as the public code's
`get_gen_code_io_data` / `get_pred_code_io_data` do; the requests count what was dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.selfplay.config import SelfPlayConfig
from azr_jax.selfplay.parsing import Candidate, FormatError, SolverAnswer, parse_proposal, parse_solution
from azr_jax.selfplay.prompts import (
    ChatTemplate,
    PromptLimit,
    PromptTooLong,
    fit_references,
    proposer_prompt,
    render,
    solver_prompt,
)
from azr_jax.selfplay.tasks import InductionTask, Task, TaskType, Triplet
from sandbox.policy import DEFAULT_POLICY


@dataclasses.dataclass(frozen=True)
class ProposalRequest:
    task_type: TaskType
    prompt: str  # the full text the model continues
    references: tuple[Triplet, ...]  # the K references shown; for induction the one program to write inputs for
    dropped: int = 0  # prompts built for this request and dropped as too long


@dataclasses.dataclass(frozen=True)
class SolveRequest:
    task_type: TaskType
    task: Task
    prompt: str


def proposal_requests(
    task_type: TaskType,
    buffers: TaskBuffers,
    batch_size: int,
    rng: np.random.Generator,
    config: SelfPlayConfig,
    banned_words: Sequence[str] | None = None,
    chat_template: ChatTemplate | None = None,
    limit: PromptLimit | None = None,
) -> list[ProposalRequest]:
    """`batch_size` proposer prompts; references are drawn per prompt from the task type's own buffer."""
    task_type = TaskType(task_type)
    words = DEFAULT_POLICY.banned_words() if banned_words is None else tuple(banned_words)

    def draw(n: int) -> list[tuple[Triplet, ...]]:
        if task_type is TaskType.INDUCTION:
            return [(p,) for p in buffers.sample_programs(n, rng)]
        return [tuple(buffers[task_type].sample_references(config.prompts.num_references, rng)) for _ in range(n)]

    def build(refs: tuple[Triplet, ...]) -> str:
        return render(proposer_prompt(task_type, refs, words, config.prompts), config.prompts, chat_template)

    # An induction prompt shows one program: it can only be redrawn.
    fewer = limit is not None and limit.fewer_references and task_type is not TaskType.INDUCTION
    fitted = [fit_references(task_type, refs, build, lambda: draw(1)[0], limit, fewer) for refs in draw(batch_size)]
    return [ProposalRequest(task_type, prompt, refs, dropped) for refs, prompt, dropped in fitted]


def parse_proposals(
    requests: Sequence[ProposalRequest], responses: Sequence[str], config: SelfPlayConfig
) -> list[Candidate | FormatError]:
    _check_lengths(requests, responses)
    return [
        parse_proposal(r.task_type, text, config.prompts, program=_induction_program(r))
        for r, text in zip(requests, responses)
    ]


def _induction_program(request: ProposalRequest) -> Triplet | None:
    return request.references[0] if request.task_type is TaskType.INDUCTION else None


def solve_requests(
    task_type: TaskType,
    tasks: Sequence[Triplet | InductionTask],
    config: SelfPlayConfig,
    chat_template: ChatTemplate | None = None,
) -> list[SolveRequest]:
    task_type = TaskType(task_type)
    return [
        SolveRequest(task_type, task, render(solver_prompt(task_type, task), config.prompts, chat_template))
        for task in tasks
    ]


def fit_solver_batch(
    requests: Sequence[SolveRequest], limit: PromptLimit | None, rng: np.random.Generator
) -> tuple[list[SolveRequest], int]:
    """The batch with each prompt over the limit replaced by a uniformly drawn one of the batch that fits (the
    public `get_pred_code_io_data` fills the batch so), and how many were replaced."""
    requests = list(requests)
    if limit is None:
        return requests, 0
    fitting = [i for i, r in enumerate(requests) if limit.fits(r.prompt)]
    over = len(requests) - len(fitting)
    if over and not fitting:
        raise PromptTooLong(f"rollout.max_prompt_tokens: none of {len(requests)} solver prompts fits; raise it")
    if over:
        keep = set(fitting)
        requests = [r if i in keep else requests[fitting[rng.integers(len(fitting))]] for i, r in enumerate(requests)]
    return requests, over


def parse_solutions(
    requests: Sequence[SolveRequest], responses: Sequence[str], config: SelfPlayConfig, require_format: bool = True
) -> list[SolverAnswer | FormatError]:
    _check_lengths(requests, responses)
    return [parse_solution(r.task_type, text, config.prompts, require_format) for r, text in zip(requests, responses)]


def _check_lengths(requests: Sequence[object], responses: Sequence[str]) -> None:
    if len(requests) != len(responses):
        raise ValueError(f"{len(responses)} responses for {len(requests)} requests")
