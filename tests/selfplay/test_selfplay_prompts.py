import re

import numpy as np
import pytest
from selfplay_prompt_cases import BANNED, INDUCTION, REFERENCES, cases, fake_chat_template, golden_path

from azr_jax.selfplay import SelfPlayConfig, TaskBuffers, proposal_requests, solve_requests
from azr_jax.selfplay.prompts import PromptConfig, proposer_prompt, render, solver_prompt
from azr_jax.selfplay.tasks import TaskType
from sandbox.policy import DEFAULT_POLICY


def _count_references(text):
    return len(re.findall(r"^Reference \d+:$", text, re.MULTILINE))


@pytest.mark.parametrize("name", sorted(cases()))
def test_prompt_matches_golden_file(name):
    expected = golden_path(name).read_text(encoding="utf-8")
    assert cases()[name] == expected, f"{name} changed; if intended, regenerate (see selfplay_prompt_cases.py)"


def test_every_golden_file_is_a_case():
    stored = {p.stem for p in golden_path("x").parent.glob("*.txt")}
    assert stored == set(cases())


def test_base_template_is_a_plain_conversation_ending_in_prefilled_think():
    text = cases()["solve_deduction"]
    assert "\nUser: ## Role: solver (deduction)" in text
    assert text.endswith("\nAssistant: <think>")
    assert cases()["solve_deduction_no_prefill"].endswith("\nAssistant: ")


def test_chat_template_wraps_the_task_and_prefills_think():
    text = cases()["solve_induction_chat"]
    assert text.startswith("<|im_start|>user\n") and text.endswith("<|im_start|>assistant\n<think>")
    assert "User:" not in text


def test_chat_template_without_callable_is_a_clear_error():
    with pytest.raises(ValueError, match="chat_template"):
        render("task", PromptConfig(template="chat"))


def test_proposer_prompt_shows_all_k_references_and_banned_words():
    text = cases()["propose_deduction"]
    for ref in REFERENCES:
        assert f"```python\n{ref.program}\n```\n```input\n{ref.input}\n```\n```output\n{ref.output}\n```" in text
    assert _count_references(text) == 6
    assert "random, time, os, open, eval." in text


def test_default_prompts_show_the_sandbox_policy_banned_words():
    buffers = TaskBuffers()
    request = proposal_requests(TaskType.ABDUCTION, buffers, 1, np.random.default_rng(0), SelfPlayConfig())[0]
    assert ", ".join(DEFAULT_POLICY.banned_words()) in request.prompt


def test_induction_solver_sees_five_pairs_and_message_but_not_the_program():
    text = solver_prompt(TaskType.INDUCTION, INDUCTION)
    shown, held_out = INDUCTION.shown_pairs(), INDUCTION.held_out_pairs()
    assert len(shown) == 5 and len(held_out) == 5
    for inp, out in shown:
        assert f"```input\n{inp}\n```\n```output\n{out}\n```" in text
    for inp, _ in held_out:
        assert f"```input\n{inp}\n```" not in text
    assert INDUCTION.program not in text and INDUCTION.message in text


def test_induction_proposer_needs_exactly_one_program():
    with pytest.raises(ValueError, match="exactly one program"):
        proposer_prompt(TaskType.INDUCTION, REFERENCES[:2], BANNED, PromptConfig())


def test_proposal_requests_draw_k_distinct_references_from_the_buffer():
    buffers = TaskBuffers()
    buffers[TaskType.DEDUCTION].add(
        REFERENCES[1:] + (REFERENCES[1].__class__("def f(x):\n    return -x", "4", "-4"),), step=1
    )
    rng = np.random.default_rng(3)
    requests = proposal_requests(TaskType.DEDUCTION, buffers, 20, rng, SelfPlayConfig())
    for r in requests:
        assert len(r.references) == 6 and len(set(r.references)) == 6
        assert _count_references(r.prompt) == 6
        assert all(ref in buffers[TaskType.DEDUCTION].tasks for ref in r.references)


def test_small_buffer_shows_all_it_has():
    requests = proposal_requests(TaskType.DEDUCTION, TaskBuffers(), 2, np.random.default_rng(0), SelfPlayConfig())
    assert all(len(r.references) == 1 and _count_references(r.prompt) == 1 for r in requests)


def test_induction_requests_use_one_program_from_deduction_or_abduction():
    buffers = TaskBuffers()
    buffers[TaskType.ABDUCTION].add(REFERENCES[1:3], step=1)
    requests = proposal_requests(TaskType.INDUCTION, buffers, 10, np.random.default_rng(0), SelfPlayConfig())
    pool = buffers[TaskType.DEDUCTION].tasks + buffers[TaskType.ABDUCTION].tasks
    for r in requests:
        assert len(r.references) == 1 and r.references[0] in pool
        assert f"```python\n{r.references[0].program}\n```" in r.prompt


def test_solve_requests_render_with_the_chat_template():
    config = SelfPlayConfig(prompts=PromptConfig(template="chat"))
    (request,) = solve_requests(TaskType.DEDUCTION, REFERENCES[:1], config, fake_chat_template)
    assert request.prompt.startswith("<|im_start|>user") and request.task == REFERENCES[0]


def test_requirements_follow_the_executor_defaults():
    from sandbox.config import SandboxConfig

    sandbox = SandboxConfig()
    assert PromptConfig().time_limit_s == sandbox.timeout_s
    assert PromptConfig().allow_helpers == sandbox.allow_helpers
    strict = proposer_prompt(TaskType.DEDUCTION, REFERENCES[:1], BANNED, PromptConfig())
    relaxed = proposer_prompt(
        TaskType.DEDUCTION, REFERENCES[:1], BANNED, PromptConfig(allow_helpers=True, time_limit_s=2.5)
    )
    assert "Define nothing else at the top level" in strict and "within 5 seconds" in strict
    assert "Helper functions or classes are allowed" in relaxed and "within 2.5 seconds" in relaxed
