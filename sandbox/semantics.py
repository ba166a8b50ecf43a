"""Absolute Zero task semantics: what a valid program and input are, and how a job runs.

Independent of the isolation code and stdlib-only: `prepare` runs in the worker (no model code runs while it
parses), `run_prepared` in a fresh jailed child. Values are compared elsewhere, as plain data (sandbox.values).
"""

from __future__ import annotations

import ast
import dataclasses
import math
import types
from typing import Any

from sandbox import values
from sandbox.determinism import second_run_reason
from sandbox.policy import Policy, find_violation
from sandbox.results import Status, error_message, error_name

ENTRY_FUNCTION = "f"
# Names a gold output may use that `repr` produces but Python cannot read back (`float('inf')` is `inf`).
_REPR_NAMES = {"inf": math.inf, "nan": math.nan}
# Name the argument-capturing callable gets in the evaluated call; not an identifier, so a program cannot
# define or reach it.
_CAPTURE = "<arguments>"
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
        tree = values.parse_source(source, "exec")
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
        tree = values.parse_source(f"{ENTRY_FUNCTION}(\n{text}\n)", "eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise JobError(Status.BAD_INPUT, f"input is not an argument list: {err}", type(err).__name__) from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == ENTRY_FUNCTION):
        raise JobError(Status.BAD_INPUT, "input is not a single argument list")
    if policy is not None and (violation := find_violation(tree, policy)):
        raise JobError(Status.BANNED, f"input: {violation}")
    call.func = ast.Name(id=_CAPTURE, ctx=ast.Load())
    return ast.fix_missing_locations(tree)


def parse_expression(text: str, policy: Policy | None, what: str) -> ast.Expression:
    """`text` as one expression (a predicted output, under `model_values="expressions"`), policy-checked."""
    try:
        tree = values.parse_source(text.strip(), "eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise JobError(Status.BAD_INPUT, f"{what} is not an expression: {err}", type(err).__name__) from None
    if policy is not None and (violation := find_violation(tree, policy)):
        raise JobError(Status.BANNED, f"{what}: {violation}")
    return tree


@dataclasses.dataclass(frozen=True)
class PreparedJob:
    """A job whose program, input and expected output are parsed, policy-checked and compiled.

    Preparing runs no model code, so the worker does it itself: parsing in a freshly forked child would
    pay a copy-on-write fault for every interpreter page the parser touches (10x slower, measured).
    `arguments` and `expected` are plain data built here by `sandbox.values.parse`: the child inherits
    them through the fork, and the worker, which never runs model code, compares with `expected`.
    """

    kind: str
    program: types.CodeType
    call: types.CodeType | None = None  # an input expression; evaluates to (args, kwargs)
    arguments: tuple[tuple, dict] | None = None  # an input read as data (an abduction answer)
    predicted: types.CodeType | None = None  # a predicted output read as an expression
    expected: Any = values.NOT_DATA
    second_run: str | None = None  # why a run job may differ under another hash seed (None: it cannot)

    @property
    def reports_data(self) -> bool:
        """Whether the child reports its value as plain data for the worker to compare (else as a repr)."""
        return self.kind != "run"


def prepare(job: dict, policy: Policy | None, allow_helpers: bool) -> PreparedJob | dict:
    """Job kinds:
      `run`: output = repr(f(input)); the input is an expression (a proposer's), evaluated in the jail.
      `match`: does f(input) equal the gold `expected`? `input_is_data` reads the input as plain data
        (a solver's abduction answer) instead of as an expression (a proposer's held-out input).
      `compare`: does the expression `predicted`, evaluated in the program's namespace, equal `expected`?
    `expected` is read as plain data here (never evaluated). A job may carry `allow_helpers` of its own.
    Returns the prepared job, or the failure result record."""
    try:
        for field in ("program", "input", "predicted", "expected"):
            if len(job.get(field, "")) > MAX_SOURCE_CHARS:
                status = Status.SYNTAX_ERROR if field == "program" else Status.BAD_INPUT
                raise JobError(status, f"{field} is longer than {MAX_SOURCE_CHARS} characters")
        program_tree = parse_program(job["program"], policy, job.get("allow_helpers", allow_helpers))
        program = _compile(program_tree, "<program>", "exec")
        kind = job["kind"]
        if kind == "run":
            input_tree = parse_arguments(job["input"], policy)
            second_run = second_run_reason([program_tree, input_tree], policy is not None)
            return PreparedJob(kind, program, call=_compile(input_tree, "<input>", "eval"), second_run=second_run)
        expected = values.parse(job["expected"])
        if expected is values.NOT_DATA:
            raise JobError(Status.BAD_INPUT, "the gold output is not plain data, so no value can be shown equal to it")
        if kind == "compare":
            tree = parse_expression(job["predicted"], policy, "predicted output")
            return PreparedJob(kind, program, predicted=_compile(tree, "<predicted>", "eval"), expected=expected)
        if job.get("input_is_data"):
            arguments = values.parse_arguments(job["input"])
            if arguments is values.NOT_DATA:
                raise JobError(Status.BAD_INPUT, "the input is not an argument list of plain data")
            return PreparedJob(kind, program, arguments=arguments, expected=expected)
        call = _compile(parse_arguments(job["input"], policy), "<input>", "eval")
        return PreparedJob(kind, program, call=call, expected=expected)
    except JobError as err:
        return _failure(err)


def run_prepared(job: PreparedJob, output_cap: int, _encode=values.encode, _len=len, _repr_of=repr) -> dict:
    """Runs a prepared job in the current (fresh, jailed) process and returns its result record.

    After the model's code has run, only names bound before it ran are used (the defaults above and this
    module's functions, which the policy keeps out of the program's reach): see docs/sandbox.md, "Verdicts".
    """
    try:
        namespace: dict = {"__name__": "__main__"}
        try:
            exec(job.program, namespace)
        except MemoryError:
            raise JobError(Status.MEMORY, "the program ran out of memory", "MemoryError") from None
        except BaseException as err:
            raise JobError(Status.RUNTIME_ERROR, error_message(err), error_name(err)) from None
        entry = namespace.get(ENTRY_FUNCTION)
        if not callable(entry):
            raise JobError(Status.NO_ENTRY_FUNCTION, f"{ENTRY_FUNCTION!r} is not callable after the program ran")
        if job.kind == "compare":
            value = _evaluate(job.predicted, namespace, "predicted output")
        else:
            args, kwargs = job.arguments or _evaluate(job.call, namespace, "input", capture=True)
            try:
                value = entry(*args, **kwargs)
            except MemoryError:
                raise JobError(Status.MEMORY, "the program ran out of memory", "MemoryError") from None
            except BaseException as err:
                raise JobError(Status.RUNTIME_ERROR, error_message(err), error_name(err)) from None
        if job.reports_data:
            data = _encode(value)
            if data is not None and _len(data) > output_cap:
                raise JobError(Status.OUTPUT_TOO_LARGE, f"the value is {_len(data)} characters, cap {output_cap}")
            return {"status": "ok", "data": data}
        output = _repr(value, _repr_of)
        if _len(output) > output_cap:
            raise JobError(Status.OUTPUT_TOO_LARGE, f"repr is {_len(output)} characters, cap {output_cap}")
        return {"status": "ok", "output": output}
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
        return eval(code, namespace, local)
    except MemoryError:
        raise JobError(Status.MEMORY, f"{what} ran out of memory", "MemoryError") from None
    except BaseException as err:
        raise JobError(Status.BAD_INPUT, f"{what}: {error_message(err)}", error_name(err)) from None


def _repr(value: Any, repr_of=repr) -> str:
    try:
        return repr_of(value)
    except MemoryError:
        raise JobError(Status.MEMORY, "repr of the output ran out of memory", "MemoryError") from None
    except BaseException as err:
        message = f"repr of the output failed: {error_message(err)}"
        raise JobError(Status.RUNTIME_ERROR, message, error_name(err)) from None
