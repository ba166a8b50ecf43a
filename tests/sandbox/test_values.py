"""Plain data (sandbox.values): what crosses from graded code to grading code, read back without running code."""

import math
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple

import pytest

from sandbox.values import NOT_DATA, Record, encode, parse, parse_arguments, parse_source, values_equal

Point = namedtuple("Point", "x y")

HONEST_VALUES = [
    0,
    -7,
    2**100,
    1.5,
    -0.0,
    math.inf,
    -math.inf,
    1e-300,
    1 + 2j,
    -1.5 - 0j,
    "a\n'\"é",
    b"\x00b",
    True,
    False,
    None,
    [],
    [1, [2, (3,)]],
    (),
    (1,),
    {"a": [1, {2: 3}], (1, 2): None},
    set(),
    {1, "x"},
    frozenset(),
    frozenset({(1, 2)}),
    deque(),
    deque([1, 2], maxlen=3),
    defaultdict(int, {"a": 1}),
    defaultdict(list),
    Counter("abracadabra"),
    Counter(),
    OrderedDict([("b", 1), ("a", 2)]),
    OrderedDict(),
    bytearray(b"ab"),
    range(1, 9, 2),
    range(0),
]


@pytest.mark.parametrize("value", HONEST_VALUES, ids=repr)
def test_every_honest_value_round_trips_through_encode_and_through_its_repr(value):
    assert values_equal(parse(encode(value)), value)
    assert values_equal(parse(repr(value)), value)  # gold outputs are reprs made by the program's process


def test_nan_and_namedtuples():
    assert values_equal(parse(encode(math.nan)), math.nan) and values_equal(parse("[nan]"), [math.nan])
    assert encode(Point(1, [2])) == "Point(x=1, y=[2])"
    assert parse(encode(Point(1, [2]))) == parse(repr(Point(1, [2]))) == Record("Point", ("x", "y"), (1, [2]))
    assert not values_equal(parse("Point(x=1, y=2)"), (1, 2))  # a record equals only a record
    assert not values_equal(parse("Point(x=1, y=2)"), parse("Other(x=1, y=2)"))


def test_a_defaultdict_with_any_factory_is_its_dict_and_class_names_inside_strings_stay_text():
    assert encode(defaultdict(lambda: 0, {1: 2})) == "defaultdict(None, {1: 2})"
    assert values_equal(parse("defaultdict(<class 'int'>, {1: 2})"), {1: 2})  # as Python's ==
    assert parse("defaultdict(<class 'int'>, {\"<class 'x'>\": 1})") == {"<class 'x'>": 1}
    assert parse("defaultdict(<class 'os.system'>, {})") is NOT_DATA


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class EqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class SneakyList(list):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "value",
    [
        AlwaysEqual(),
        EqualInt(1),
        SneakyList([1]),
        [EqualInt(1)],
        {"k": AlwaysEqual()},
        {EqualInt(1): 1},
        (1, SneakyList()),
        type("X", (), {"__eq__": lambda s, o: True})(),
        type("S", (str,), {})("a"),
        object(),
        lambda: 1,
        iter([1]),
        {1: 2}.keys(),
        type,
        Counter,
        deque([AlwaysEqual()]),
    ],
    ids=repr,
)
def test_anything_else_is_not_data(value):
    assert encode(value) is None


def test_a_self_referencing_or_too_deep_value_is_not_data():
    loop = []
    loop.append(loop)
    deep = []
    for _ in range(200):
        deep = [deep]
    assert encode(loop) is None and encode(deep) is None


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('false')",
        "[1] * 3",
        "f(1)",
        "x",
        "1 if 1 else 2",
        "{**a}",
        "lambda: 1",
        "...",
        "[" * 100_000,
        "9" * 10_000,
        "Point(1, 2)",
        "deque([1], 2, 3)",
        "set(1)",
        "Counter([1])",
        "inf(1)",
        "float('abc')",
        "range(1.5)",
        "defaultdict(int, {})",
        "OrderedDict([1, 2])",
        "{[1]: 2}",
    ],
)
def test_parse_builds_only_data_and_runs_nothing(text):
    assert parse(text) is NOT_DATA


def test_hand_written_constructors_are_data():
    assert parse("dict(a=1, b=[2])") == {"a": 1, "b": [2]}
    assert parse("float('-inf')") == -math.inf and parse("list('ab')") == ["a", "b"] and parse("tuple()") == ()


def test_arguments_as_data():
    assert parse_arguments("\n[1,\n 2],\n key=deque([3])\n") == (([1, 2],), {"key": deque([3])})
    assert parse_arguments("") == ((), {})
    for text in ["*a", "**k", "1), (2", "[1] * 2", "f(5)", "x=1, x=2"]:
        assert parse_arguments(text) is NOT_DATA, text


def test_float_equality_is_exact_by_default_and_a_relative_tolerance_is_a_switch():
    assert not values_equal(0.3, 0.1 + 0.2) and values_equal(0.3, 0.1 + 0.2, float_rel_tol=1e-9)
    assert values_equal([0.3, {"a": (1.0, 2)}], [0.1 + 0.2, {"a": (1, 2)}], float_rel_tol=1e-9)
    assert not values_equal(0.33, 1 / 3, float_rel_tol=1e-9)
    assert values_equal(math.nan, math.nan) and not values_equal(math.nan, 0.0)
    assert values_equal(math.inf, math.inf) and not values_equal(math.inf, -math.inf)
    assert values_equal(1, 1.0) and values_equal(True, 1)  # Python's ==, as the public code compares


def test_containers_compare_as_python_does():
    assert not values_equal([1, 2], (1, 2)) and not values_equal([1], deque([1]))
    assert values_equal({1, 2}, {2, 1}) and not values_equal({"a": 1}, {"a": 1, "b": 2})
    assert values_equal(OrderedDict(a=1), {"a": 1}) and not values_equal(OrderedDict(a=1, b=2), OrderedDict(b=2, a=1))
    assert values_equal(Counter(a=1), Counter(a=1, b=0))  # Counter's own rule (Python 3.10+)


def test_model_text_that_python_warns_about_parses_without_a_warning():
    # `1if` is "invalid decimal literal" (a SyntaxWarning in 3.11, printed to stderr by the sandbox's workers),
    # `'\d'` an invalid escape: the text is data to judge, never a message for the console.
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse_arguments("[1if 2 else 3]") is NOT_DATA
        assert parse("'\\d'") == "\\d"
        parse_source("f(\n[1if 2 else 3]\n)", "eval")
    assert caught == []
