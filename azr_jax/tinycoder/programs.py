"""Small Python programs in the style of Absolute Zero tasks, with inputs, drawn deterministically from a seed.

Each `ProgramSpec` is one template instance: the source of `f`, a one-line description of what it does (the
proposer's thought, the induction message) and a way to draw inputs for it. One-step templates (a comparison, a
label, a copy, one small operation) sit beside multi-step ones (arithmetic, conditionals, loops, strings, lists,
dicts and small recursion); names and constants vary per draw. Nothing here
runs the programs: outputs come from the sandbox (`azr_jax.tinycoder.corpus`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

WORDS = (
    "apple",
    "river",
    "stone",
    "cloud",
    "tiger",
    "lemon",
    "piano",
    "ocean",
    "maple",
    "robot",
    "hello",
    "world",
    "level",
    "radar",
    "noon",
    "cat",
    "dog",
    "sun",
    "moon",
    "tree",
    "code",
    "data",
    "jazz",
    "quiz",
    "blue",
    "red",
)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
INT_NAMES = ("x", "n", "k", "num", "value")
LIST_NAMES = ("nums", "items", "values", "xs", "data", "arr")
STR_NAMES = ("s", "text", "word", "line")
DICT_NAMES = ("d", "counts", "table", "scores")
ACC_NAMES = ("total", "acc", "result", "out")
ELEM_NAMES = ("v", "item", "x", "e")


@dataclasses.dataclass(frozen=True)
class ProgramSpec:
    program: str  # the source of `f`
    description: str  # what f does, in words (no code)
    draw_input: Callable[[np.random.Generator], str]  # argument text for `f(...)`
    tier: str | None = None  # "one_step" or "multi_step", set by draw_program


Template = Callable[[np.random.Generator], ProgramSpec]


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _int(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.integers(low, high + 1))


def _int_input(low: int, high: int) -> Callable[[np.random.Generator], str]:
    return lambda rng: repr(_int(rng, low, high))


def _int_list(rng: np.random.Generator, low: int = -5, high: int = 15, max_len: int = 6, min_len: int = 0) -> list[int]:
    return [_int(rng, low, high) for _ in range(_int(rng, min_len, max_len))]


def _word(rng: np.random.Generator) -> str:
    if rng.random() < 0.7:
        return _pick(rng, WORDS)
    return "".join(_pick(rng, LETTERS) for _ in range(_int(rng, 1, 6)))


def _sentence(rng: np.random.Generator) -> str:
    return " ".join(_word(rng) for _ in range(_int(rng, 1, 4)))


def _str_dict(rng: np.random.Generator) -> dict[str, int]:
    keys = rng.permutation(list(LETTERS[:8]))[: _int(rng, 1, 4)]
    return {str(k): _int(rng, 0, 9) for k in keys}


def _code(lines: list[str]) -> str:
    return "\n".join(lines)


# ---- one-step programs ----
# Their outputs are a comparison, a label, a copy or one small operation: a few-million-parameter solver can get
# them right some of the time, which is what gives self-play partial solve rates (learnability) from its first steps.


def compare(rng):
    x, k = _pick(rng, INT_NAMES), _int(rng, -5, 20)
    op, words = _pick(
        rng, ((">", "greater than"), ("<", "less than"), (">=", "at least"), ("<=", "at most"), ("==", "equal to"))
    )
    return ProgramSpec(
        _code([f"def f({x}):", f"    return {x} {op} {k}"]),
        f"checks whether the number is {words} {k}",
        _int_input(-5, 25),
    )


def divisible(rng):
    x, m = _pick(rng, INT_NAMES), _int(rng, 2, 5)
    words = {2: "even"}.get(m, f"divisible by {m}")
    return ProgramSpec(
        _code([f"def f({x}):", f"    return {x} % {m} == 0"]),
        f"checks whether the number is {words}",
        _int_input(0, 30),
    )


def add_const(rng):
    x, k = _pick(rng, INT_NAMES), _int(rng, -9, 9)
    op = "+" if k >= 0 else "-"
    return ProgramSpec(
        _code([f"def f({x}):", f"    return {x} {op} {abs(k)}"]),
        f"{'adds' if k >= 0 else 'subtracts'} {abs(k)}",
        _int_input(0, 20),
    )


def threshold_label(rng):
    x, k = _pick(rng, INT_NAMES), _int(rng, 0, 15)
    yes, no = _pick(rng, (("yes", "no"), ("up", "down"), ("hot", "cold"), ("on", "off")))
    return ProgramSpec(
        _code([f"def f({x}):", f"    if {x} > {k}:", f"        return '{yes}'", f"    return '{no}'"]),
        f"says {yes} for numbers above {k} and {no} otherwise",
        _int_input(-5, 25),
    )


def list_length(rng):
    xs, k = _pick(rng, LIST_NAMES), _int(rng, 0, 3)
    body = f"len({xs})" + (f" + {k}" if k else "")
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {body}"]),
        "counts the items in the list" + (f" and adds {k}" if k else ""),
        lambda rng: repr(_int_list(rng, 0, 9, 5)),
    )


def pick_item(rng):
    xs = _pick(rng, LIST_NAMES)
    index, words = _pick(rng, (("0", "first"), ("-1", "last"), ("1", "second")))
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {xs}[{index}]"]),
        f"returns the {words} item of the list",
        lambda rng: repr(_int_list(rng, 0, 9, 5, min_len=2)),
    )


def list_extreme(rng):
    xs = _pick(rng, LIST_NAMES)
    fn, words = _pick(rng, (("max", "largest"), ("min", "smallest")))
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {fn}({xs})"]),
        f"returns the {words} number in the list",
        lambda rng: repr(_int_list(rng, 0, 9, 5, min_len=1)),
    )


def list_contains(rng):
    xs, k = _pick(rng, LIST_NAMES), _int(rng, 0, 9)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {k} in {xs}"]),
        f"checks whether {k} is in the list",
        lambda rng: repr(_int_list(rng, 0, 9, 5)),
    )


def affix(rng):
    s, piece = _pick(rng, STR_NAMES), "".join(_pick(rng, LETTERS) for _ in range(_int(rng, 1, 3)))
    if rng.random() < 0.5:
        body, words = f"{s} + '{piece}'", f"appends '{piece}' to the text"
    else:
        body, words = f"'{piece}' + {s}", f"puts '{piece}' before the text"
    return ProgramSpec(_code([f"def f({s}):", f"    return {body}"]), words, lambda rng: repr(_word(rng)))


def repeat_text(rng):
    s, k = _pick(rng, STR_NAMES), _int(rng, 2, 3)
    return ProgramSpec(
        _code([f"def f({s}):", f"    return {s} * {k}"]), f"repeats the text {k} times", lambda rng: repr(_word(rng))
    )


def has_letter(rng):
    s, c = _pick(rng, STR_NAMES), _pick(rng, "aeiorstn")
    return ProgramSpec(
        _code([f"def f({s}):", f"    return '{c}' in {s}"]),
        f"checks whether the text contains the letter {c}",
        lambda rng: repr(_word(rng)),
    )


def pair_up(rng):
    x, k = _pick(rng, INT_NAMES), _int(rng, 1, 5)
    return ProgramSpec(
        _code([f"def f({x}):", f"    return [{x}, {x} + {k}]"]),
        f"returns the number and the number plus {k}",
        _int_input(0, 20),
    )


# ---- arithmetic and conditionals on one integer ----


def affine(rng):
    x, a, b = _pick(rng, INT_NAMES), _int(rng, 2, 9), _int(rng, -9, 9)
    op = "+" if b >= 0 else "-"
    return ProgramSpec(
        _code([f"def f({x}):", f"    return {x} * {a} {op} {abs(b)}"]),
        f"multiplies the number by {a} and {'adds' if b >= 0 else 'subtracts'} {abs(b)}",
        _int_input(-20, 20),
    )


def modular(rng):
    x, a, m = _pick(rng, INT_NAMES), _int(rng, 1, 9), _int(rng, 3, 11)
    return ProgramSpec(
        _code([f"def f({x}):", f"    return ({x} + {a}) % {m}"]),
        f"adds {a} and takes the remainder modulo {m}",
        _int_input(-10, 40),
    )


def floor_div(rng):
    x, a, b = _pick(rng, INT_NAMES), _int(rng, 2, 5), _int(rng, 1, 9)
    return ProgramSpec(
        _code([f"def f({x}):", f"    return {x} // {a} - {b}"]),
        f"divides the number by {a} rounding down, then subtracts {b}",
        _int_input(-20, 50),
    )


def collatz_step(rng):
    x, a, b = _pick(rng, INT_NAMES), _int(rng, 2, 5), _int(rng, 1, 3)
    return ProgramSpec(
        _code([f"def f({x}):", f"    if {x} % 2 == 0:", f"        return {x} // 2", f"    return {x} * {a} + {b}"]),
        f"halves an even number and maps an odd number to {a} times it plus {b}",
        _int_input(0, 60),
    )


def classify(rng):
    x, hi = _pick(rng, INT_NAMES), _int(rng, 5, 20)
    big, small = _pick(rng, (("big", "small"), ("high", "low"), ("large", "tiny")))
    return ProgramSpec(
        _code(
            [
                f"def f({x}):",
                f"    if {x} > {hi}:",
                f"        return '{big}'",
                f"    elif {x} < 0:",
                "        return 'negative'",
                f"    return '{small}'",
            ]
        ),
        f"labels the number as {big} above {hi}, negative below zero, else {small}",
        _int_input(-10, 30),
    )


def clamp(rng):
    x, lo, hi = _pick(rng, INT_NAMES), _int(rng, -5, 3), _int(rng, 5, 15)
    return ProgramSpec(
        _code([f"def f({x}):", f"    return max({lo}, min({x}, {hi}))"]),
        f"clamps the number between {lo} and {hi}",
        _int_input(-20, 30),
    )


# ---- loops on one integer ----


def range_sum(rng):
    x, acc, a, b = _pick(rng, INT_NAMES), _pick(rng, ACC_NAMES), _int(rng, 1, 4), _int(rng, 0, 3)
    term = f"i * {a}" + (f" + {b}" if b else "")
    return ProgramSpec(
        _code(
            [
                f"def f({x}):",
                f"    {acc} = 0",
                f"    for i in range({x}):",
                f"        {acc} += {term}",
                f"    return {acc}",
            ]
        ),
        f"adds up {a} times each number below the input" + (f", plus {b} each time" if b else ""),
        _int_input(0, 12),
    )


def digit_sum(rng):
    x, base = _pick(rng, INT_NAMES), _int(rng, 2, 10)
    return ProgramSpec(
        _code(
            [
                f"def f({x}):",
                "    s = 0",
                f"    {x} = abs({x})",
                f"    while {x} > 0:",
                f"        s += {x} % {base}",
                f"        {x} //= {base}",
                "    return s",
            ]
        ),
        f"adds up the digits of the number written in base {base}",
        _int_input(0, 9999),
    )


def power_loop(rng):
    x, acc, a, start = _pick(rng, INT_NAMES), _pick(rng, ACC_NAMES), _int(rng, 2, 4), _int(rng, 1, 3)
    return ProgramSpec(
        _code(
            [
                f"def f({x}):",
                f"    {acc} = {start}",
                f"    for _ in range({x}):",
                f"        {acc} *= {a}",
                f"    return {acc}",
            ]
        ),
        f"multiplies {start} by {a} as many times as the input says",
        _int_input(0, 8),
    )


def count_divisors(rng):
    x, acc = _pick(rng, INT_NAMES), _pick(rng, ACC_NAMES)
    step, words = _pick(rng, (("1", "counts the divisors of the number"), ("d", "adds up the divisors of the number")))
    return ProgramSpec(
        _code(
            [
                f"def f({x}):",
                f"    {acc} = 0",
                f"    for d in range(1, {x} + 1):",
                f"        if {x} % d == 0:",
                f"            {acc} += {step}",
                f"    return {acc}",
            ]
        ),
        words,
        _int_input(1, 40),
    )


# ---- small recursion ----


def factorial(rng):
    x, base = _pick(rng, INT_NAMES), _int(rng, 1, 3)
    return ProgramSpec(
        _code([f"def f({x}):", f"    if {x} <= 1:", f"        return {base}", f"    return {x} * f({x} - 1)"]),
        "computes the factorial recursively" + ("" if base == 1 else f", times {base}"),
        _int_input(0, 7),
    )


def fibonacci(rng):
    x, c = _pick(rng, INT_NAMES), _int(rng, 0, 2)
    tail = "" if c == 0 else f" + {c}"
    return ProgramSpec(
        _code([f"def f({x}):", f"    if {x} < 2:", f"        return {x}", f"    return f({x} - 1) + f({x} - 2){tail}"]),
        "computes a Fibonacci number recursively" + ("" if c == 0 else f", adding {c} at every step"),
        _int_input(0, 11),
    )


def recursive_sum(rng):
    xs, a = _pick(rng, LIST_NAMES), _int(rng, 1, 4)
    head = f"{xs}[0]" if a == 1 else f"{xs}[0] * {a}"
    return ProgramSpec(
        _code([f"def f({xs}):", f"    if not {xs}:", "        return 0", f"    return {head} + f({xs}[1:])"]),
        "adds up the list recursively" + ("" if a == 1 else f", each number times {a}"),
        lambda rng: repr(_int_list(rng)),
    )


def recursive_reverse(rng):
    s = _pick(rng, STR_NAMES)
    return ProgramSpec(
        _code([f"def f({s}):", f"    if len({s}) <= 1:", f"        return {s}", f"    return f({s}[1:]) + {s}[0]"]),
        "reverses the text recursively",
        lambda rng: repr(_word(rng)),
    )


# ---- lists ----


def sort_list(rng):
    xs = _pick(rng, LIST_NAMES)
    reverse = bool(rng.integers(2))
    body = f"sorted({xs}, reverse=True)" if reverse else f"sorted({xs})"
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {body}"]),
        f"sorts the list in {'descending' if reverse else 'ascending'} order",
        lambda rng: repr(_int_list(rng)),
    )


def filter_map(rng):
    xs, v, a, t = _pick(rng, LIST_NAMES), _pick(rng, ELEM_NAMES), _int(rng, 2, 5), _int(rng, 0, 6)
    cond, which = _pick(
        rng,
        (
            (f"{v} % 2 == 0", "the even numbers"),
            (f"{v} % 2 == 1", "the odd numbers"),
            (f"{v} > {t}", f"the numbers greater than {t}"),
            (f"{v} < {t}", f"the numbers less than {t}"),
        ),
    )
    op = _pick(rng, ("*", "+", "-"))
    action = (
        f"multiplies them by {a}" if op == "*" else (f"adds {a} to them" if op == "+" else f"subtracts {a} from them")
    )
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return [{v} {op} {a} for {v} in {xs} if {cond}]"]),
        f"keeps {which} and {action}",
        lambda rng: repr(_int_list(rng)),
    )


def conditional_sum(rng):
    xs, v, acc, k, c = (
        _pick(rng, LIST_NAMES),
        _pick(rng, ELEM_NAMES),
        _pick(rng, ACC_NAMES),
        _int(rng, 0, 8),
        _int(rng, 1, 3),
    )
    return ProgramSpec(
        _code(
            [
                f"def f({xs}):",
                f"    {acc} = 0",
                f"    for {v} in {xs}:",
                f"        if {v} > {k}:",
                f"            {acc} += {v}",
                "        else:",
                f"            {acc} -= {c}",
                f"    return {acc}",
            ]
        ),
        f"adds the numbers above {k} and subtracts {c} for every other number",
        lambda rng: repr(_int_list(rng)),
    )


def prefix_sums(rng):
    xs, v, acc = _pick(rng, LIST_NAMES), _pick(rng, ELEM_NAMES), _pick(rng, ACC_NAMES)
    return ProgramSpec(
        _code(
            [
                f"def f({xs}):",
                f"    {acc} = []",
                "    running = 0",
                f"    for {v} in {xs}:",
                f"        running += {v}",
                f"        {acc}.append(running)",
                f"    return {acc}",
            ]
        ),
        "returns the running totals of the list",
        lambda rng: repr(_int_list(rng)),
    )


def count_equal(rng):
    xs, k = _pick(rng, LIST_NAMES), _pick(rng, INT_NAMES[:3])
    return ProgramSpec(
        _code(
            [
                f"def f({xs}, {k}):",
                "    count = 0",
                f"    for item in {xs}:",
                f"        if item == {k}:",
                "            count += 1",
                "    return count",
            ]
        ),
        "counts how often the second argument occurs in the list",
        lambda rng: f"{_int_list(rng, 0, 4, 8)!r}, {_int(rng, 0, 4)}",
    )


def rotate(rng):
    xs, k = _pick(rng, LIST_NAMES), _int(rng, 1, 3)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {xs}[{k}:] + {xs}[:{k}]"]),
        f"rotates the list left by {k} places",
        lambda rng: repr(_int_list(rng)),
    )


def spread(rng):
    xs = _pick(rng, LIST_NAMES)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    if not {xs}:", "        return 0", f"    return max({xs}) - min({xs})"]),
        "returns the difference between the largest and the smallest number",
        lambda rng: repr(_int_list(rng)),
    )


def distinct_count(rng):
    xs = _pick(rng, LIST_NAMES)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return len(set({xs}))"]),
        "counts the distinct values in the list",
        lambda rng: repr(_int_list(rng, 0, 5, 8)),
    )


def add_to_each(rng):
    xs, v, k = _pick(rng, LIST_NAMES), _pick(rng, ELEM_NAMES), _pick(rng, ("k", "step", "offset"))
    return ProgramSpec(
        _code([f"def f({xs}, {k}):", f"    return [{v} + {k} for {v} in {xs}]"]),
        "adds the second argument to every number of the list",
        lambda rng: f"{_int_list(rng)!r}, {_int(rng, -5, 9)}",
    )


def pairwise_max(rng):
    xs, ys = _pick(rng, (("a", "b"), ("xs", "ys"), ("left", "right")))
    body, words = _pick(
        rng,
        (
            ("max(p, q)", "takes the larger number at each position of the two lists"),
            ("min(p, q)", "takes the smaller number at each position of the two lists"),
            ("p + q", "adds the two lists position by position"),
            ("p * q", "multiplies the two lists position by position"),
        ),
    )
    return ProgramSpec(
        _code([f"def f({xs}, {ys}):", f"    return [{body} for p, q in zip({xs}, {ys})]"]),
        words,
        lambda rng: f"{_int_list(rng)!r}, {_int_list(rng)!r}",
    )


def every_other(rng):
    xs, start, step = _pick(rng, LIST_NAMES), _int(rng, 0, 2), _int(rng, 2, 3)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {xs}[{start}::{step}]"]),
        f"keeps every element number {step} starting at index {start}",
        lambda rng: repr(_int_list(rng, max_len=8)),
    )


# ---- strings ----


def string_transform(rng):
    s = _pick(rng, STR_NAMES)
    body, words = _pick(
        rng,
        (
            (f"{s}[::-1]", "reverses the text"),
            (f"{s}.upper()", "writes the text in capitals"),
            (f"{s}[::-1].upper()", "reverses the text and writes it in capitals"),
            (f"{s}[1:] + {s}[:1]", "moves the first character to the end"),
            (f"{s} + {s}[::-1]", "appends the reversed text to the text"),
        ),
    )
    return ProgramSpec(_code([f"def f({s}):", f"    return {body}"]), words, lambda rng: repr(_word(rng)))


def count_vowels(rng):
    s, ch = _pick(rng, STR_NAMES), _pick(rng, ("ch", "c", "letter"))
    vowels = _pick(rng, ("aeiou", "aei", "ou"))
    return ProgramSpec(
        _code([f"def f({s}):", f"    return sum(1 for {ch} in {s} if {ch} in '{vowels}')"]),
        f"counts the letters of the text that are one of {', '.join(vowels)}",
        lambda rng: repr(_sentence(rng)),
    )


def double_letters(rng):
    s, ch, k = _pick(rng, STR_NAMES), _pick(rng, ("ch", "c")), _int(rng, 2, 3)
    return ProgramSpec(
        _code([f"def f({s}):", f"    return ''.join({ch} * {k} for {ch} in {s})"]),
        f"repeats every character {k} times",
        lambda rng: repr(_word(rng)),
    )


def reverse_words(rng):
    s, w = _pick(rng, STR_NAMES), _pick(rng, ("w", "word", "part"))
    body, words = _pick(
        rng,
        (
            (f"' '.join({w}[::-1] for {w} in {s}.split())", "reverses each word"),
            (f"' '.join(reversed({s}.split()))", "reverses the order of the words"),
            (f"len({s}.split())", "counts the words"),
            (f"[len({w}) for {w} in {s}.split()]", "lists the length of each word"),
        ),
    )
    return ProgramSpec(_code([f"def f({s}):", f"    return {body}"]), words, lambda rng: repr(_sentence(rng)))


def replace_char(rng):
    s, a, b = _pick(rng, STR_NAMES), _pick(rng, "aeiou"), _pick(rng, "xyz*-")
    return ProgramSpec(
        _code([f"def f({s}):", f"    return {s}.replace('{a}', '{b}')"]),
        f"replaces every {a} with {b}",
        lambda rng: repr(_sentence(rng)),
    )


def caesar(rng):
    s, ch, k = _pick(rng, STR_NAMES), _pick(rng, ("ch", "c")), _int(rng, 1, 5)
    return ProgramSpec(
        _code([f"def f({s}):", f"    return ''.join(chr((ord({ch}) - 97 + {k}) % 26 + 97) for {ch} in {s})"]),
        f"shifts every letter {k} places along the alphabet",
        lambda rng: repr(_pick(rng, WORDS)),
    )


def palindrome(rng):
    s = _pick(rng, STR_NAMES)
    return ProgramSpec(
        _code([f"def f({s}):", f"    return {s} == {s}[::-1]"]),
        "tells whether the text reads the same backwards",
        lambda rng: repr(_word(rng)),
    )


def count_char(rng):
    s, c = _pick(rng, STR_NAMES), _pick(rng, ("c", "ch", "target"))
    return ProgramSpec(
        _code([f"def f({s}, {c}):", f"    return {s}.count({c})"]),
        "counts how often the character occurs in the text",
        lambda rng: f"{_sentence(rng)!r}, {_pick(rng, 'aeiorst')!r}",
    )


def join_sorted(rng):
    s, sep = _pick(rng, STR_NAMES), _pick(rng, ("-", "", ","))
    return ProgramSpec(
        _code([f"def f({s}):", f"    return '{sep}'.join(sorted({s}))"]),
        f"sorts the characters and joins them with {sep!r}",
        lambda rng: repr(_word(rng)),
    )


# ---- dicts ----


def char_counts(rng):
    s, d, ch = _pick(rng, STR_NAMES), _pick(rng, DICT_NAMES), _pick(rng, ("ch", "c"))
    return ProgramSpec(
        _code(
            [
                f"def f({s}):",
                f"    {d} = {{}}",
                f"    for {ch} in {s}:",
                f"        {d}[{ch}] = {d}.get({ch}, 0) + 1",
                f"    return {d}",
            ]
        ),
        "counts each character of the text",
        lambda rng: repr(_word(rng)),
    )


def invert_dict(rng):
    d = _pick(rng, DICT_NAMES)
    return ProgramSpec(
        _code([f"def f({d}):", f"    return {{v: k for k, v in {d}.items()}}"]),
        "swaps the keys and the values",
        lambda rng: repr(_str_dict(rng)),
    )


def dict_summary(rng):
    d = _pick(rng, DICT_NAMES)
    body, words = _pick(
        rng,
        (
            (f"sum({d}.values())", "adds up the values"),
            (f"sorted({d})", "lists the keys in order"),
            (f"sorted({d}.values())", "lists the values in order"),
            (f"len({d})", "counts the keys"),
        ),
    )
    return ProgramSpec(_code([f"def f({d}):", f"    return {body}"]), words, lambda rng: repr(_str_dict(rng)))


def scale_dict(rng):
    d, a, t = _pick(rng, DICT_NAMES), _int(rng, 2, 5), _int(rng, 0, 5)
    return ProgramSpec(
        _code([f"def f({d}):", f"    return {{k: v * {a} for k, v in {d}.items() if v > {t}}}"]),
        f"keeps the entries with values above {t} and multiplies those values by {a}",
        lambda rng: repr(_str_dict(rng)),
    )


def dict_lookup(rng):
    d, key, default = _pick(rng, DICT_NAMES), _pick(rng, ("key", "name")), _int(rng, -1, 0)
    return ProgramSpec(
        _code([f"def f({d}, {key}):", f"    return {d}.get({key}, {default}) * 2"]),
        f"doubles the value stored under the key, or {default} when it is missing",
        lambda rng: f"{_str_dict(rng)!r}, {_pick(rng, LETTERS[:8])!r}",
    )


def squares_dict(rng):
    xs, v = _pick(rng, LIST_NAMES), _pick(rng, ELEM_NAMES)
    return ProgramSpec(
        _code([f"def f({xs}):", f"    return {{{v}: {v} * {v} for {v} in {xs}}}"]),
        "maps each number to its square",
        lambda rng: repr(_int_list(rng, -3, 9, 5)),
    )


ONE_STEP_TEMPLATES: tuple[Template, ...] = (
    compare,
    divisible,
    add_const,
    threshold_label,
    list_length,
    pick_item,
    list_extreme,
    list_contains,
    affix,
    repeat_text,
    has_letter,
    pair_up,
)
MULTI_STEP_TEMPLATES: tuple[Template, ...] = (
    affine,
    modular,
    floor_div,
    collatz_step,
    classify,
    clamp,
    range_sum,
    digit_sum,
    power_loop,
    count_divisors,
    factorial,
    fibonacci,
    recursive_sum,
    recursive_reverse,
    sort_list,
    filter_map,
    conditional_sum,
    prefix_sums,
    count_equal,
    rotate,
    spread,
    distinct_count,
    add_to_each,
    pairwise_max,
    every_other,
    string_transform,
    count_vowels,
    double_letters,
    reverse_words,
    replace_char,
    caesar,
    palindrome,
    count_char,
    join_sorted,
    char_counts,
    invert_dict,
    dict_summary,
    scale_dict,
    dict_lookup,
    squares_dict,
)
TEMPLATES = ONE_STEP_TEMPLATES + MULTI_STEP_TEMPLATES
ONE_STEP_SHARE = 0.4  # of drawn programs; enough for the solver to learn them without starving the harder ones


def draw_program(rng: np.random.Generator) -> ProgramSpec:
    """One program: a one-step template with probability `ONE_STEP_SHARE`, else a multi-step one, the template
    chosen uniformly within its tier and instantiated with the generator's names and constants."""
    tier = "one_step" if rng.random() < ONE_STEP_SHARE else "multi_step"
    templates = ONE_STEP_TEMPLATES if tier == "one_step" else MULTI_STEP_TEMPLATES
    return dataclasses.replace(_pick(rng, templates)(rng), tier=tier)


def draw_inputs(spec: ProgramSpec, count: int, rng: np.random.Generator, max_tries: int = 50) -> list[str]:
    """Up to `count` distinct input texts for `spec` (fewer when its input space is small)."""
    inputs: list[str] = []
    for _ in range(max_tries):
        text = spec.draw_input(rng)
        if text not in inputs:
            inputs.append(text)
            if len(inputs) == count:
                break
    return inputs
