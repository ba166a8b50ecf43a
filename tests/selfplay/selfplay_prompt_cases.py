"""The prompts the golden tests pin down, rendered from a fixed buffer.

Regenerate the stored files after an intended prompt change, then read the diff:

    /work/venv/bin/python tests/selfplay/selfplay_prompt_cases.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"
if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from azr_jax.selfplay.prompts import PromptConfig, proposer_prompt, render, solver_prompt  # noqa: E402
from azr_jax.selfplay.tasks import InductionTask, TaskType, Triplet, identity_seed  # noqa: E402

# A fixed banned-word list, so the golden files do not change when the sandbox policy grows; a separate
# test checks that the default prompts show the policy's list.
BANNED = ("random", "time", "os", "open", "eval")

REFERENCES = (
    identity_seed(TaskType.DEDUCTION),
    Triplet("def f(xs):\n    return sorted(xs)[::-1]", "[3, 1, 2]", "[3, 2, 1]"),
    Triplet("import math\n\ndef f(n):\n    return math.factorial(n) % 7", "5", "1", ("import math",)),
    Triplet("def f(s, k):\n    return s[k:] + s[:k]", "'rotate', 2", "'tatero'"),
    Triplet(
        "def f(d):\n    return sum(v for k, v in d.items() if k.startswith('a'))", "{'ab': 2, 'b': 5, 'ac': 1}", "3"
    ),
    Triplet(
        "def f(n):\n    total = 0\n    while n:\n        total += n % 10\n        n //= 10\n    return total",
        "9045",
        "18",
    ),
)

INDUCTION = InductionTask(
    program="def f(xs):\n    return [x * 2 for x in xs if x % 2]",
    inputs=("[1, 2, 3]", "[]", "[5]", "[2, 4]", "[7, 8, 9]", "[0]", "[11, 13]", "[-1, -2]", "[3, 3]", "[10, 15]"),
    outputs=("[2, 6]", "[]", "[10]", "[]", "[14, 18]", "[]", "[22, 26]", "[-2]", "[6, 6]", "[30]"),
    message="Think about which numbers survive and what happens to them.",
)


def fake_chat_template(messages: list[dict[str, str]]) -> str:
    """A Qwen-style template with a generation prompt, standing in for `tokenizer.apply_chat_template`."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def cases() -> dict[str, str]:
    base = PromptConfig()
    chat = PromptConfig(template="chat")
    no_prefill = PromptConfig(prefill_think=False)
    return {
        "propose_deduction": render(proposer_prompt(TaskType.DEDUCTION, REFERENCES, BANNED, base), base),
        "propose_abduction": render(proposer_prompt(TaskType.ABDUCTION, REFERENCES, BANNED, base), base),
        "propose_induction": render(proposer_prompt(TaskType.INDUCTION, REFERENCES[1:2], BANNED, base), base),
        "solve_deduction": render(solver_prompt(TaskType.DEDUCTION, REFERENCES[3]), base),
        "solve_abduction": render(solver_prompt(TaskType.ABDUCTION, REFERENCES[4]), base),
        "solve_induction": render(solver_prompt(TaskType.INDUCTION, INDUCTION), base),
        "propose_abduction_chat": render(
            proposer_prompt(TaskType.ABDUCTION, REFERENCES[:2], BANNED, chat), chat, fake_chat_template
        ),
        "solve_induction_chat": render(solver_prompt(TaskType.INDUCTION, INDUCTION), chat, fake_chat_template),
        "solve_deduction_no_prefill": render(solver_prompt(TaskType.DEDUCTION, REFERENCES[2]), no_prefill),
    }


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.txt"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name, text in cases().items():
        golden_path(name).write_text(text, encoding="utf-8")
        print(f"wrote {golden_path(name)}")
