"""Test cases for whole programs, run inside a jailed `script` job.

`stdin_tests`: the program reads standard input and writes standard output; `call_tests`: a method of its
class `Solution` is called with JSON arguments (LiveCodeBench's two kinds). `differential_tests`: the
function is called on each input and must return what a reference solution returns (evalplus' release files,
which list inputs rather than a test). Each case has its own wall clock (an interval timer) and the first
failing case ends the script with an AssertionError, as both benchmarks' harnesses stop. LiveCodeBench output
is compared line by line after stripping, tokens that both read as decimals by value; evalplus values exactly,
floats within `atol` (1e-6 when the expected value is float and atol is 0) plus a relative 1e-7.
LiveCodeBench programs run after the imports its own runner puts before every solution (`_LCB_PRELUDE`).
Imported only by script jobs in the jail, never by the host; stdlib-only.
"""

from __future__ import annotations

import copy
import decimal
import io
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

# LiveCodeBench's runner puts star imports (then plain imports) of these modules before every solution, stdin
# and call-based alike, and raises the recursion limit to 50000: LeetCode starter code annotates with
# `List[int]` without importing it, and accepted solutions rely on `sys`, `heapq`, `Counter`... unimported.
_LCB_PRELUDE_MODULES = (
    "string",
    "re",
    "datetime",
    "collections",
    "heapq",
    "bisect",
    "copy",
    "math",
    "random",
    "statistics",
    "itertools",
    "functools",
    "operator",
    "io",
    "sys",
    "json",
    "builtins",
    "typing",
)
_LCB_PRELUDE = compile(
    "".join(f"from {name} import *\n" for name in _LCB_PRELUDE_MODULES)
    + "".join(f"import {name}\n" for name in _LCB_PRELUDE_MODULES if name != "builtins")
    + "sys.setrecursionlimit(50000)\n",
    "<prelude>",
    "exec",
)


def _lcb_namespace() -> dict[str, Any]:
    """A fresh `__main__` namespace holding what LiveCodeBench's runner imports for a solution. Built per
    case, after stdin and stdout are redirected, so that a bare `stdin` or `stdout` is the case's."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(_LCB_PRELUDE, namespace)
    return namespace


class TestCaseTimeout(BaseException):
    """One case passed its limit (a BaseException, so `except Exception` in the program cannot swallow it)."""


def stdin_tests(source: str, cases: Sequence[tuple[str, str]], case_timeout_s: float) -> None:
    """Runs `source` as `__main__` once per (stdin, expected stdout) case."""
    code = compile(source, "<solution>", "exec")
    for index, (stdin_text, expected) in enumerate(cases):
        got = _run_with_stdin(code, stdin_text, case_timeout_s)
        assert same_output(got, expected), f"test {index}: wrong output"


def call_tests(source: str, method: str, cases: Sequence[tuple[str, str]], case_timeout_s: float) -> None:
    """Calls `Solution().<method>` on each case: arguments one JSON value per line, the expected value in JSON."""
    namespace = _lcb_namespace()
    exec(compile(source, "<solution>", "exec"), namespace)
    bound = getattr(namespace["Solution"](), method)
    for index, (arguments, expected) in enumerate(cases):
        args = [json.loads(line) for line in arguments.split("\n") if line.strip()]
        got = _plain(_timed(lambda: bound(*args), case_timeout_s))
        assert got == json.loads(expected), f"test {index}: wrong output"


def differential_tests(
    reference: str, source: str, entry_point: str, inputs: Sequence[list], atol: float, case_timeout_s: float
) -> None:
    """`entry_point` of `source` must match that of `reference` on every argument list of `inputs`."""
    namespaces: list[dict[str, Any]] = []
    for text, name in ((reference, "<reference>"), (source, "<solution>")):
        namespaces.append({"__name__": "__main__"})
        exec(compile(text, name, "exec"), namespaces[-1])
    reference_namespace, solution_namespace = namespaces
    expected_of, solution = reference_namespace[entry_point], solution_namespace[entry_point]
    for index, arguments in enumerate(inputs):
        expected = expected_of(*copy.deepcopy(arguments))  # each call gets its own copy: functions mutate
        got = _timed(lambda: solution(*copy.deepcopy(arguments)), case_timeout_s)
        if entry_point == "find_zero":  # HumanEval/32 accepts any root: evalplus checks the polynomial there
            value = reference_namespace["poly"](arguments[0], got)
            assert abs(value) <= (atol or 1e-6), f"test {index}: not a root"
            continue
        assert same_value(got, expected, atol), f"test {index}: wrong output"


def same_value(got: Any, expected: Any, atol: float) -> bool:
    try:
        if got == expected:
            return True
    except Exception:
        return False
    tolerance = atol or (1e-6 if _is_floats(expected) else 0.0)
    if not tolerance or type(got) is not type(expected):
        return False
    pairs = list(zip(got, expected)) if isinstance(expected, (list, tuple)) else [(got, expected)]
    if isinstance(expected, (list, tuple)) and len(got) != len(expected):
        return False
    try:
        return all(abs(a - b) <= tolerance + 1e-7 * abs(b) for a, b in pairs)
    except TypeError:
        return False


def _is_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, float) for v in value)


def same_output(got: str, expected: str) -> bool:
    got_lines = [line.strip() for line in got.strip().splitlines()]
    expected_lines = [line.strip() for line in expected.strip().splitlines()]
    if len(got_lines) != len(expected_lines):
        return False
    for a, b in zip(got_lines, expected_lines):
        if a == b:
            continue
        tokens_a, tokens_b = a.split(), b.split()
        if len(tokens_a) != len(tokens_b):
            return False
        try:
            if [decimal.Decimal(x) for x in tokens_a] != [decimal.Decimal(y) for y in tokens_b]:
                return False
        except decimal.InvalidOperation:
            return False
    return True


def _timed(call: Callable[[], Any], seconds: float) -> Any:
    def expire(signum, frame):
        raise TestCaseTimeout(f"a test case passed {seconds:g} s")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_with_stdin(code, stdin_text: str, seconds: float) -> str:
    # A real file on fd 0, so that input(), sys.stdin, sys.stdin.buffer and open(0) all read the case.
    with open("stdin.txt", "w", encoding="utf-8") as handle:
        handle.write(stdin_text)
    fd = os.open("stdin.txt", os.O_RDONLY)
    if fd != 0:  # a program that closed fd 0 (open(0) collected) gets it back from os.open
        os.dup2(fd, 0)
        os.close(fd)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    captured = io.BytesIO()
    writer = sys.stdout = io.TextIOWrapper(captured, encoding="utf-8", write_through=True)

    def program():
        try:
            exec(code, _lcb_namespace())
        except SystemExit as stop:
            if stop.code not in (None, 0):
                raise

    try:
        _timed(program, seconds)
    finally:
        sys.stdout = sys.__stdout__
        writer.flush()
        writer.detach()  # keeps `captured` open once the wrapper is collected
    return captured.getvalue().decode("utf-8", errors="replace")


def _plain(value: Any) -> Any:
    """Tuples as lists, as JSON reads the expected value."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
