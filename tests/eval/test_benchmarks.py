"""Benchmark files (fixtures in evalplus', LiveCodeBench's and the math format) and their test scripts in the jail."""

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest

from azr_jax.eval.benchmarks import benchmark_file, load_benchmark
from azr_jax.eval.code_check import check_programs, extract_code, program_from_response

FIXTURES = Path(__file__).parent / "fixtures"


def check(executor, config, problems, programs):
    return [r["verdict"] for r in check_programs(executor, problems, programs, config.timeout_s, config.case_timeout_s)]


def test_files_are_found_by_flag_then_environment_then_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("AZR_EVAL_DATA", raising=False)
    monkeypatch.delenv("AZR_EVAL_LCB", raising=False)
    assert benchmark_file("lcb", {}, str(FIXTURES)) == FIXTURES / "lcb.jsonl"
    monkeypatch.setenv("AZR_EVAL_DATA", str(FIXTURES))
    assert benchmark_file("lcb", {}, "") == FIXTURES / "lcb.jsonl"
    other = tmp_path / "mine.jsonl"
    other.write_text((FIXTURES / "lcb.jsonl").read_text())
    monkeypatch.setenv("AZR_EVAL_LCB", str(other))
    assert benchmark_file("lcb", {}, "") == other
    assert benchmark_file("lcb", {"lcb": str(FIXTURES / "lcb.jsonl")}, "") == FIXTURES / "lcb.jsonl"
    assert benchmark_file("humaneval", {}, str(tmp_path)) is None  # the package's bundled data


def test_a_missing_file_says_where_it_looked_and_how_to_point_to_one(tmp_path, monkeypatch):
    monkeypatch.delenv("AZR_EVAL_MATH500", raising=False)
    with pytest.raises(FileNotFoundError, match=r"math500\.jsonl.*--file math500=PATH.*AZR_EVAL_MATH500"):
        load_benchmark("math500", {}, str(tmp_path))
    with pytest.raises(ValueError, match="unknown benchmark 'gsm8k'"):
        load_benchmark("gsm8k", {}, str(tmp_path))


def test_evalplus_humaneval_plus_solutions_pass_and_wrong_ones_fail(eval_executor, eval_config):
    problems = load_benchmark("humaneval_plus", {}, str(FIXTURES))
    assert [p.task_id for p in problems] == ["HumanEval/0", "HumanEval/1"] and problems[0].style == "humaneval"
    wrong = [
        problems[0].prompt_code + "    return sum(values) / (len(values) + 1)\n",
        problems[1].prompt_code + "    return sum(ch in 'aeiou' for ch in text)\n",
    ]  # misses upper case
    assert check(eval_executor, eval_config, problems, [p.canonical_solution for p in problems]) == ["pass", "pass"]
    assert check(eval_executor, eval_config, problems, wrong) == ["fail", "fail"]


def test_evalplus_mbpp_plus_solutions_pass_and_wrong_ones_fail(eval_executor, eval_config):
    problems = load_benchmark("mbpp_plus", {}, str(FIXTURES))
    assert [p.style for p in problems] == ["mbpp", "mbpp"]
    wrong = [
        "def similar_elements(a, b):\n    return list(set(a) & set(b))[::-1]\n",  # wrong order
        "def is_not_prime(n):\n    return n % 2 == 0\n",
    ]
    assert check(eval_executor, eval_config, problems, [p.canonical_solution for p in problems]) == ["pass", "pass"]
    assert check(eval_executor, eval_config, problems, wrong) == ["fail", "fail"]


def test_the_hugging_face_export_of_mbpp_plus_gets_its_entry_point_from_the_first_test(
    eval_executor, eval_config, tmp_path
):
    # evalplus/mbppplus on Hugging Face: an integer task_id, `code`, a prompt without a call, test_list, test.
    test = (
        "\nfor a, b, expected in [((3, 4, 5, 6), (5, 7, 4, 10), (4, 5)), ((1, 2), (3,), ())]:\n"
        "    assert set(similar_elements(a, b)) == set(expected)\n"
    )
    code = (
        "def as_set(xs):\n    return set(xs)\n\ndef similar_elements(a, b):\n    return tuple(as_set(a) & as_set(b))\n"
    )
    row = {
        "task_id": 2,
        "prompt": "Write a function to find the shared elements from the given two lists.",
        "code": code,
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "test_imports": [],
        "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))"],
        "test": test,
    }
    path = tmp_path / "mbpp_plus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    [problem] = load_benchmark("mbpp_plus", {}, str(tmp_path))
    assert (problem.task_id, problem.style, problem.entry_point) == ("2", "mbpp", "similar_elements")
    assert problem.question == row["prompt"] + "\n" + row["test_list"][0]
    wrong = "def similar_elements(a, b):\n    return tuple(set(a) | set(b))\n"
    verdicts = check(eval_executor, eval_config, [problem, problem], [problem.canonical_solution, wrong])
    assert verdicts == ["pass", "fail"]
    path.write_text(json.dumps({**row, "test_list": ["assert True"]}) + "\n")
    with pytest.raises(ValueError, match=r"mbpp_plus\.jsonl: MBPP\+ task 2 has no entry_point"):
        load_benchmark("mbpp_plus", {}, str(tmp_path))


def test_livecodebench_reads_public_and_compressed_private_tests():
    problems = load_benchmark("lcb", {}, str(FIXTURES))
    assert [p.style for p in problems] == ["lcb_stdin", "lcb_stdin", "lcb_functional"]
    assert problems[0].tests == (("1 2\n", "3\n"), ("-5 5\n", "0\n"), ("1000000000000 1\n", "1000000000001\n"))
    assert problems[2].entry_point == "twoSum" and len(problems[2].tests) == 2


def test_a_compressed_test_field_holding_objects_is_refused_not_loaded(tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    row = json.loads((FIXTURES / "lcb.jsonl").read_text().splitlines()[0])
    row["private_test_cases"] = base64.b64encode(zlib.compress(pickle.dumps(Payload()))).decode()
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=r"lcb\.jsonl: problem abc001_a: .*refusing to load builtins\.print"):
        load_benchmark("lcb", {"lcb": str(path)})
    assert "this must never run" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"private_test_cases": "not base64 nor JSON"}, "problem abc001_a: unreadable test cases"),
        ({"public_test_cases": "[]", "private_test_cases": ""}, "problem abc001_a has no test cases"),
    ],
)
def test_a_livecodebench_problem_without_readable_tests_names_the_file_and_problem(tmp_path, fields, message):
    row = json.loads((FIXTURES / "lcb.jsonl").read_text().splitlines()[0]) | fields
    path = tmp_path / "lcb.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=f"lcb.jsonl: {message}"):
        load_benchmark("lcb", {"lcb": str(path)})


STDIN_SOLUTIONS = {
    "input()": "a, b = map(int, input().split())\nprint(a + b)\n",
    "sys.stdin": "import sys\na, b = map(int, sys.stdin.read().split())\nsys.stdout.write(f'{a + b}\\n')\n",
    "open(0) and exit()": "a, b = map(int, open(0).read().split())\nprint(a + b, '  ')\nexit()\n",
    "a main guard": "def main():\n    print(sum(map(int, input().split())))\n\nif __name__ == '__main__':\n    main()\n",
    # LiveCodeBench's runner imports sys, math, collections... (star and plain) before every solution.
    "its runner's imports": "a, b = map(int, stdin.readline().split())\nprint(reduce(add, [a, b]), file=sys.stdout)\n",
}


@pytest.mark.parametrize("program", list(STDIN_SOLUTIONS.values()), ids=list(STDIN_SOLUTIONS))
def test_livecodebench_stdin_programs_pass_however_they_read_and_write(eval_executor, eval_config, program):
    problem = load_benchmark("lcb", {}, str(FIXTURES))[0]
    assert check(eval_executor, eval_config, [problem], [program]) == ["pass"]


def test_a_leetcode_solution_may_use_the_starter_codes_annotations_without_importing_them(eval_executor, eval_config):
    problem = load_benchmark("lcb", {}, str(FIXTURES))[2]
    assert "List[int]" in problem.starter_code and "import" not in problem.starter_code
    program = (
        "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
        "        seen: Dict[int, int] = defaultdict(int)\n"
        "        for i, x in enumerate(nums):\n"
        "            if target - x in seen:\n"
        "                return [seen[target - x], i]\n"
        "            seen[x] = i\n"
    )
    assert check(eval_executor, eval_config, [problem], [program]) == ["pass"]


def test_livecodebench_failures_wrong_output_crash_and_a_hanging_case(eval_executor, eval_config):
    problems = load_benchmark("lcb", {}, str(FIXTURES))
    programs = [
        (problems[0], "a, b = map(int, input().split())\nprint(a - b)\n"),
        (problems[0], "a, b = map(int, input().split())\nprint(a + b)\nraise SystemExit(1)\n"),
        (problems[0], "a, b = map(int, input().split())\nif a < 0:\n    while True:\n        pass\nprint(a + b)\n"),
        (problems[1], "input()\nfor x in input().split():\n    print(int(x) / 2)\n"),  # 2.0 reads as 2: pass
        (problems[1], "input()\nfor x in input().split():\n    print(int(x) // 2)\n"),
        (
            problems[2],
            "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
            "            if target - x in seen:\n                return (seen[target - x], i)\n            seen[x] = i\n",
        ),
        (problems[2], "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n"),
    ]
    verdicts = check(eval_executor, eval_config, [p for p, _ in programs], [code for _, code in programs])
    assert verdicts == ["fail", "fail", "timeout", "pass", "fail", "pass", "fail"]


def test_code_is_taken_from_the_last_fenced_block_of_the_answer():
    response = "<think>try ```python\nx = 1\n```</think>\n<answer>\n```python\ndef f():\n    return 2\n```\n</answer>"
    assert extract_code(response) == "def f():\n    return 2\n"
    assert extract_code("no fence at all") == "no fence at all"


def test_a_humaneval_response_may_complete_the_body_or_rewrite_the_function():
    problem = load_benchmark("humaneval", limit=1)[0]
    body = program_from_response(problem, "```python\n    return False\n```")
    assert body == problem.prompt_code + "    return False\n"
    whole = program_from_response(
        problem, "```python\ndef has_close_elements(numbers, threshold):\n    return False\n```"
    )
    assert whole == problem.prompt_code + "\n\ndef has_close_elements(numbers, threshold):\n    return False\n"


def test_math_files_read_problem_and_answer_fields(tmp_path):
    problems = load_benchmark("aime24", {}, str(FIXTURES))
    assert [(p.task_id, p.answer) for p in problems] == [("1", "\\frac{3}{4}"), ("2", "6"), ("3", "2")]
    path = tmp_path / "olympiadbench.jsonl"
    path.write_text(
        json.dumps({"question": "q", "final_answer": ["$\\sqrt{2}$"]})
        + "\n"
        + json.dumps({"question": "r", "answer": 27.0})
        + "\n"
    )
    assert [(p.task_id, p.answer) for p in load_benchmark("olympiadbench", {}, str(tmp_path))] == [
        ("0", "\\sqrt{2}"),
        ("1", "27.0"),
    ]
    # MATH-style lines (Minerva as some releases ship it): the answer is the last box of the solution.
    path.write_text(
        json.dumps({"problem": "p", "solution": "First \\boxed{2}; no: $v = \\boxed{\\frac{1}{2}}$ m/s."}) + "\n"
    )
    assert [p.answer for p in load_benchmark("olympiadbench", {}, str(tmp_path))] == ["\\frac{1}{2}"]
    path.write_text(json.dumps({"question": "q", "solution": "no box"}) + "\n")
    with pytest.raises(ValueError, match="line 1 needs a problem"):
        load_benchmark("olympiadbench", {}, str(tmp_path))
    path.write_text(json.dumps({"question": "q"}) + "\n")
    with pytest.raises(ValueError, match="line 1 needs a problem"):
        load_benchmark("olympiadbench", {}, str(tmp_path))


def test_livecodebench_problems_can_be_picked_by_contest_date():
    def ids(dates):
        return [p.task_id for p in load_benchmark("lcb", {}, str(FIXTURES), dates=dates)]

    assert ids(("2024-09-15", "")) == ["3000"]
    assert ids(("", "2024-10")) == ["abc001_a", "abc001_b"]
    assert ids(("2024-09-01", "2024-10-02")) == ["abc001_a", "abc001_b", "3000"]
    with pytest.raises(ValueError, match="no problems dated 2025-01-01"):
        ids(("2025-01-01", ""))


def test_evalplus_release_files_compare_each_input_with_the_canonical_solution(eval_executor, eval_config):
    problems = load_benchmark("humaneval_plus", {"humaneval_plus": str(FIXTURES / "humaneval_plus_release.jsonl")})
    mean, vowels, find_zero = problems
    assert json.loads(mean.inputs) == [[[1.0, 2.0]], [[5.0]], [[0.1, 0.2, 0.3]], [[-1.0, 1.0]], [[1e-7, 3e-7]]]
    assert mean.test == "" and find_zero.atol == 1e-6
    newton = (
        "    x = 10.0\n    for _ in range(100):\n"
        "        slope = sum(i * c * x ** (i - 1) for i, c in enumerate(xs) if i)\n"
        "        x -= poly(xs, x) / slope\n    return x\n"
    )
    cases = [
        (mean, "    return sum(values) / len(values)\n", "pass"),
        (mean, "    import math\n    return math.fsum(values) / len(values)\n", "pass"),  # 0.2 vs 0.20000000000000004
        (mean, "    return sum(values) / len(values) + 1e-3\n", "fail"),  # beyond 1e-6
        (mean, "    return [sum(values) / len(values)]\n", "fail"),  # another type
        (vowels, "    return sum(ch in 'aeiouAEIOU' for ch in text)\n", "pass"),
        (vowels, "    return sum(ch in 'aeiou' for ch in text)\n", "fail"),
        (vowels, "    while True:\n        pass\n", "timeout"),
        (find_zero, newton, "pass"),  # other roots than the canonical bisection's: any root is right
        (find_zero, "    return 0.5\n", "fail"),
    ]
    programs = [problem.prompt_code + body for problem, body, _ in cases]
    assert check(eval_executor, eval_config, [p for p, _, _ in cases], programs) == [v for _, _, v in cases]
    # The solution must not see (or spoil) the reference's inputs: each call gets its own copy.
    mutating = vowels.prompt_code + "    text = text.lower()\n    return sum(ch in 'aeiou' for ch in text)\n"
    assert check(eval_executor, eval_config, [vowels], [mutating]) == ["pass"]
