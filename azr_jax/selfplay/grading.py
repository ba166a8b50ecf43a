"""Solver answers -> correctness, through the sandbox: the trainer's one grading path.

Both the learnability rollouts and the solver batches are graded here (`SelfPlayStep.correctness`), so what the
adversarial suite (tests/sandbox/test_reward_hacks.py) proves of this function holds for every reward the trainer
pays. Every verdict comes from the executor, which compares plain data in trusted code (docs/sandbox.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from azr_jax.selfplay.parsing import FormatError, SolverAnswer
from azr_jax.selfplay.rewards import RewardConfig, induction_correctness
from azr_jax.selfplay.tasks import InductionTask, Task, TaskType
from sandbox import Executor, InductionResult, Status


def grade(
    executor: Executor,
    task_type: TaskType,
    tasks: Sequence[Task],
    answers: Sequence[SolverAnswer | FormatError],
    config: RewardConfig,
) -> np.ndarray:
    """Correctness in [0, 1] of each answer to its task; 0 for a format error. One executor call."""
    correctness = np.zeros(len(tasks))
    graded = [i for i, a in enumerate(answers) if not isinstance(a, FormatError)]
    if not graded:
        return correctness
    if task_type is TaskType.DEDUCTION:
        results = executor.check_deduction([(tasks[i].program, tasks[i].output, answers[i].text) for i in graded])
        values = [float(r.correct) for r in results]
    elif task_type is TaskType.ABDUCTION:
        results = executor.check_abduction([(tasks[i].program, answers[i].text, tasks[i].output) for i in graded])
        values = [float(r.correct) for r in results]
    else:
        jobs = []
        for i in graded:
            task: InductionTask = tasks[i]
            held_out = task.held_out_pairs()
            program = induction_answer_program(answers[i].text, task, config)
            jobs.append((program, [x for x, _ in held_out], [y for _, y in held_out]))
        results = executor.check_induction(jobs, allow_helpers=True if config.induction_answer_helpers else None)
        values = [induction_score(r, config) for r in results]
    correctness[graded] = values
    return correctness


def induction_answer_program(answer: str, task: InductionTask, config: RewardConfig) -> str:
    """The program that is run for an induction answer: with the task program's import lines first when
    `induction_answer_imports` (the public code prepends the task's imports to every program it runs)."""
    if not (config.induction_answer_imports and task.imports):
        return answer
    return "\n".join(task.imports) + "\n" + answer


def induction_score(result: InductionResult, config: RewardConfig) -> float:
    """All held-out pairs passed (1/0), or the fraction passed, per `induction_correctness`. With
    `induction_failed_checks="excluded"` a check the sandbox could not carry out (a worker lost: `sandbox_error`)
    is left out, as the public code leaves out a check whose executor call failed; no check left scores 0."""
    cases = result.cases
    if config.induction_failed_checks == "excluded":
        cases = tuple(c for c in cases if c.status is not Status.SANDBOX_ERROR)
    if not cases:
        return 0.0
    return float(induction_correctness(np.array([[c.correct for c in cases]]), config)[0])
