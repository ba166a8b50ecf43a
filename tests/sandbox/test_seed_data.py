"""Real data: the executor reproduces the gold outputs of the public AZR seed files (compared by value).

Every difference must fall into one of the documented categories (docs/sandbox.md, "Seed data"):
  banned          the program imports os or timeit, which our policy refuses (the paper's list does not)
  truncated       the public executor cut long reprs with "..."; we keep them (or refuse them past the cap)
  function_state  the public executor reused one process, so state kept on `f` (hasattr(f, ...)) leaked
                  between runs and its gold output is empty; a fresh process per run gives the real value
  address         the repr carries a memory address (<generator object f at 0x...>): nondeterministic
  hash_order      the same characters in another order: iteration order of a set of strings, which
                  depends on the hash seed the public executor happened to run with
"""

import collections
import json
from pathlib import Path

import pytest

from sandbox import Status

SEED_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "azr_seed"
pytestmark = pytest.mark.skipif(not (SEED_DIR / "3b_coder_seed_io.jsonl").exists(), reason="no seed data folder")


def load(name):
    with open(SEED_DIR / name) as lines:
        return [json.loads(line) for line in lines]


def category(program: str, gold: str, result) -> str | None:
    ours = result.output or ""
    if result.status is Status.BANNED and any(f"import {m}" in program for m in ("os", "timeit")):
        return "banned"
    if "..." in gold and (result.status is Status.OUTPUT_TOO_LARGE or ours.startswith(gold.split("...")[0][:40])):
        return "truncated"
    if gold == "" and "hasattr(f" in program and result.ok:
        return "function_state"
    if " at 0x" in (result.error or "") + ours:  # nondeterministic under validate(), varies under run()
        return "address"
    if result.ok and sorted(gold) == sorted(ours):
        return "hash_order"
    return None


def compare(executor, programs, golds, results):
    checks = executor.check_deduction([(p, g, r.output or "") for p, g, r in zip(programs, golds, results)])
    counts, unexplained = collections.Counter(), []
    for program, gold, result, check in zip(programs, golds, results, checks):
        if result.ok and check.correct:
            counts["match"] += 1
        elif kind := category(program, gold, result):
            counts[kind] += 1
        else:
            unexplained.append((program[:80], gold[:80], result))
    return counts, unexplained


def test_deduction_seeds_reproduce_gold_outputs(seed_executor):
    rows = load("3b_coder_seed_io.jsonl")
    programs, golds = [r["snippet"] for r in rows], [r["output"] for r in rows]
    assert sum("\n" in r["input"] for r in rows) >= 9  # multi-line inputs are part of the data
    results = seed_executor.validate([(r["snippet"], r["input"]) for r in rows])
    counts, unexplained = compare(seed_executor, programs, golds, results)
    assert not unexplained, unexplained
    assert counts["match"] >= 245, counts  # measured: 245 of 256; the rest documented above
    assert counts["banned"] == 3 and counts["function_state"] == 2 and counts["address"] == 4, counts


def test_induction_seeds_reproduce_their_outputs(seed_executor):
    rows = load("3b_coder_code_f_seed_io.jsonl")
    programs = [r["snippet"] for r in rows for _ in r["inputs"]]
    golds = [o for r in rows for o in r["outputs"]]
    results = seed_executor.run([(r["snippet"], i) for r in rows for i in r["inputs"]])
    counts, unexplained = compare(seed_executor, programs, golds, results)
    assert not unexplained, unexplained
    # Measured: 2419 of 2556 (6 programs return generators or reversed objects, 2 import os, ...).
    assert counts["match"] >= 2419, counts


def test_seed_tasks_answered_correctly_are_graded_correct_in_every_role(seed_executor):
    """Honest controls for the verdicts: each seed's own input is a correct abduction answer, and each
    program a correct induction answer to its own pairs, whenever the executor accepted the task."""
    rows = load("3b_coder_seed_io.jsonl")
    gold = seed_executor.validate([(r["snippet"], r["input"]) for r in rows])
    valid = [(r, g.output) for r, g in zip(rows, gold) if g.ok]
    abduction = seed_executor.check_abduction([(r["snippet"], r["input"], output) for r, output in valid])
    wrong = collections.Counter(c.error for (c,) in zip(abduction) if not c.correct)
    # Measured: 4 of the 256 inputs are expressions, not data (`5 + 6 + 3 + 2`, `f(5)`...), and one gold output
    # holds dict views (`dict_items([...])`, which the public code cannot evaluate either); every other valid
    # task's own input is graded correct.
    assert wrong == {
        "the input is not an argument list of plain data": 4,
        "the gold output is not plain data, so no value can be shown equal to it": 1,
    }, wrong

    rows = load("3b_coder_code_f_seed_io.jsonl")
    runs = seed_executor.run([(r["snippet"], i) for r in rows for i in r["inputs"]])
    jobs, start = [], 0
    for r in rows:
        results = runs[start : start + len(r["inputs"])]
        start += len(r["inputs"])
        if all(x.ok and " at 0x" not in x.output for x in results):
            jobs.append((r["snippet"], r["inputs"], [x.output for x in results]))
    induction = seed_executor.check_induction(jobs)
    assert len(jobs) >= 240, len(jobs)
    assert [program[:60] for (program, _, _), c in zip(jobs, induction) if not c.correct] == []
