"""Parsing of programs and inputs (worker side, before any fork); nothing here executes model code."""

import pytest

from sandbox.policy import DEFAULT_POLICY
from sandbox.results import Status
from sandbox.semantics import JobError, parse_arguments, parse_program


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
