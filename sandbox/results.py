"""What the executor returns: small frozen records, one per input item, in input order."""

from __future__ import annotations

import dataclasses
import enum


class Status(str, enum.Enum):
    """How one execution (or check) ended. Failures are statuses, never exceptions."""

    OK = "ok"
    SYNTAX_ERROR = "syntax_error"
    BANNED = "banned"
    NO_ENTRY_FUNCTION = "no_entry_function"
    BAD_INPUT = "bad_input"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    RUNTIME_ERROR = "runtime_error"
    NONDETERMINISTIC = "nondeterministic"
    OUTPUT_TOO_LARGE = "output_too_large"
    SANDBOX_ERROR = "sandbox_error"


@dataclasses.dataclass(frozen=True)
class ExecResult:
    """One program run (or a validated proposal): `output` is `repr(f(input))` when status is ok."""

    status: Status
    output: str | None = None
    error_type: str | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One solver answer: `correct` only when the answer ran (status ok) and matched the gold output."""

    status: Status
    correct: bool
    output: str | None = None
    error_type: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class InductionResult:
    """A model-written program checked on held-out pairs: `correct` when every pair matched."""

    correct: bool
    fraction: float
    cases: tuple[CheckResult, ...]


_TYPE_NAME = type.__dict__["__name__"].__get__


def error_name(err: BaseException) -> str:
    """The exception's class name, read without calling anything a (model-made) metaclass defines."""
    name = _TYPE_NAME(type(err))
    return name if type(name) is str else "<unnamed>"


def error_message(err: BaseException) -> str:
    """The exception's message, at most 500 characters; a hostile `__str__` cannot make reporting fail."""
    try:
        message = str(err)
        return message[:500] if type(message) is str else "<unprintable error>"
    except BaseException:
        return "<unprintable error>"
