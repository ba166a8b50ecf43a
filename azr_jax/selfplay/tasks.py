"""Task records: what the proposer writes, the executor completes and the solver is asked.

Programs, inputs and outputs are kept as the texts the sandbox uses: `input` is the argument text pasted
between the parentheses of `f(...)`, `output` the repr of the result. Records read and write the public
AZR seed format (`snippet`, `input`, `output`, `imports`; induction: `inputs`, `outputs`, `message`), so
the public seed files load as they are.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any

from sandbox.values import parse_source


class TaskType(str, enum.Enum):
    """The three reasoning modes of the paper."""

    DEDUCTION = "deduction"  # program + input -> output
    ABDUCTION = "abduction"  # program + output -> input
    INDUCTION = "induction"  # input/output pairs + message -> program


class Role(str, enum.Enum):
    PROPOSE = "propose"
    SOLVE = "solve"


# The six (task type, role) groups of Task-Relative REINFORCE++, in a fixed order.
GROUPS: tuple[tuple[TaskType, Role], ...] = tuple((t, r) for t in TaskType for r in Role)

IDENTITY_PROGRAM = "def f(a):\n    return a"
IDENTITY_INPUT = '"Hello world"'


@dataclasses.dataclass(frozen=True)
class Triplet:
    """A deduction or abduction task: the program `f`, one input and the output the executor computed."""

    program: str
    input: str
    output: str
    imports: tuple[str, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {"snippet": self.program, "input": self.input, "output": self.output, "imports": list(self.imports)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Triplet:
        return cls(
            program=_text_field(record, "snippet"),
            input=_text_field(record, "input"),
            output=_text_field(record, "output"),
            imports=_imports_field(record),
        )

    def dedup_key(self) -> str:
        return normalize_program(self.program) + "\x00" + normalize_arguments(self.input)


@dataclasses.dataclass(frozen=True)
class InductionTask:
    """An induction task: a program with input/output pairs and a message hinting at what `f` does.

    The solver sees the message and the first half of the pairs (5 of 10) and must write `f`; the other half
    is held out to check the program it writes.
    """

    program: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    message: str
    imports: tuple[str, ...] = ()

    def __post_init__(self):
        if len(self.inputs) != len(self.outputs):
            raise ValueError(f"induction task has {len(self.inputs)} inputs but {len(self.outputs)} outputs")
        if len(self.inputs) < 2:
            raise ValueError("induction task needs at least 2 input/output pairs (one shown, one held out)")

    @property
    def num_shown(self) -> int:
        return len(self.inputs) // 2

    def shown_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.inputs[: self.num_shown], self.outputs[: self.num_shown]))

    def held_out_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.inputs[self.num_shown :], self.outputs[self.num_shown :]))

    def to_record(self) -> dict[str, Any]:
        return {
            "snippet": self.program,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "message": self.message,
            "imports": list(self.imports),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> InductionTask:
        return cls(
            program=_text_field(record, "snippet"),
            inputs=_text_list_field(record, "inputs"),
            outputs=_text_list_field(record, "outputs"),
            message=_text_field(record, "message"),
            imports=_imports_field(record),
        )

    def dedup_key(self) -> str:
        return normalize_program(self.program) + "\x00" + "\x01".join(normalize_arguments(i) for i in self.inputs)


Task = Triplet | InductionTask


def record_class(task_type: TaskType) -> type[Triplet] | type[InductionTask]:
    return InductionTask if TaskType(task_type) is TaskType.INDUCTION else Triplet


def identity_seed(task_type: TaskType) -> Task:
    """The zero triplet every buffer starts from: `def f(a): return a` on "Hello world"."""
    if TaskType(task_type) is TaskType.INDUCTION:
        # The public code's induction seed: the identity on six inputs of different types (3 shown, 3 held out).
        # Outputs are the reprs the executor gives (the public file repeats the input texts instead).
        inputs = (
            IDENTITY_INPUT,
            "1",
            "dict(a=1, b=2)",
            "(1.1, 1.2, 1.3)",
            '"[[1, 0, 0], [0, 0, 0], [0, 0, 0]]"',
            "1001101100010001",
        )
        outputs = (
            "'Hello world'",
            "1",
            "{'a': 1, 'b': 2}",
            "(1.1, 1.2, 1.3)",
            "'[[1, 0, 0], [0, 0, 0], [0, 0, 0]]'",
            "1001101100010001",
        )
        return InductionTask(
            program=IDENTITY_PROGRAM,
            inputs=inputs,
            outputs=outputs,
            message="Write a function that gives back exactly the value it receives.",
        )
    return Triplet(program=IDENTITY_PROGRAM, input=IDENTITY_INPUT, output=IDENTITY_INPUT)


# --- normalisation for deduplication (parsing only, never evaluation) ---

_PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def normalize_program(program: str) -> str:
    """The program with comments, blank lines, quote style and spacing normalised, via the AST (not run)."""
    try:
        return ast.unparse(parse_source(program, "exec"))
    except _PARSE_ERRORS:
        return _collapse_whitespace(program)


def normalize_arguments(arguments: str) -> str:
    """The argument text of a call `f(<arguments>)`, normalised the same way."""
    try:
        call = parse_source(f"f({arguments}\n)", "eval").body
        return ast.unparse(call)
    except _PARSE_ERRORS:
        return _collapse_whitespace(arguments)


def _collapse_whitespace(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- record field checks: a bad seed file names the field ---


def _text_field(record: Mapping[str, Any], name: str) -> str:
    if name not in record:
        raise ValueError(f"missing field {name!r}")
    value = record[name]
    if not isinstance(value, str):
        raise ValueError(f"field {name!r}: expected a string, got {type(value).__name__}")
    return value


def _text_list_field(record: Mapping[str, Any], name: str) -> tuple[str, ...]:
    if name not in record:
        raise ValueError(f"missing field {name!r}")
    value = record[name]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"field {name!r}: expected a list of strings")
    return tuple(value)


def _imports_field(record: Mapping[str, Any]) -> tuple[str, ...]:
    value = record.get("imports", [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("field 'imports': expected a list of strings")
    return tuple(value)
