"""Code-reasoning benchmarks (CRUXEval, LiveCodeBench execution): a response -> the solver's answer -> a verdict.

These are the self-play solver's deduction and abduction tasks on a fixed set, so they are read and graded as
self-play grades its solver (the public run's validation does the same): the answer comes from the solver
parser (`selfplay.parsing.parse_solution`, format included), and the sandbox judges it through its public
API, `Executor.check_deduction` (the predicted output equals the gold one by value) or `check_abduction` (f of
the predicted input gives the gold output; any such input counts).
"""

from __future__ import annotations

from collections.abc import Sequence

from azr_jax.eval.benchmarks import ExecutionProblem
from azr_jax.selfplay.parsing import FormatError, parse_solution
from azr_jax.selfplay.prompts import PromptConfig
from azr_jax.selfplay.tasks import TaskType
from sandbox import Executor, Status


def extract_answer(problem: ExecutionProblem, response: str, prompts: PromptConfig, bare: bool = False) -> str | None:
    """The predicted output (deduction) or input (abduction) of a response in the solver format; None when the
    format is off. `bare`: a samples-file completion that is not in that format is the answer itself."""
    parsed = parse_solution(TaskType(problem.task_type), response, prompts)
    if isinstance(parsed, FormatError):
        return (response.strip() or None) if bare else None
    return parsed.text


def check_answers(
    executor: Executor, problems: Sequence[ExecutionProblem], answers: Sequence[str | None]
) -> list[dict]:
    """One record per (problem, answer), in input order: {"passed", "verdict", "error_type", "error"}; verdict is
    pass, fail (a wrong answer, or an input f fails on), timeout, or no_answer (None: the format was off)."""
    records: list[dict] = [
        {"passed": False, "verdict": "no_answer", "error_type": None, "error": "no answer in the solver format"}
    ] * len(problems)
    for task_type, check in (("deduction", executor.check_deduction), ("abduction", executor.check_abduction)):
        index = [
            i
            for i, (p, a) in enumerate(zip(problems, answers, strict=True))
            if p.task_type == task_type and a is not None
        ]
        if not index:
            continue
        if task_type == "deduction":
            jobs = [(problems[i].program, problems[i].output, answers[i]) for i in index]
        else:
            jobs = [(problems[i].program, answers[i], problems[i].output) for i in index]
        for i, result in zip(index, check(jobs)):
            verdict = "pass" if result.correct else "timeout" if result.status is Status.TIMEOUT else "fail"
            records[i] = {
                "passed": result.correct,
                "verdict": verdict,
                "error_type": result.error_type,
                "error": result.error,
            }
    return records
