import ast

import pytest

from sandbox.determinism import second_run_reason, shows_address


def reason(program: str, text: str = "0", policy_checked: bool = True) -> str | None:
    return second_run_reason([ast.parse(program), ast.parse(f"f({text})", mode="eval")], policy_checked)


@pytest.mark.parametrize(
    "program, text",
    [
        ("def f(a):\n    return {a, 1}", "0"),
        ("def f(a):\n    return {x for x in a}", "'ab'"),
        ("def f(a):\n    return list(set(a))", "'ab'"),
        ("def f(a):\n    return sorted(frozenset(a))", "'ab'"),
        ("def f(a):\n    return list(a)", "{'x', 'y'}"),  # the input builds the set
        ("def f(a):\n    return hash(a)", "'x'"),
        ("def f(a):\n    return id(a)", "0"),
        ("def f(a):\n    return a.__hash__()", "'x'"),
        ("def f(a, b):\n    return list(a.keys() - b.keys())", "{}, {}"),
        ("def f(a, b):\n    k = a.items()\n    k |= b.items()\n    return k", "{}, {}"),
        ("import numpy as np\ndef f(a):\n    return a", "0"),
        ("from sympy import symbols\ndef f(a):\n    return a", "0"),
    ],
)
def test_programs_that_could_vary_get_a_second_run(program, text):
    assert reason(program, text) is not None


@pytest.mark.parametrize(
    "program",
    [
        "def f(a):\n    return sorted(a)[::-1]",
        "from collections import Counter, deque\nimport math\ndef f(a):\n    return Counter(a).most_common(2), math.gcd(4, 6)",
        "def f(a):\n    d = {k: len(k) for k in a}\n    return list(d.items())",  # dict order is insertion order
        "def f(a):\n    return a - 1 & 3",  # set operators alone (on ints) are fine without dict views
    ],
)
def test_programs_that_cannot_vary_run_once(program):
    assert reason(program, "5" if "a - 1" in program else "['b', 'a']") is None


def test_without_the_policy_every_program_runs_twice():
    assert reason("def f(a):\n    return a", policy_checked=False) == "the policy is off"


def test_addresses_show_in_a_single_run():
    assert shows_address("<generator object f.<locals>.<genexpr> at 0x7f2cedfc57b0>")
    assert shows_address("[<__main__.A object at 0x7f00>]")
    assert not shows_address("'at 0x' is text") and not shows_address(None)
