"""Proposer and solver prompts, in our own words, carrying the information the paper's prompts carry.

A prompt is built in two layers: the task text (role, task type, references or the puzzle, requirements,
answer format) and the template that wraps it for the model: the plain `User: ... Assistant: <think>`
conversation the paper uses for base models, or the tokenizer's chat template (passed in as a callable, so
this module needs no tokenizer).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Literal

from azr_jax.selfplay.tasks import InductionTask, TaskType, Triplet

ChatTemplate = Callable[[list[dict[str, str]]], str]
"""messages -> prompt text ending where the assistant's reply starts, e.g.
`functools.partial(tokenizer.apply_chat_template, tokenize=False, add_generation_prompt=True)`."""


@dataclasses.dataclass(frozen=True)
class PromptConfig:
    # "base": the plain conversation of the paper's base-model runs; "chat": the tokenizer's chat template.
    template: Literal["base", "chat"] = "base"
    # The prompt ends with "<think>" so the model starts reasoning at once; the parser then expects the
    # response to begin inside the thought.
    prefill_think: bool = True
    num_references: int = 6  # K reference triplets shown to deduction/abduction proposers
    induction_num_inputs: int = 10  # inputs an induction proposer writes (half shown, half held out)
    # The requirements must match the executor's rules: keep these equal to sandbox.SandboxConfig's
    # `timeout_s` and `allow_helpers` (the paper's Qwen runs reject top-level definitions besides `f`).
    time_limit_s: float = 5.0
    allow_helpers: bool = False
    # True: a proposed program with more than one `def` line (nested or not) is a format error, as under the
    # public parser's `reject_multiple_functions`; the prompt then asks for a single function. False (the
    # paper's prompts): nested definitions inside `f` are allowed and offered.
    reject_multiple_defs: bool = False

    def __post_init__(self):
        if self.num_references < 0:
            raise ValueError(f"num_references must be >= 0, got {self.num_references}")
        if self.induction_num_inputs < 2:
            raise ValueError(f"induction_num_inputs must be >= 2, got {self.induction_num_inputs}")


THINK_OPEN = "<think>"

_BASE_PREAMBLE = (
    "This is a conversation between a User and an Assistant. The User gives a task; the Assistant first "
    "works it out step by step in private reasoning, then replies. The reasoning goes inside <think> </think> "
    "tags and the reply inside <answer> </answer> tags: <think> reasoning </think> <answer> reply </answer>."
)

_CHAT_PREAMBLE = (
    "Think the task through step by step inside <think> </think> tags, then give your reply inside "
    "<answer> </answer> tags: <think> reasoning </think> <answer> reply </answer>."
)


def render(task_text: str, config: PromptConfig, chat_template: ChatTemplate | None = None) -> str:
    """Wraps a task text into the full prompt string the model continues."""
    suffix = THINK_OPEN if config.prefill_think else ""
    if config.template == "base":
        return f"{_BASE_PREAMBLE}\nUser: {task_text}\nAssistant: {suffix}"
    if chat_template is None:
        raise ValueError("prompts.template is 'chat' but no chat_template callable was given")
    return chat_template([{"role": "user", "content": f"{_CHAT_PREAMBLE}\n\n{task_text}"}]) + suffix


@dataclasses.dataclass(frozen=True)
class PromptLimit:
    """Prompts over the trainer's token limit (`rollout.max_prompt_tokens`, `rollout.prompt_overflow`)."""

    fits: Callable[[str], bool]  # whether a full prompt is within the limit
    # Deduction/abduction proposer prompts: drop references, longest first, before drawing new ones.
    fewer_references: bool = False


# A proposer prompt is rebuilt this many times before giving up: the public loop redraws without a bound.
MAX_PROMPT_DRAWS = 100


class PromptTooLong(ValueError):
    """No prompt within the limit could be built; the message names the setting to change."""


def fit_references(
    task_type: TaskType,
    references: tuple[Triplet, ...],
    build: Callable[[tuple[Triplet, ...]], str],
    draw: Callable[[], tuple[Triplet, ...]],
    limit: PromptLimit | None,
    fewer_references: bool = False,
) -> tuple[tuple[Triplet, ...], str, int]:
    """(references, prompt, dropped): the prompt `build(references)`, or, while it is over the limit, the prompt
    without its longest reference (when `fewer_references`) or on a new draw. `dropped` counts the prompts left out."""
    prompt = build(references)
    dropped = 0
    while limit is not None and not limit.fits(prompt):
        dropped += 1
        if fewer_references and references:
            longest = max(range(len(references)), key=lambda i: len(_reference_block(i, references[i])))
            references = references[:longest] + references[longest + 1 :]
        elif dropped >= MAX_PROMPT_DRAWS:
            raise PromptTooLong(
                f"rollout.max_prompt_tokens: no {TaskType(task_type).value} proposer prompt fits after {dropped} drafts; "
                "raise it"
            )
        else:
            references = draw()
        prompt = build(references)
    return references, prompt, dropped


# --- proposer prompts ---

_PROPOSER_GOAL = {
    TaskType.DEDUCTION: (
        "Write a new Python program and one input for it. A solver will be shown the program and the input "
        "and must work out the output without running anything. Make the output hard to predict: a program "
        "whose result depends on state that changes over many steps (counters, stacks, queues, dictionaries, "
        "grids, a loop that rewrites its own data), so the solver has to trace it carefully rather than guess."
    ),
    TaskType.ABDUCTION: (
        "Write a new Python program and one input for it. A solver will be shown the program and the output "
        "it returns for your input and must find an input that produces that output. Make that search hard: "
        "a program that transforms its input through several dependent steps, so recovering an input takes "
        "real reasoning backwards through the state it builds up, not a single inversion."
    ),
}

_PROPOSER_PLAN = (
    "Before you answer, plan in your reasoning: decide what will make the task demanding (the data structure, "
    "the control flow, the state to track), how it differs from every reference program below, and what input "
    "exercises it; then write the program and the input."
)


def _requirements(banned_words: Sequence[str], config: PromptConfig) -> str:
    if config.reject_multiple_defs:
        scope = "Write everything in the body of `f`, with no other `def`, nested or not."
    elif config.allow_helpers:
        scope = "Helper functions or classes are allowed if `f` uses them; so are functions nested inside `f`."
    else:
        scope = "Define nothing else at the top level; functions nested inside `f` are allowed."
    rules = [
        "The entry point is one function named `f` that takes at least one argument and returns a value. " + scope,
        "Its result takes several dependent steps to work out (algorithms such as dynamic programming, "
        "recursion, search or simulation; data structures such as trees, heaps, stacks, graphs), not one "
        "expression.",
        "It is deterministic: the same input always gives the same output.",
        "It does no input or output: no printing, no files, no network, no reading from the user.",
        "It uses no randomness and no clock, date or time.",
        f"It finishes well within {config.time_limit_s:g} seconds.",
        "Any import statements come first, at the top of the program.",
        "It must not use any of these modules or names, not even in comments: " + ", ".join(banned_words) + ".",
        "It is new: clearly different from the reference programs below in what it computes and how, not a "
        "renamed or lightly edited copy.",
    ]
    return "\n".join(f"- {rule}" for rule in rules)


def _fenced(kind: str, text: str) -> str:
    return f"```{kind}\n{text}\n```"


def _reference_block(index: int, reference: Triplet) -> str:
    parts = [f"Reference {index}:", _fenced("python", reference.program), _fenced("input", reference.input)]
    parts.append(_fenced("output", reference.output))
    return "\n".join(parts)


def proposer_prompt(
    task_type: TaskType,
    references: Sequence[Triplet],
    banned_words: Sequence[str],
    config: PromptConfig,
) -> str:
    """The task text for a proposer. Deduction/abduction: K reference triplets; induction: one program."""
    task_type = TaskType(task_type)
    if task_type is TaskType.INDUCTION:
        if len(references) != 1:
            raise ValueError(f"an induction proposal is built on exactly one program, got {len(references)}")
        return _induction_proposer_prompt(references[0], config)
    sections = [
        f"## Role: task proposer ({task_type.value})",
        _PROPOSER_GOAL[task_type],
        _PROPOSER_PLAN,
        "### Requirements for the program",
        _requirements(banned_words, config),
    ]
    if references:
        sections.append("### Reference programs (written earlier, with their inputs and outputs)")
        sections.extend(_reference_block(i + 1, ref) for i, ref in enumerate(references))
    sections += [
        "### Answer format",
        "Inside <answer> </answer> give the program in one ```python block and the input in one ```input block. "
        "Write the input as the arguments appear between the parentheses of a call `f(...)`; separate "
        "several arguments with commas. For example:",
        "<answer>\n"
        + _fenced("python", "def f(numbers, k):\n    return sorted(numbers)[k]")
        + "\n"
        + _fenced("input", "[5, 3, 9], 1")
        + "\n</answer>",
    ]
    return "\n\n".join(sections)


def _induction_proposer_prompt(program: Triplet, config: PromptConfig) -> str:
    n = config.induction_num_inputs
    sections = [
        "## Role: task proposer (induction)",
        f"Here is a Python program. Write {n} inputs for it and a message. A solver will see the message and "
        f"the program's outputs on half of your inputs, but not the program, and must write a program that "
        f"also gives the right outputs on the other half. Choose inputs that together pin down what the "
        f"program does, and a message that helps without giving the code away.",
        "Before you answer, plan in your reasoning: work out what the program does, which inputs cover its "
        "cases (edge cases and the branches of its logic included), and how to make the task challenging "
        "for the solver but still possible to solve.",
        "### Program",
        _fenced("python", program.program),
        "### Requirements",
        f"- Exactly {n} inputs, each valid for `f` and clearly different from the others, so that together "
        "their outputs cover what the program can do.\n"
        "- Each input is written as the arguments appear between the parentheses of a call `f(...)`.\n"
        "- The message describes the task or gives a hint, in words, without code.",
        "### Answer format",
        f"Inside <answer> </answer> give {n} ```input blocks, one input each, then one ```message block. For example:",
        "<answer>\n"
        + _fenced("input", "[1, 2, 3]")
        + "\n"
        + _fenced("input", "[]")
        + "\n...\n"
        + _fenced("message", "The function summarises a list of numbers.")
        + "\n</answer>",
    ]
    return "\n\n".join(sections)


# --- solver prompts ---


def solver_prompt(task_type: TaskType, task: Triplet | InductionTask) -> str:
    """The task text for a solver."""
    task_type = TaskType(task_type)
    if task_type is TaskType.INDUCTION:
        if not isinstance(task, InductionTask):
            raise TypeError("an induction solver prompt needs an InductionTask")
        return _induction_solver_prompt(task)
    if not isinstance(task, Triplet):
        raise TypeError(f"a {task_type.value} solver prompt needs a Triplet")
    if task_type is TaskType.DEDUCTION:
        sections = [
            "## Role: solver (deduction)",
            "Given the Python program and its input below, work out the value `f` returns.",
            "### Program",
            _fenced("python", task.program),
            "### Input",
            _fenced("input", task.input),
            "### Answer format",
            "Inside <answer> </answer> give the returned value as a Python literal in one ```output block, "
            "for example:\n<answer>\n" + _fenced("output", "[1, 2, 3]") + "\n</answer>",
        ]
    else:
        sections = [
            "## Role: solver (abduction)",
            "Given the Python program and an output it returned, find an input for which `f` returns exactly "
            "that output. Any such input is correct.",
            "### Program",
            _fenced("python", task.program),
            "### Output",
            _fenced("output", task.output),
            "### Answer format",
            "Inside <answer> </answer> give the input in one ```input block, written as the arguments appear "
            "between the parentheses of a call `f(...)`, for example:\n<answer>\n"
            + _fenced("input", "[5, 3, 9], 1")
            + "\n</answer>",
        ]
    return "\n\n".join(sections)


def _induction_solver_prompt(task: InductionTask) -> str:
    examples = "\n".join(
        f"Example {i + 1}:\n" + _fenced("input", inp) + "\n" + _fenced("output", out)
        for i, (inp, out) in enumerate(task.shown_pairs())
    )
    sections = [
        "## Role: solver (induction)",
        "Write a Python function `f` that produces the outputs below from the inputs below. It will also be "
        "checked on inputs you do not see, so capture the rule, not just these examples.",
        "### Message from the task author",
        task.message,
        "### Examples",
        examples,
        "### Answer format",
        "Inside <answer> </answer> give the complete program, with any imports at the top, in one ```python "
        "block, for example:\n<answer>\n" + _fenced("python", "def f(x):\n    return x") + "\n</answer>",
    ]
    return "\n\n".join(sections)
