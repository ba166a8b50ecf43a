"""Parsing model responses. Responses are written as the model continues after the prefilled `<think>`."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selfplay_prompt_cases import REFERENCES

from azr_jax.selfplay.parsing import (
    CandidateInduction,
    CandidateTriplet,
    FormatError,
    Response,
    SolverAnswer,
    extract_imports,
    parse_proposal,
    parse_solution,
    split_response,
)
from azr_jax.selfplay.prompts import PromptConfig
from azr_jax.selfplay.tasks import TaskType

CFG = PromptConfig()
PROGRAM = REFERENCES[1]


def fence(kind, text):
    return f"```{kind}\n{text}\n```"


def answer(body, thought="Let me think."):
    return f"{thought}</think> <answer>{body}</answer>"


GOOD_TRIPLET = answer(fence("python", "import math\nfrom collections import Counter\n\ndef f(x):\n    return math.floor(x)") + "\n" + fence("input", "2.5"))
TEN_INPUTS = "\n".join(fence("input", f"[{i}]") for i in range(10))


# --- well-formed responses ---


def test_split_response_returns_thought_and_answer():
    assert split_response("a\nb</think>\n\n<answer> x </answer>") == Response("a\nb", "x")


def test_proposal_triplet_with_imports():
    result = parse_proposal(TaskType.DEDUCTION, GOOD_TRIPLET, CFG)
    assert result == CandidateTriplet(
        program="import math\nfrom collections import Counter\n\ndef f(x):\n    return math.floor(x)",
        input="2.5",
        imports=("import math", "from collections import Counter"),
    )
    assert result.complete("2").output == "2"


def test_proposal_induction_keeps_the_reference_program():
    response = answer(TEN_INPUTS + "\n" + fence("message", "Look at the list."))
    result = parse_proposal(TaskType.INDUCTION, response, CFG, program=PROGRAM)
    assert result == CandidateInduction(PROGRAM.program, tuple(f"[{i}]" for i in range(10)), "Look at the list.", ())
    task = result.complete([f"out{i}" for i in range(10)])
    assert len(task.shown_pairs()) == 5 and task.held_out_pairs()[0] == ("[5]", "out5")


def test_without_prefill_the_response_must_open_think_itself():
    cfg = PromptConfig(prefill_think=False)
    assert parse_solution(TaskType.DEDUCTION, "<think>t</think><answer>3</answer>", cfg) == SolverAnswer("3")
    assert isinstance(parse_solution(TaskType.DEDUCTION, "t</think><answer>3</answer>", cfg), FormatError)


@pytest.mark.parametrize(
    "task_type, body, expected",
    [
        (TaskType.DEDUCTION, fence("output", "[1, 2]"), "[1, 2]"),
        (TaskType.DEDUCTION, "```OUTPUT\n'abc'\n```", "'abc'"),
        (TaskType.DEDUCTION, fence("", "{'a': 1}"), "{'a': 1}"),  # untagged block
        (TaskType.DEDUCTION, fence("python", "[3, 4]"), "[3, 4]"),  # value in a block of another language
        (TaskType.DEDUCTION, "<output>42</output>", "42"),
        (TaskType.DEDUCTION, " 42 ", "42"),  # bare answer
        (TaskType.DEDUCTION, fence("output", "1") + "\nwait\n" + fence("output", "2"), "2"),  # last block wins
        (TaskType.ABDUCTION, fence("input", "'abc', 2"), "'abc', 2"),
        (TaskType.ABDUCTION, "```input 'x' ```", "'x'"),  # one-line block
        (TaskType.INDUCTION, fence("python", "def f(x):\n    return x"), "def f(x):\n    return x"),
        (TaskType.INDUCTION, fence("", "import re\ndef f(s):\n    return re.sub('a', 'b', s)"), "import re\ndef f(s):\n    return re.sub('a', 'b', s)"),
        (TaskType.INDUCTION, "def f(x):\n    return x + 1", "def f(x):\n    return x + 1"),  # unfenced program
    ],
)
def test_solver_answers_with_fallbacks(task_type, body, expected):
    assert parse_solution(task_type, answer(body), CFG) == SolverAnswer(expected)


def test_last_complete_answer_block_is_used_and_trailing_text_tolerated():
    response = "t</think> <answer>1</answer> on second thought <answer>2</answer> trailing words"
    assert parse_solution(TaskType.DEDUCTION, response, CFG) == SolverAnswer("2")


# --- malformed responses: each a FormatError with a reason, never an exception ---

MALFORMED_SOLVER = [
    ("empty", TaskType.DEDUCTION, ""),
    ("only whitespace", TaskType.DEDUCTION, "   \n\t"),
    ("no closing think", TaskType.DEDUCTION, "I think the answer is 4 <answer>4</answer>"),
    ("answer before think closes", TaskType.DEDUCTION, "<answer>4</answer></think>"),
    ("no answer tag", TaskType.DEDUCTION, "thinking</think> 4"),
    ("unclosed answer", TaskType.DEDUCTION, "thinking</think> <answer>4"),
    ("text between think and answer", TaskType.DEDUCTION, "t</think> so: <answer>4</answer>"),
    ("closing tags only", TaskType.DEDUCTION, "</think></answer>"),
    ("empty answer", TaskType.DEDUCTION, "t</think><answer>   </answer>"),
    ("empty output block", TaskType.DEDUCTION, answer("```output\n```")),
    ("unclosed fence", TaskType.ABDUCTION, answer("```input\n'abc'")),
    ("misspelled tags", TaskType.DEDUCTION, "t</thinking><answers>4</answers>"),
    ("induction without code", TaskType.INDUCTION, answer("the function doubles its input")),
    ("induction code without f", TaskType.INDUCTION, answer(fence("python", "def g(x):\n    return x"))),
    ("induction empty python block", TaskType.INDUCTION, answer("```python\n```")),
    ("truncated mid-thought", TaskType.INDUCTION, "Let me write def f(x): return"),
]

MALFORMED_PROPOSALS = [
    ("no python block", TaskType.DEDUCTION, answer(fence("input", "3"))),
    ("no input block", TaskType.ABDUCTION, answer(fence("python", "def f(x):\n    return x"))),
    ("empty input block", TaskType.DEDUCTION, answer(fence("python", "def f(x):\n    return x") + "```input\n```")),
    ("program without f", TaskType.DEDUCTION, answer(fence("python", "def g(x):\n    return x") + fence("input", "1"))),
    ("bad format around good blocks", TaskType.DEDUCTION, fence("python", "def f(x):\n    return x") + fence("input", "1")),
    ("induction nine inputs", TaskType.INDUCTION, answer("\n".join(fence("input", str(i)) for i in range(9)) + fence("message", "m"))),
    ("induction eleven inputs", TaskType.INDUCTION, answer("\n".join(fence("input", str(i)) for i in range(11)) + fence("message", "m"))),
    ("induction without message", TaskType.INDUCTION, answer(TEN_INPUTS)),
    ("induction empty message", TaskType.INDUCTION, answer(TEN_INPUTS + "```message\n```")),
]


@pytest.mark.parametrize("name, task_type, response", MALFORMED_SOLVER, ids=[c[0] for c in MALFORMED_SOLVER])
def test_malformed_solver_response_is_a_format_error(name, task_type, response):
    result = parse_solution(task_type, response, CFG)
    assert isinstance(result, FormatError) and result.reason


@pytest.mark.parametrize("name, task_type, response", MALFORMED_PROPOSALS, ids=[c[0] for c in MALFORMED_PROPOSALS])
def test_malformed_proposal_is_a_format_error(name, task_type, response):
    result = parse_proposal(task_type, response, CFG, program=PROGRAM)
    assert isinstance(result, FormatError) and result.reason


def test_there_are_at_least_twenty_malformed_cases():
    assert len(MALFORMED_SOLVER) + len(MALFORMED_PROPOSALS) >= 20


def test_format_error_reasons_say_what_is_wrong():
    assert split_response("x <answer>1</answer>").reason == "no closing </think>"
    assert split_response("x</think> 1").reason == "</think> is not followed by <answer>"
    assert split_response("x</think> <answer>1").reason == "no closing </answer>"
    bad = parse_proposal(TaskType.INDUCTION, answer(TEN_INPUTS[: TEN_INPUTS.rindex("```input")]), CFG, program=PROGRAM)
    assert bad.reason == "expected 10 non-empty ```input blocks, got 9"


def test_induction_proposal_needs_its_program():
    with pytest.raises(ValueError, match="program"):
        parse_proposal(TaskType.INDUCTION, answer(TEN_INPUTS + fence("message", "m")), CFG)


def test_imports_from_unparseable_program_fall_back_to_lines():
    assert extract_imports("import re\nfrom math import pi\ndef f(:\n  pass") == ("import re", "from math import pi")


# --- property tests: arbitrary text never raises ---

TOKENS = st.sampled_from(
    ["<think>", "</think>", "<answer>", "</answer>", "```", "```python\n", "```input\n", "```output\n",
     "```message\n", "\n", " ", "def f(x):", "return x", "import os", "<input>", "</input>", "(", "'", '"']
)  # fmt: skip
TEXT = st.one_of(st.text(), st.lists(st.one_of(TOKENS, st.text(max_size=5)), max_size=40).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.sampled_from(list(TaskType)), st.booleans())
def test_parsers_never_raise(text, task_type, prefill):
    cfg = PromptConfig(prefill_think=prefill)
    for result in (
        split_response(text, prefill),
        parse_solution(task_type, text, cfg),
        parse_proposal(task_type, text, cfg, program=PROGRAM),
    ):
        assert result is not None


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_dedup_normalisation_never_raises(text):
    from azr_jax.selfplay.tasks import normalize_arguments, normalize_program

    assert isinstance(normalize_program(text), str) and isinstance(normalize_arguments(text), str)
