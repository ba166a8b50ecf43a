"""The paper's averages and the Markdown table, from hand-made results (expected numbers written by hand)."""

import pytest

from azr_jax.eval.config import EvalConfig
from azr_jax.eval.harness import BenchmarkResult, averages
from azr_jax.eval.report import flat_metrics, markdown_table, summary


def result(name, kind, title, pass1, problems=2):
    records = [{"task_id": str(i)} for i in range(problems)]
    return BenchmarkResult(name, kind, title, {"pass@1": pass1}, records)


RESULTS = [
    result("humaneval", "code", "HumanEval", 0.9),  # reported, not in the paper's code average
    result("humaneval_plus", "code", "HumanEval+", 0.5),
    result("mbpp_plus", "code", "MBPP+", 0.25),
    result("lcb", "code", "LiveCodeBench", 0.0),
    result("aime24", "math", "AIME24", 0.1, problems=30),
    result("math500", "math", "MATH500", 0.7),
]


def test_code_and_math_averages_and_their_mean():
    got = averages(RESULTS)
    assert got["code_average"] == pytest.approx(0.25)  # (0.5 + 0.25 + 0) / 3
    assert got["math_average"] == pytest.approx(0.4)  # (0.1 + 0.7) / 2
    assert got["overall"] == pytest.approx(0.325)  # (0.25 + 0.4) / 2, not the mean of the five benchmarks (0.31)


def test_with_one_kind_the_overall_is_that_kinds_average():
    got = averages(RESULTS[:3])
    assert got == {"code_average": pytest.approx(0.375), "math_average": None, "overall": pytest.approx(0.375)}


def test_the_table_and_the_flat_metrics():
    table = markdown_table(summary(RESULTS, EvalConfig(), "m"))
    assert "| AIME24 | math | 30 | 10.0 |" in table
    assert "| **Code average** | | | 25.0 |" in table and "| **Overall** | | | 32.5 |" in table
    metrics = flat_metrics(RESULTS)
    assert metrics["eval/mbpp_plus/pass@1"] == 0.25 and metrics["eval/math_average/pass@1"] == pytest.approx(0.4)
