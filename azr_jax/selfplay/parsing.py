"""Reading model responses: the format check and the extraction of answers, code, inputs, outputs, messages.

Every function here takes arbitrary text and returns either a result or a `FormatError` with a reason; none
raises on model output and nothing is evaluated (`ast.parse` is used only to find import lines).

The format rule is the public code's: the response, with the prefilled `<think>` put back in front, must
start with `<think> ... </think>` followed (after optional whitespace) by `<answer> ... </answer>`. Text after
the last `</answer>` is tolerated. The answer used is the last complete `<answer> ... </answer>` block.

Proposals are read as the public code reads them (`rewards/code_reward.py`: `parse_code_input_output`,
`parse_inputs_message`): the first code block and the first ```input block (else a `# Input:` line), an entry
function with another name renamed to `f`, the last N of more than N induction inputs, and the first message
(```message block, `<message>` tags or a `# Message:` line), which may be empty.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Sequence

from azr_jax.selfplay.prompts import THINK_OPEN, PromptConfig
from azr_jax.selfplay.tasks import InductionTask, TaskType, Triplet
from sandbox.values import parse_source


@dataclasses.dataclass(frozen=True)
class FormatError:
    reason: str


@dataclasses.dataclass(frozen=True)
class Response:
    thought: str
    answer: str


@dataclasses.dataclass(frozen=True)
class CandidateTriplet:
    """A deduction/abduction proposal before execution: the executor supplies the output."""

    program: str
    input: str
    imports: tuple[str, ...] = ()

    def complete(self, output: str) -> Triplet:
        return Triplet(program=self.program, input=self.input, output=output, imports=self.imports)


@dataclasses.dataclass(frozen=True)
class CandidateInduction:
    """An induction proposal before execution: the reference program with the proposed inputs and message."""

    program: str
    inputs: tuple[str, ...]
    message: str
    imports: tuple[str, ...] = ()

    def complete(self, outputs: Sequence[str]) -> InductionTask:
        return InductionTask(
            program=self.program, inputs=self.inputs, outputs=tuple(outputs), message=self.message, imports=self.imports
        )


@dataclasses.dataclass(frozen=True)
class SolverAnswer:
    """What the solver answered: an output (deduction), an input (abduction) or a program (induction)."""

    text: str


Candidate = CandidateTriplet | CandidateInduction

_FLAGS = re.DOTALL | re.IGNORECASE
_HEAD = re.compile(r"<think>(.*?)</think>\s*<answer>", _FLAGS)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", _FLAGS)
_DEFINES_F = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+f[ \t]*\(", re.MULTILINE)
# Every `def` line, nested or not: the public parser's count for `reject_multiple_functions`.
_DEF_NAMES = re.compile(r"^\s*def\s+(\w+)\s*\(", re.MULTILINE)
_ANY_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)\n?[ \t]*```", re.DOTALL)
# The public fallbacks when there is no fenced block: the rest of the line(s) up to the next fence or the end.
_INPUT_LINE = re.compile(r"# Input:\s*(.*?)(?=\n```|$)", _FLAGS)
_MESSAGE_LINE = re.compile(r"# Message:\s*(.*?)(?=\n```|$)", _FLAGS)
_CODE_KINDS = ("python", "py", "python3", "")


def split_response(text: str, prefilled_think: bool = True) -> Response | FormatError:
    """Checks the `<think>...</think> <answer>...</answer>` format and returns the thought and last answer."""
    if not isinstance(text, str):
        return FormatError("response is not text")
    full = (THINK_OPEN + text if prefilled_think else text).lstrip()
    head = _HEAD.match(full)
    if head is None:
        if not full.lower().startswith("<think>"):
            return FormatError("response does not start with <think>")
        if "</think>" not in full.lower():
            return FormatError("no closing </think>")
        return FormatError("</think> is not followed by <answer>")
    rest = full[head.start(1) + len(head.group(1)) :]
    answers = [m.group(1) for m in _ANSWER.finditer(rest)]
    if not answers:
        return FormatError("no closing </answer>")
    return Response(thought=head.group(1).strip(), answer=answers[-1].strip())


def fenced_blocks(text: str, kinds: Sequence[str]) -> list[str]:
    """Contents of the ``` blocks whose language tag is one of `kinds` ("" matches an untagged block)."""
    wanted = {k.lower() for k in kinds}
    return [m.group(2).strip() for m in _ANY_FENCE.finditer(text) if m.group(1).lower() in wanted]


def _tagged(text: str, tag: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"<{tag}>(.*?)</{tag}>", text, _FLAGS)]


def extract_imports(program: str) -> tuple[str, ...]:
    """The program's import statements, nested ones included, as source lines (the seed files' `imports`)."""
    try:
        tree = parse_source(program, "exec")
        nodes = sorted(
            (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))),
            key=lambda n: (n.lineno, n.col_offset),
        )
        found = [ast.unparse(n) for n in nodes]
    except Exception:
        found = [line.strip() for line in program.splitlines() if re.match(r"\s*(import|from)\s+\w", line)]
    return tuple(dict.fromkeys(found))


def extract_program(answer: str) -> str | None:
    """The last ```python block; else the last fenced block that defines `f`; else the answer if it does."""
    blocks = fenced_blocks(answer, ("python", "py", "python3"))
    if blocks and blocks[-1]:
        return blocks[-1]
    defining = [b for b in fenced_blocks(answer, ("",)) if _DEFINES_F.search(b)]
    if defining:
        return defining[-1]
    if _DEFINES_F.search(answer) and "```" not in answer:
        return answer.strip()
    return None


def extract_value(answer: str, kind: str) -> str | None:
    """An input or output: the last ```<kind> block, else an untagged block, else any fenced block, else
    <kind> tags, else the whole answer when it has no fence (an empty or unclosed fence gives None)."""
    any_fenced = [m.group(2).strip() for m in _ANY_FENCE.finditer(answer)]
    for candidates in (fenced_blocks(answer, (kind,)), fenced_blocks(answer, ("",)), any_fenced, _tagged(answer, kind)):
        if candidates and candidates[-1]:
            return candidates[-1]
    if "```" in answer:
        return None
    return answer.strip() or None


def parse_proposal(
    task_type: TaskType,
    response: str,
    config: PromptConfig,
    program: Triplet | None = None,
) -> Candidate | FormatError:
    """A proposer's response as a candidate task. Induction proposals need the `program` they were built on."""
    task_type = TaskType(task_type)
    split = split_response(response, config.prefill_think)
    if isinstance(split, FormatError):
        return split
    answer = split.answer
    if task_type is TaskType.INDUCTION:
        if program is None:
            raise ValueError("parse_proposal: an induction proposal needs the program it was built on")
        return _induction_proposal(answer, config, program)
    blocks = list(_ANY_FENCE.finditer(answer))
    if not blocks or blocks[0].group(1).lower() not in _CODE_KINDS:
        return FormatError("no ```python block first in the answer")
    code = blocks[0].group(2).strip()
    names = _DEF_NAMES.findall(code)
    if not names:
        return FormatError("the program defines no function")
    if config.reject_multiple_defs and len(names) > 1:
        return FormatError(f"the program has {len(names)} def statements; prompts.reject_multiple_defs allows one")
    if not _DEFINES_F.search(code):
        code = _rename_entry(code, names[0])
    inputs = fenced_blocks(answer, ("input",))
    if inputs:
        text = inputs[0]
    else:
        line = _INPUT_LINE.search(answer)
        if line is None:
            return FormatError("no ```input block")
        text = line.group(1).strip()
    return CandidateTriplet(program=code, input=text, imports=extract_imports(code))


def _rename_entry(code: str, name: str) -> str:
    """The public rule for an entry function not named `f`: its definition and every call `name(` become `f(`."""
    code = re.sub(rf"def\s+{re.escape(name)}\s*\(", "def f(", code)
    return re.sub(rf"\b{re.escape(name)}\s*\(", "f(", code)


def _induction_proposal(answer: str, config: PromptConfig, program: Triplet) -> CandidateInduction | FormatError:
    # Blocks are counted empty or not; more than N keeps the last N (an empty input then fails validation).
    inputs = fenced_blocks(answer, ("input",))
    n = config.induction_num_inputs
    if len(inputs) < n:
        return FormatError(f"expected {n} ```input blocks, got {len(inputs)}")
    messages = fenced_blocks(answer, ("message",))
    if messages:
        message = messages[0]
    else:
        found = re.search(r"<message>(.*?)</message>", answer, _FLAGS) or _MESSAGE_LINE.search(answer)
        if found is None:
            return FormatError("no ```message block")
        message = found.group(1).strip()
    return CandidateInduction(
        program=program.program, inputs=tuple(inputs[-n:]), message=message, imports=program.imports
    )


def parse_solution(
    task_type: TaskType, response: str, config: PromptConfig, require_format: bool = True
) -> SolverAnswer | FormatError:
    """A solver's answer: the predicted output (deduction), input (abduction) or program (induction).

    `require_format=False` reads the answer of a response that fails the think/answer format as the public
    code reads its learnability rollouts: the text after the last `<answer>`, up to `</answer>` or the end.
    """
    task_type = TaskType(task_type)
    split = split_response(response, config.prefill_think)
    if isinstance(split, FormatError):
        if require_format or not isinstance(response, str) or "<answer>" not in response:
            return split
        split = Response(thought="", answer=response.split("<answer>")[-1].split("</answer>")[0].strip())
    if task_type is TaskType.INDUCTION:
        code = extract_program(split.answer)
        if code is None or not _DEFINES_F.search(code):
            return FormatError("no program defining f in the answer")
        return SolverAnswer(code)
    kind = "output" if task_type is TaskType.DEDUCTION else "input"
    value = extract_value(split.answer, kind)
    if value is None:
        return FormatError(f"no {kind} in the answer")
    return SolverAnswer(value)
