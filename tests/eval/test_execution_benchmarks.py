"""CRUXEval and LiveCodeBench code execution: loading the release formats, the self-play solver's prompt and
parser, grading through the sandbox, and the paper protocol's generation lengths and LiveCodeBench window.

The fixtures (fixtures/cruxeval.jsonl, fixtures/lcb_execution.jsonl) are hand-written rows in the releases'
formats: CRUXEval's {code, input, output, id} and LiveCodeBench execution-v2's {question_id, id,
function_name, code, input (the call), output, numsteps, problem_id, contest_id, contest_date, difficulty}."""

import json
from pathlib import Path

import pytest

from azr_jax.eval.benchmarks import BENCHMARKS, load_benchmark
from azr_jax.eval.config import EvalConfig
from azr_jax.eval.harness import score_benchmark
from azr_jax.eval.prompts import prompt

FIXTURES = Path(__file__).parent / "fixtures"


def reply(block: str, value: str) -> str:
    """A response in the solver format of the base template (the prompt ends with <think>)."""
    return f" I trace it. </think> <answer>\n```{block}\n{value}\n```\n</answer>"


def test_both_cruxeval_tasks_read_one_file_as_abduction_and_deduction():
    inputs = load_benchmark("cruxeval_i", {}, str(FIXTURES))
    outputs = load_benchmark("cruxeval_o", {}, str(FIXTURES))
    assert [p.task_id for p in inputs] == [p.task_id for p in outputs] == ["sample_0", "sample_1", "sample_2"]
    assert {p.task_type for p in inputs} == {"abduction"} and {p.task_type for p in outputs} == {"deduction"}
    assert inputs[1].input == "'banana', 'a'" and inputs[1].output == "(3, 'bnn')"
    # --file and $AZR_EVAL_<NAME> take the shared file's name
    assert len(load_benchmark("cruxeval_o", {"cruxeval": str(FIXTURES / "cruxeval.jsonl")})) == 3


def test_an_lcb_execution_row_becomes_f_with_its_arguments_and_imports(eval_executor):
    problems = load_benchmark("lcb_execution_i", {}, str(FIXTURES))
    by_id = {p.task_id: p for p in problems}
    pairs = by_id["sample_1"]
    assert pairs.input == "nums = [1, 4, 7, 2], k = 3"  # keyword arguments stay keywords
    assert pairs.program.startswith(
        "from typing import List\nfrom collections import defaultdict\ndef f(nums: List[int]"
    )
    assert "depth(" not in by_id["sample_2"].program and "1 + f(n // 2)" in by_id["sample_2"].program  # recursion
    assert not by_id["sample_0"].program.startswith(("from", "import"))  # nothing missing, nothing added
    # Each normalised program, run in the sandbox on its arguments, gives the release's output.
    results = eval_executor.run([(p.program, p.input) for p in problems])
    assert [r.output for r in results] == [p.output for p in problems] == ["2", "3", "4"]


@pytest.mark.parametrize(
    "row, message",
    [
        (
            {"id": "x", "code": "def g(a):\n    return a", "input": "g(a = 1", "output": "1"},
            "x: input 'g\\(a = 1' is not a call",
        ),
        (
            {"id": "y", "code": "def g(a):\n    return a", "input": "h(a = 1)", "output": "1"},
            "y: the input calls h, which the code does not define",
        ),
        (
            {"id": "z", "code": "def g(a):\n  return (", "input": "g(a = 1)", "output": "1"},
            "z: the code does not parse",
        ),
    ],
)
def test_a_bad_lcb_execution_row_is_named(tmp_path, row, message):
    (tmp_path / "lcb_execution.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=message):
        load_benchmark("lcb_execution_o", {}, str(tmp_path))


def test_the_prompt_is_the_self_play_solvers():
    crux_o = load_benchmark("cruxeval_o", {}, str(FIXTURES))[0]
    crux_i = load_benchmark("cruxeval_i", {}, str(FIXTURES))[0]
    text_o, text_i = prompt(crux_o, "base"), prompt(crux_i, "base")
    assert "solver (deduction)" in text_o and "[1, 2, 3, 4, 5]" in text_o and "[3, 9, 15]" not in text_o
    assert "solver (abduction)" in text_i and "[3, 9, 15]" in text_i and "[1, 2, 3, 4, 5]" not in text_i
    assert text_o.endswith("<think>")


def test_answers_are_graded_by_the_sandbox_as_self_play_grades_its_solver(eval_executor, eval_config):
    problems = load_benchmark("cruxeval_i", {}, str(FIXTURES))
    responses = [
        reply("input", "[1, 3, 5]"),  # not the release's input, but f gives the same output: correct
        reply("input", "'banana', 'b'"),  # (1, 'anana'): wrong
        "the input is 'x'",  # no <think>/<answer> format: no answer
    ]
    result = score_benchmark(
        "cruxeval_i", problems, [[{"completion": r}] for r in responses], eval_executor, eval_config
    )
    assert [r["verdict"] for r in result.records] == ["pass", "fail", "no_answer"]
    assert result.scores["pass@1"] == pytest.approx(1 / 3)

    problems = load_benchmark("cruxeval_o", {}, str(FIXTURES))
    responses = [
        reply("output", "[3,9,15]"),  # equal by value
        reply("output", "(3, 'bnn')"),
        reply("output", "[('x', 1), ('y', 3)]"),  # the order is wrong
    ]
    result = score_benchmark(
        "cruxeval_o", problems, [[{"completion": r}] for r in responses], eval_executor, eval_config
    )
    assert [r["verdict"] for r in result.records] == ["pass", "pass", "fail"]
    assert result.records[0]["answer"] == "[3,9,15]" and result.records[0]["gold"] == "[3, 9, 15]"
    # A samples-file line may hold the bare answer; a generated response never counts without the format.
    bare = [
        [{"completion": "[3, 9, 15]", "from_samples": True}],
        [{"completion": "(3, 'bnn')"}],
        [{"completion": "[]", "from_samples": True}],
    ]
    result = score_benchmark("cruxeval_o", problems, bare, eval_executor, eval_config)
    assert [r["verdict"] for r in result.records] == ["pass", "no_answer", "fail"]

    problems = load_benchmark("lcb_execution_i", {}, str(FIXTURES))
    responses = [reply("input", "s = 'AB'"), reply("input", "[3, 3], 3"), reply("input", "n = 3")]  # depth(3) = 1
    result = score_benchmark(
        "lcb_execution_i", problems, [[{"completion": r}] for r in responses], eval_executor, eval_config
    )
    assert [r["verdict"] for r in result.records] == ["fail", "fail", "fail"]
    responses = [reply("input", "s = 'ABCDXY'"), reply("input", "nums=[3, 6, 9], k=3"), reply("input", "16")]
    result = score_benchmark(
        "lcb_execution_i", problems, [[{"completion": r}] for r in responses], eval_executor, eval_config
    )
    assert [r["verdict"] for r in result.records] == ["pass", "pass", "pass"]


def test_the_defaults_are_the_paper_protocols_generation_lengths_and_lcb_window():
    config = EvalConfig()
    lengths = {name: config.generation_length(name) for name in BENCHMARKS}
    assert lengths["humaneval_plus"] == lengths["mbpp_plus"] == lengths["humaneval"] == 768  # evalplus' default
    assert lengths["lcb"] == 8096 and lengths["aime24"] == lengths["math500"] == 16000
    assert lengths["cruxeval_i"] == lengths["cruxeval_o"] == lengths["lcb_execution_i"] == 8096  # the rollout length
    assert EvalConfig(max_new_tokens=100).generation_length("aime24") == 100
    assert (config.lcb_since, config.lcb_until) == ("2023-05-01", "2025-02-01")  # release_v5: May 2023 to Jan 2025
    assert EvalConfig(benchmarks=("humaneval", "lcb")).longest_generation == 8096
