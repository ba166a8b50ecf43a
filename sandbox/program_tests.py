"""Test cases for whole programs, run inside a jailed `script` job (LiveCodeBench's two kinds of tests).

`stdin_tests`: the program reads standard input and writes standard output; `call_tests`: a method of its
class `Solution` is called with JSON arguments. Each case has its own wall clock (an interval timer) and the
first failing case ends the script with an AssertionError, as LiveCodeBench's own harness stops. Output
comparison follows LiveCodeBench: line by line after stripping, tokens that both read as decimals compare by
value. Imported only by script jobs in the jail, never by the host; stdlib-only.
"""

from __future__ import annotations

import decimal
import io
import json
import os
import signal
import sys
from typing import Any, Callable, Sequence


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
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, "<solution>", "exec"), namespace)  # noqa: S102 - a jailed script job
    bound = getattr(namespace["Solution"](), method)
    for index, (arguments, expected) in enumerate(cases):
        args = [json.loads(line) for line in arguments.split("\n") if line.strip()]
        got = _plain(_timed(lambda: bound(*args), case_timeout_s))
        assert got == json.loads(expected), f"test {index}: wrong output"


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
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - fd 0 outlives it
    captured = io.BytesIO()
    writer = sys.stdout = io.TextIOWrapper(captured, encoding="utf-8", write_through=True)

    def program():
        try:
            exec(code, {"__name__": "__main__"})  # noqa: S102 - a jailed script job
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
