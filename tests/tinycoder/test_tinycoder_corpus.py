"""The tiny coder's corpus: generated programs pass the trainer's validation, and every transcript's response is
accepted by the trainer's parser and graded correct by the sandbox's checkers (nothing here trusts the generator:
outputs come from the sandbox, grading from the executor's check_* methods)."""

import re
from collections import Counter

import numpy as np
import pytest

from azr_jax.selfplay.batches import solve_requests
from azr_jax.selfplay.config import SelfPlayConfig
from azr_jax.selfplay.parsing import CandidateTriplet, FormatError, parse_proposal, parse_solution
from azr_jax.selfplay.prompts import PromptConfig, proposer_prompt, render
from azr_jax.selfplay.tasks import GROUPS, Role, TaskType, normalize_program
from azr_jax.tinycoder.corpus import generate_tasks, load_tasks, save_tasks, transcripts
from azr_jax.tinycoder.programs import TEMPLATES, draw_inputs, draw_program
from azr_jax.trainer.selfplay_step import validate_candidates
from sandbox import Executor, SandboxConfig

PROMPTS = PromptConfig(num_references=2, induction_num_inputs=6)
BANNED = SandboxConfig().policy.banned_words()


@pytest.fixture(scope="module")
def executor():
    with Executor(SandboxConfig(timeout_s=2.0)) as ex:
        yield ex


@pytest.fixture(scope="module")
def tasks(executor):
    return generate_tasks(24, seed=3, executor=executor, prompts=PROMPTS)


def test_programs_are_deterministic_for_a_seed_and_vary_across_seeds():
    def draw(seed):
        rng = np.random.default_rng(seed)
        specs = [draw_program(rng) for _ in range(50)]
        return [(s.program, tuple(draw_inputs(s, 3, rng))) for s in specs]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_every_template_yields_programs_the_sandbox_accepts(executor):
    rng = np.random.default_rng(0)
    candidates = []
    for template in TEMPLATES:
        for _ in range(3):
            spec = template(rng)
            candidates += [CandidateTriplet(spec.program, text) for text in draw_inputs(spec, 2, rng)]
    validated = validate_candidates(executor, candidates)
    rejected = [(c.program, c.input) for c, v in zip(candidates, validated) if v is None]
    assert not rejected


def test_generated_tasks_are_distinct_deterministic_and_respect_the_exclusions(executor, tasks, tmp_path):
    assert len(tasks) == 24
    programs = [normalize_program(t.triplet.program) for t in tasks]
    assert len(set(programs)) == 24  # max_per_program=1 by default
    repeated = generate_tasks(40, seed=5, executor=executor, prompts=PROMPTS, max_per_program=2)
    keys = [(normalize_program(t.triplet.program), t.triplet.input) for t in repeated]
    assert len(set(keys)) == 40 and max(Counter(k for k, _ in keys).values()) <= 2
    assert [t.triplet for t in generate_tasks(24, seed=3, executor=executor, prompts=PROMPTS)] == [
        t.triplet for t in tasks
    ]
    others = generate_tasks(24, seed=4, executor=executor, prompts=PROMPTS, exclude_programs=frozenset(programs))
    assert not set(programs) & {normalize_program(t.triplet.program) for t in others}
    for t in tasks:
        assert len(t.induction.inputs) == PROMPTS.induction_num_inputs and t.induction.program == t.triplet.program
    save_tasks(tmp_path / "tasks.jsonl", tasks)
    assert load_tasks(tmp_path / "tasks.jsonl") == tasks


def test_transcripts_cover_the_six_groups_in_the_trainers_prompt_formats(tasks):
    corpus = transcripts(tasks, PROMPTS, BANNED, seed=0)
    assert len(corpus) == 6 * len(tasks)
    assert [(t.task_type, t.role) for t in corpus[:6]] == list(GROUPS)
    config = SelfPlayConfig(prompts=PROMPTS)
    for i, task in enumerate(tasks):
        by_group = {(t.task_type, t.role): t for t in corpus[6 * i : 6 * i + 6]}
        # Solver prompts: the trainer's own request builder gives the same text.
        assert (
            by_group[TaskType.DEDUCTION, Role.SOLVE].prompt
            == solve_requests(TaskType.DEDUCTION, [task.triplet], config)[0].prompt
        )
        assert (
            by_group[TaskType.ABDUCTION, Role.SOLVE].prompt
            == solve_requests(TaskType.ABDUCTION, [task.triplet], config)[0].prompt
        )
        assert (
            by_group[TaskType.INDUCTION, Role.SOLVE].prompt
            == solve_requests(TaskType.INDUCTION, [task.induction], config)[0].prompt
        )
        induction_prompt = render(proposer_prompt(TaskType.INDUCTION, [task.triplet], BANNED, PROMPTS), PROMPTS)
        assert by_group[TaskType.INDUCTION, Role.PROPOSE].prompt == induction_prompt
        for t in (TaskType.DEDUCTION, TaskType.ABDUCTION):
            prompt = by_group[t, Role.PROPOSE].prompt
            assert prompt.endswith("Assistant: <think>") and f"task proposer ({t.value})" in prompt
            assert 1 <= len(re.findall(r"^Reference \d+:$", prompt, re.MULTILINE)) <= PROMPTS.num_references
            assert ", ".join(BANNED) in prompt


def test_responses_parse_and_grade_correct_through_the_parser_and_the_sandbox(executor, tasks):
    corpus = transcripts(tasks, PROMPTS, BANNED, seed=1)
    proposals, deduction, abduction, induction = [], [], [], []
    for i, task in enumerate(tasks):
        for t in corpus[6 * i : 6 * i + 6]:
            if t.role is Role.PROPOSE:
                program = task.triplet if t.task_type is TaskType.INDUCTION else None
                candidate = parse_proposal(t.task_type, t.response, PROMPTS, program=program)
                assert not isinstance(candidate, FormatError), (t.response, candidate)
                proposals.append((candidate, task.induction if t.task_type is TaskType.INDUCTION else task.triplet))
                continue
            answer = parse_solution(t.task_type, t.response, PROMPTS)
            assert not isinstance(answer, FormatError), (t.response, answer)
            if t.task_type is TaskType.DEDUCTION:
                deduction.append((task.triplet.program, task.triplet.output, answer.text))
            elif t.task_type is TaskType.ABDUCTION:
                abduction.append((task.triplet.program, answer.text, task.triplet.output))
            else:
                held_out = task.induction.held_out_pairs()
                induction.append((answer.text, [x for x, _ in held_out], [y for _, y in held_out]))
    # A proposal re-validated by the trainer's validation gives back the task (gold outputs included).
    assert validate_candidates(executor, [c for c, _ in proposals]) == [task for _, task in proposals]
    assert all(r.correct for r in executor.check_deduction(deduction))
    assert all(r.correct for r in executor.check_abduction(abduction))
    assert all(r.correct for r in executor.check_induction(induction))


def test_a_wrong_answer_is_graded_wrong(executor, tasks):
    """The grading above can fail: a deduction answer taken from another task is wrong."""
    a, b = next((a, b) for a, b in zip(tasks, tasks[1:]) if a.triplet.output != b.triplet.output)
    assert not executor.check_deduction([(a.triplet.program, a.triplet.output, b.triplet.output)])[0].correct
