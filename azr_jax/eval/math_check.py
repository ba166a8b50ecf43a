"""Math benchmarks: the final answer of a response, and its equivalence with the gold answer.

The answer is in the reply (the last <answer> tag): its last `\\boxed{...}` (or `\\fbox{...}`), else its text;
without a reply, the last box of the response.
Equivalence is `math-verify`'s (`verify(parse(gold), parse(answer))`: fractions, roots, intervals, sets,
units and thousands separators are understood). math-verify parses with sympy, whose expression parser
evaluates text, so the check runs in the jailed workers, never in this process; the workers import
math_verify once at start (SandboxConfig.preload_modules) so each check costs a fork, not an import.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandbox import Executor

PRELOAD = ("math_verify",)  # what the sandbox workers must import for `equivalence_script`
_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
# math-verify's own limit per parse and per comparison, inside the jail (the script's wall clock is the backstop).
PARSE_TIMEOUT_S = 5


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} with balanced braces; None when there is none (or it never closes)."""
    for match in reversed(list(_BOX.finditer(text))):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{" and text[i - 1] != "\\":
                depth += 1
            elif text[i] == "}" and text[i - 1] != "\\":
                depth -= 1
                if depth == 0:
                    return text[start:i].strip()
    return None


def extract_answer(response: str) -> str | None:
    """The final answer of a response. The reply (the last <answer>...</answer>) decides when there is one:
    its last \\boxed{}, else its whole text; without a reply, the last \\boxed{} of the response."""
    tags = _ANSWER_TAG.findall(response)
    if not tags:
        return last_boxed(response)
    boxed = last_boxed(tags[-1])
    answer = (boxed if boxed is not None else tags[-1]).strip().strip("$").strip()
    return answer or None


def equivalence_script(gold: str, answer: str) -> str:
    """A script that passes exactly when math-verify finds `answer` equivalent to `gold` (both LaTeX)."""
    gold, answer = gold.strip().strip("$"), answer.strip().strip("$")
    return (
        "from math_verify import parse, verify\n"
        f"gold = parse({'$' + gold + '$'!r}, parsing_timeout={PARSE_TIMEOUT_S})\n"
        f"answer = parse({'$' + answer + '$'!r}, parsing_timeout={PARSE_TIMEOUT_S})\n"
        f"assert gold, 'math-verify could not read the gold answer'\n"
        f"assert verify(gold, answer, timeout_seconds={PARSE_TIMEOUT_S}), 'not equivalent'\n"
    )


def check_answers(
    executor: Executor, golds: Sequence[str], answers: Sequence[str | None], timeout_s: float
) -> list[dict]:
    """One record per (gold, extracted answer) in input order: {"passed", "verdict", "error"}; a missing answer
    fails without running anything. The executor's workers must have PRELOAD imported."""
    runnable = [i for i, answer in enumerate(answers) if answer]
    results = executor.run_scripts([equivalence_script(golds[i], answers[i]) for i in runnable], timeout_s=timeout_s)
    records = [
        {"passed": False, "verdict": "no_answer", "error": "no \\boxed{} or <answer> in the response"} for _ in answers
    ]
    for i, result in zip(runnable, results):
        if result.ok:
            records[i] = {"passed": True, "verdict": "pass", "error": None}
        else:
            records[i] = {
                "passed": False,
                "verdict": "timeout" if result.status.value == "timeout" else "fail",
                "error": result.error,
            }
    return records
