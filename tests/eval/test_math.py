"""Final-answer extraction and math-verify equivalence (run in the jail). Expected values are written by hand."""

import pytest

from azr_jax.eval.math_check import check_answers, extract_answer, last_boxed

EXTRACTION = [
    ("so the answer is \\boxed{42}.", "42"),
    ("first \\boxed{1}, then corrected: \\boxed{2}", "2"),  # the last box wins
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),  # nested braces
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces do not close the box
    ("$\\boxed{x^{2}+1}$ done", "x^{2}+1"),
    ("\\fbox{7}", "7"),
    ("<think>maybe 3</think> <answer>5</answer>", "5"),  # the reply's text when it has no box
    ("<answer>$18$</answer>", "18"),  # math delimiters around a tagged answer are dropped
    ("<answer>The answer is \\boxed{7}.</answer>", "7"),  # the reply's box
    ("<think>\\boxed{3}</think> <answer>4</answer>", "4"),  # the reply beats a box in the reasoning
    ("<answer>\\boxed{9}</answer> and later <answer>8</answer>", "8"),  # the last reply
    ("<answer>1</answer><answer>2</answer>", "2"),
    ("<think>so \\boxed{6}</think> <answer>\\boxed{", "6"),  # a cut-off reply is no reply: the last box
    ("the answer is 12", None),  # neither a box nor a tag
    ("\\boxed{unclosed", None),
    ("<answer></answer>", None),
    ("<answer>$ $</answer>", None),
]


@pytest.mark.parametrize("text, expected", EXTRACTION)
def test_the_answer_is_the_last_box_else_the_last_answer_tag(text, expected):
    assert extract_answer(text) == expected


def test_last_boxed_takes_the_outermost_content_of_the_last_box():
    assert last_boxed("\\boxed{a} \\boxed{\\sqrt{\\frac{3}{4}}}") == "\\sqrt{\\frac{3}{4}}"


# (gold, answer, equivalent?)
EQUIVALENCE = [
    # fractions
    ("\\frac{1}{2}", "0.5", True),
    ("\\frac{1}{2}", "\\dfrac{1}{2}", True),
    ("\\frac12", "1/2", True),
    ("\\frac{3}{4}", "\\frac{6}{8}", True),
    ("-\\frac{\\sqrt{3}}{2}", "-\\frac{1}{2}\\sqrt{3}", True),
    ("\\frac{1}{3}", "0.333", False),
    ("\\frac{2}{3}", "\\frac{3}{2}", False),
    # roots
    ("\\sqrt{2}", "2^{1/2}", True),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("\\sqrt{3}", "3", False),
    # intervals
    ("(0,1]", "(0, 1]", True),
    ("(-\\infty, 3)", "(-\\infty,3)", True),
    ("(0,1]", "[0,1]", False),
    # sets and tuples
    ("\\{1,2\\}", "\\{2,1\\}", True),
    ("1,2", "\\{1,2\\}", True),
    ("\\{1,2\\}", "\\{1,3\\}", False),
    # units, currency, percent
    ("5", "5 \\text{ cm}", True),
    ("5", "5\\text{ cm}^2", True),
    ("18.90", "\\$18.90", True),
    ("50", "50\\%", True),
    # thousands separators
    ("1000", "1,000", True),
    ("1000", "1{,}000", True),
    ("10000000", "10,000,000", True),
    ("1000", "1", False),
    # equations, expressions, numbers in other forms
    ("3", "x=3", True),
    ("(x+1)^2", "x^2+2x+1", True),
    ("27", "27.0", True),
    ("\\text{(B)}", "B", True),
    ("\\infty", "\\infty", True),
    # clearly wrong answers
    ("3", "4", False),
    ("\\pi", "3.14", False),
    ("204", "240", False),
    ("12", "1,2", False),
    ("7", "\\text{seven apples and a pear}", False),
]


def test_math_verify_equivalence_in_the_jail(eval_executor, eval_config):
    records = check_answers(
        eval_executor, [g for g, _, _ in EQUIVALENCE], [a for _, a, _ in EQUIVALENCE], eval_config.timeout_s
    )
    got = [(gold, answer, record["passed"]) for (gold, answer, _), record in zip(EQUIVALENCE, records)]
    assert got == EQUIVALENCE
    assert {r["verdict"] for r in records} == {"pass", "fail"}


def test_a_missing_answer_fails_without_running_anything(eval_executor, eval_config):
    records = check_answers(eval_executor, ["1", "2"], [None, "2"], eval_config.timeout_s)
    assert [r["verdict"] for r in records] == ["no_answer", "pass"]


def test_an_answer_cannot_reach_the_host_through_the_sympy_parser(eval_executor, eval_config, tmp_path):
    # sympy's expression parser evaluates text; in the jail a payload finds no host file to write.
    target = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {target}')"
    records = check_answers(eval_executor, ["1"], [payload], eval_config.timeout_s)
    assert not records[0]["passed"] and not target.exists()
