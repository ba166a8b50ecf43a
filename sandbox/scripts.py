"""Whole test scripts (a benchmark's program and its tests in one source) run in the jail.

A `script` job is not an Absolute Zero task: it has no entry function, no input and no output, and the
proposal policy does not apply (benchmark tests import numpy, read stdin, define classes). It still runs
only in a freshly forked jailed child, under the same rlimits, with its own wall clock (`timeout_s` of the
job, else the pool's). It passes when the source runs to its end: a failed assertion, any other exception,
`sys.exit`/`exit()` (a program that quits before its tests is no pass) or a death is a failure.

Stdlib-only: the jailed worker imports it.
"""

from __future__ import annotations

import builtins
import dataclasses
import sys
import types

from sandbox.results import Status, error_message, error_name

# Longest script the worker compiles; benchmark tests with hundreds of inline inputs reach a few MB.
MAX_SCRIPT_CHARS = 20_000_000


@dataclasses.dataclass(frozen=True)
class PreparedScript:
    code: types.CodeType
    timeout_s: float | None  # None: the pool's SandboxConfig.timeout_s


def prepare_script(job: dict) -> PreparedScript | dict:
    """The compiled script, or the failure record (too long, syntax error). Compiling runs none of its code."""
    source = job["source"]
    if len(source) > MAX_SCRIPT_CHARS:
        return _failure(Status.SYNTAX_ERROR, f"the script is longer than {MAX_SCRIPT_CHARS} characters")
    try:
        # optimize=0: `assert` statements run whatever flags the worker's interpreter was started with.
        code = compile(source, "<script>", "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        return _failure(Status.SYNTAX_ERROR, str(err), type(err).__name__)
    timeout = job.get("timeout_s")
    return PreparedScript(code, float(timeout) if timeout else None)


def run_script(
    script: PreparedScript,
    _exec=exec,
    _memory_error=MemoryError,
    _base_exception=BaseException,
    _ok={"status": Status.OK.value},  # noqa: B006 - bound before the script runs; only ever copied
) -> dict:
    """Runs the script as `__main__` in the current (fresh, jailed) process; its result record.

    The names used after the script has run are bound in the defaults, at import: a script that rebinds
    builtins (`BaseException`, `AssertionError`, `str`) or this module's attributes does not change which
    record is returned. (It fails instead: a rebound `BaseException` makes the except clause itself raise,
    the child dies without a result, and a death is a failure.) Pass means: `exec` returned.
    """
    failure, message, name = _failure, error_message, error_name  # looked up now, before the script runs
    # The worker runs without `site`, which is what defines exit() and quit(); programs written for a plain
    # `python` (competitive programs end with exit()) expect them.
    builtins.exit = builtins.quit = sys.exit
    try:
        _exec(script.code, {"__name__": "__main__"})
    except _memory_error:
        return failure(Status.MEMORY, "the script ran out of memory", "MemoryError")
    except _base_exception as err:
        return failure(Status.RUNTIME_ERROR, message(err), name(err))
    return _ok.copy()


def _failure(status: Status, message: str, error_type: str | None = None) -> dict:
    return {"status": status.value, "error_type": error_type, "error": message}
