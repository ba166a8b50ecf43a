"""Host-side semantics: parsing and comparison only; nothing here executes model code."""

import math

import pytest

from sandbox.policy import DEFAULT_POLICY
from sandbox.results import Status
from sandbox.semantics import JobError, literal_value, parse_arguments, parse_program, values_equal


def test_arguments_span_lines_and_take_keywords():
    tree = parse_arguments("\n[1,\n 2],\n key=3\n", DEFAULT_POLICY)
    call = tree.body
    assert len(call.args) == 1 and [k.arg for k in call.keywords] == ["key"]


@pytest.mark.parametrize("text", ["1), (2", "1)(2", "1) + f(2", ")", "1,, 2"])
def test_spliced_or_broken_arguments_are_bad_input(text):
    with pytest.raises(JobError) as err:
        parse_arguments(text, DEFAULT_POLICY)
    assert err.value.status is Status.BAD_INPUT


def test_arguments_are_policy_checked():
    with pytest.raises(JobError) as err:
        parse_arguments("__import__('os').getcwd()", DEFAULT_POLICY)
    assert err.value.status is Status.BANNED


def test_program_needs_top_level_f_and_helpers_are_an_option():
    with pytest.raises(JobError) as err:
        parse_program("def g():\n    return 1", DEFAULT_POLICY, allow_helpers=True)
    assert err.value.status is Status.NO_ENTRY_FUNCTION
    helper = "def g(x):\n    return x\ndef f(x):\n    return g(x)"
    with pytest.raises(JobError) as err:
        parse_program(helper, DEFAULT_POLICY, allow_helpers=False)
    assert err.value.status is Status.BANNED and "'g'" in str(err.value)
    parse_program(helper, DEFAULT_POLICY, allow_helpers=True)
    with pytest.raises(JobError) as err:
        parse_program("def f(:\n", DEFAULT_POLICY, allow_helpers=True)
    assert err.value.status is Status.SYNTAX_ERROR


def test_float_policy_relative_1e_9_and_nan_equals_nan():
    assert values_equal(0.28, 0.1 + 0.18)
    assert values_equal([0.28, {"a": (1.0, 2)}], [0.28000000000000004, {"a": (1, 2)}])
    assert not values_equal(0.33, 1 / 3)
    assert values_equal(math.nan, math.nan) and not values_equal(math.nan, 0.0)
    assert values_equal(math.inf, math.inf) and not values_equal(math.inf, -math.inf)
    assert values_equal(1e-13, 0.0)  # absolute tolerance 1e-12 near zero
    assert not values_equal(1e-6, 0.0)


def test_containers_keep_python_types():
    assert not values_equal([1, 2], (1, 2))
    assert values_equal({1, 2}, {2, 1})
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})
    assert values_equal(True, 1)  # Python equality, except floats


def test_literal_value_never_evaluates_code():
    assert literal_value(" [1, (2, 'x')] ") == (True, [1, (2, "x")])
    assert literal_value("__import__('os').system('false')") == (False, None)
    assert literal_value("[" * 100_000) == (False, None)
    assert literal_value("9" * 10_000) == (False, None)  # past the int digit limit: not a crash
