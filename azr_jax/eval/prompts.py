"""What the model is asked for each benchmark problem, wrapped in the AZR template or the chat template.

The wording is ours; the answer format is the one self-play trains (reasoning, then the reply inside
<answer> </answer>): a program in a ```python block, a final answer in \\boxed{}, or for code reasoning
(CRUXEval, LiveCodeBench execution) the self-play solver's own deduction or abduction prompt.
"""

from __future__ import annotations

from azr_jax.eval.benchmarks import CodeProblem, ExecutionProblem, MathProblem, Problem
from azr_jax.selfplay.prompts import ChatTemplate, PromptConfig, render, solver_prompt
from azr_jax.selfplay.tasks import TaskType, Triplet

STOP = ("</answer>",)  # generation ends once the reply is closed

_CODE_ANSWER = "Inside <answer> </answer>, give the complete program in one ```python block."


def task_text(problem: Problem) -> str:
    if isinstance(problem, ExecutionProblem):  # the self-play solver's own task text
        return solver_prompt(TaskType(problem.task_type), Triplet(problem.program, problem.input, problem.output))
    if isinstance(problem, MathProblem):
        return (
            f"Solve this math problem.\n\n{problem.question.strip()}\n\n"
            "Inside <answer> </answer>, give the final answer in \\boxed{}, e.g. <answer>\\boxed{42}</answer>."
        )
    return _code_task(problem)


def _code_task(problem: CodeProblem) -> str:
    if problem.style == "humaneval":
        return (
            "Complete this Python function. Write the whole function, with any imports it needs.\n\n"
            f"```python\n{problem.prompt_code.rstrip()}\n```\n\n{_CODE_ANSWER}"
        )
    if problem.style == "mbpp":
        return f"Write a Python function `{problem.entry_point}` for this task.\n\n{problem.question}\n\n{_CODE_ANSWER}"
    if problem.style == "lcb_functional":
        return (
            f"{problem.question.strip()}\n\nComplete this starter code (keep the class and method names):\n"
            f"```python\n{problem.starter_code.rstrip()}\n```\n\n{_CODE_ANSWER}"
        )
    return (
        f"{problem.question.strip()}\n\nWrite a Python program that reads the input from standard input and "
        f"writes the answer to standard output.\n\n{_CODE_ANSWER}"
    )


def prompt(problem: Problem, template: str, chat_template: ChatTemplate | None = None) -> str:
    """The full prompt text the model continues."""
    return render(task_text(problem), PromptConfig(template=template), chat_template)
