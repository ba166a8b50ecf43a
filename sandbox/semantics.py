"""Absolute Zero task semantics: what a valid program and input are, how a job runs, when two values match.

Independent of the isolation code and stdlib-only: `execute` runs inside a fresh jailed child process;
`literal_value` and `values_equal` also run on the host, where they never evaluate code.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import types
from typing import Any

from sandbox.determinism import second_run_reason
from sandbox.policy import Policy, find_violation
from sandbox.results import Status

ENTRY_FUNCTION = "f"
# Names a gold output may use that `repr` produces but Python cannot read back (`float('inf')` is `inf`).
_REPR_NAMES = {"inf": math.inf, "nan": math.nan}
# Name the argument-capturing callable gets in the evaluated call; not an identifier, so a program cannot
# define or reach it.
_CAPTURE = "<arguments>"
# Floats (and ints compared with floats) match within this relative tolerance: repr round-trips floats
# exactly, so the tolerance only forgives summation-order noise such as 0.28 vs 0.28000000000000004.
FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-12
# Longest program, input or output text the worker will parse (it parses before forking, untimed).
MAX_SOURCE_CHARS = 200_000


class JobError(Exception):
    """A job cannot run; carries the status and message the result reports."""

    def __init__(self, status: Status, message: str, error_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


def parse_program(source: str, policy: Policy | None, allow_helpers: bool) -> ast.Module:
    """The program's syntax tree, or JobError(syntax_error | banned | no_entry_function)."""
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise JobError(Status.SYNTAX_ERROR, str(err), type(err).__name__) from None
    if policy is not None and (violation := find_violation(tree, policy)):
        raise JobError(Status.BANNED, violation)
    definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if not any(isinstance(n, ast.FunctionDef) and n.name == ENTRY_FUNCTION for n in definitions):
        raise JobError(Status.NO_ENTRY_FUNCTION, f"the program defines no top-level function {ENTRY_FUNCTION!r}")
    if not allow_helpers and len(definitions) > 1:
        extra = sorted(n.name for n in definitions if n.name != ENTRY_FUNCTION)
        raise JobError(Status.BANNED, f"top-level definitions besides {ENTRY_FUNCTION!r} are not allowed: {extra}")
    return tree


def parse_arguments(text: str, policy: Policy | None) -> ast.Expression:
    """`text` as the argument list of one call, e.g. `[1, 2], key=3` (several lines allowed).

    Returns an expression that evaluates to (args, kwargs). The text is parsed as `f(<text>)` and must be
    exactly one call of `f`: `1), g(2` and similar splices are refused.
    """
    try:
        tree = ast.parse(f"{ENTRY_FUNCTION}(\n{text}\n)", mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise JobError(Status.BAD_INPUT, f"input is not an argument list: {err}", type(err).__name__) from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == ENTRY_FUNCTION):
        raise JobError(Status.BAD_INPUT, "input is not a single argument list")
    if policy is not None and (violation := find_violation(tree, policy)):
        raise JobError(Status.BANNED, f"input: {violation}")
    call.func = ast.Name(id=_CAPTURE, ctx=ast.Load())
    return ast.fix_missing_locations(tree)


def parse_value(text: str, policy: Policy | None, what: str) -> ast.Expression:
    """`text` as one expression (an output or a predicted output)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise JobError(Status.BAD_INPUT, f"{what} is not an expression: {err}", type(err).__name__) from None
    if policy is not None and (violation := find_violation(tree, policy)):
        raise JobError(Status.BANNED, f"{what}: {violation}")
    return tree


def literal_value(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is a Python literal (host-safe: no code runs), else (False, None)."""
    try:
        return True, ast.literal_eval(text.strip())
    except Exception:  # noqa: BLE001 - any parse failure (incl. recursion, int digit limit) means "not a literal"
        return False, None


def values_equal(a: Any, b: Any) -> bool:
    """Python equality, except that floats match within FLOAT_REL_TOL / FLOAT_ABS_TOL, NaN matches NaN,
    and containers compare element by element (so the float rule reaches inside them)."""
    if _is_real(a) and _is_real(b) and (isinstance(a, float) or isinstance(b, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    if type(a) in (list, tuple) and type(b) is type(a):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a value whose comparison raises is not equal to anything
        return False


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class PreparedJob:
    """A job whose program, input and expected output are parsed, policy-checked and compiled.

    Preparing runs no model code, so the worker does it itself: parsing in a freshly forked child would
    pay a copy-on-write fault for every interpreter page the parser touches (10x slower, measured).
    """

    kind: str
    program: types.CodeType
    call: types.CodeType | None = None  # evaluates to (args, kwargs)
    predicted: types.CodeType | None = None
    expected: types.CodeType | None = None
    second_run: str | None = None  # why a run job may differ under another hash seed (None: it cannot)


def prepare(job: dict, policy: Policy | None, allow_helpers: bool) -> PreparedJob | dict:
    """Job kinds: `run` (output = repr(f(input))), `match` (also: does f(input) equal `expected`?) and
    `compare` (does the value `predicted` equal `expected`? both evaluated in the program's namespace, so
    reprs such as `deque([1])` read back). Returns the prepared job, or the failure result record."""
    try:
        for field in ("program", "input", "predicted", "expected"):
            if len(job.get(field, "")) > MAX_SOURCE_CHARS:
                status = Status.SYNTAX_ERROR if field == "program" else Status.BAD_INPUT
                raise JobError(status, f"{field} is longer than {MAX_SOURCE_CHARS} characters")
        program_tree = parse_program(job["program"], policy, allow_helpers)
        program = _compile(program_tree, "<program>", "exec")
        kind = job["kind"]
        call = predicted = expected = second_run = None
        if kind == "compare":
            predicted = _compile(parse_value(job["predicted"], policy, "predicted output"), "<predicted>", "eval")
        else:
            input_tree = parse_arguments(job["input"], policy)
            call = _compile(input_tree, "<input>", "eval")
            if kind == "run":
                second_run = second_run_reason([program_tree, input_tree], policy is not None)
        if kind != "run":
            expected = _compile(parse_value(job["expected"], policy, "expected output"), "<expected>", "eval")
        return PreparedJob(kind, program, call, predicted, expected, second_run)
    except JobError as err:
        return _failure(err)


def run_prepared(job: PreparedJob, output_cap: int) -> dict:
    """Runs a prepared job in the current (fresh, jailed) process and returns its result record."""
    try:
        namespace: dict = {"__name__": "__main__"}
        try:
            exec(job.program, namespace)  # noqa: S102 - this is the jailed child
        except MemoryError:
            raise JobError(Status.MEMORY, "the program ran out of memory", "MemoryError") from None
        except BaseException as err:  # noqa: BLE001 - StopIteration, SystemExit... are all program errors
            raise JobError(Status.RUNTIME_ERROR, _message(err), type(err).__name__) from None
        entry = namespace.get(ENTRY_FUNCTION)
        if not callable(entry):
            raise JobError(Status.NO_ENTRY_FUNCTION, f"{ENTRY_FUNCTION!r} is not callable after the program ran")
        if job.kind == "compare":
            value = _evaluate(job.predicted, namespace, "predicted output")
        else:
            args, kwargs = _evaluate(job.call, namespace, "input", capture=True)
            try:
                value = entry(*args, **kwargs)
            except MemoryError:
                raise JobError(Status.MEMORY, "the program ran out of memory", "MemoryError") from None
            except BaseException as err:  # noqa: BLE001
                raise JobError(Status.RUNTIME_ERROR, _message(err), type(err).__name__) from None
        output = _repr(value)
        result = {"status": Status.OK.value, "output": output}
        if job.kind != "run":
            result["match"] = values_equal(value, _evaluate(job.expected, namespace, "expected output"))
        if len(output) > output_cap:
            result.update(status=Status.OUTPUT_TOO_LARGE.value, output=None,
                          error=f"repr is {len(output)} characters, cap {output_cap}")  # fmt: skip
        return result
    except JobError as err:
        return _failure(err)


def execute(job: dict, policy: Policy | None, allow_helpers: bool, output_cap: int) -> dict:
    """prepare + run_prepared in the current process (for a process that is itself disposable)."""
    prepared = prepare(job, policy, allow_helpers)
    return run_prepared(prepared, output_cap) if isinstance(prepared, PreparedJob) else prepared


def _failure(err: JobError) -> dict:
    return {"status": err.status.value, "error_type": err.error_type, "error": str(err)}


def _compile(tree: ast.AST, filename: str, mode: str) -> types.CodeType:
    try:
        return compile(tree, filename, mode)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        status = Status.SYNTAX_ERROR if filename == "<program>" else Status.BAD_INPUT
        raise JobError(status, f"{filename[1:-1]} does not compile: {err}", type(err).__name__) from None


def _evaluate(code: types.CodeType, namespace: dict, what: str, capture: bool = False) -> Any:
    local = dict(_REPR_NAMES)
    if capture:
        local[_CAPTURE] = lambda *args, **kwargs: (args, kwargs)
    try:
        return eval(code, namespace, local)  # noqa: S307 - jailed child
    except MemoryError:
        raise JobError(Status.MEMORY, f"{what} ran out of memory", "MemoryError") from None
    except BaseException as err:  # noqa: BLE001
        raise JobError(Status.BAD_INPUT, f"{what}: {_message(err)}", type(err).__name__) from None


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except MemoryError:
        raise JobError(Status.MEMORY, "repr of the output ran out of memory", "MemoryError") from None
    except BaseException as err:  # noqa: BLE001
        message = f"repr of the output failed: {_message(err)}"
        raise JobError(Status.RUNTIME_ERROR, message, type(err).__name__) from None


def _message(err: BaseException) -> str:
    try:
        return str(err)[:500]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "<unprintable error>"
