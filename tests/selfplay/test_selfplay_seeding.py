import re
from pathlib import Path

import numpy as np
import pytest

from azr_jax.selfplay.buffer import TaskBuffers, load_seed_file
from azr_jax.selfplay.parsing import CandidateInduction, CandidateTriplet, FormatError, parse_proposal
from azr_jax.selfplay.prompts import PromptConfig, render, solver_prompt
from azr_jax.selfplay.seeding import SeedingConfig, SeedingError, load_seed_files, seed_buffers
from azr_jax.selfplay.tasks import IDENTITY_PROGRAM, InductionTask, TaskType, Triplet

SEED_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "azr_seed"
TRIPLETS = SEED_DIR / "3b_coder_seed_io.jsonl"
INDUCTION_SEEDS = SEED_DIR / "3b_coder_code_f_seed_io.jsonl"
BANNED = ("random", "os")
PROMPTS = PromptConfig()


def fence(kind, text):
    return f"```{kind}\n{text}\n```"


class FakeModel:
    """Answers proposer prompts: well-formed, malformed, invalid ("bad") and repeated proposals in turn."""

    def __init__(self):
        self.calls, self.counter = [], 0

    def __call__(self, prompts):
        self.calls.append(list(prompts))
        return [self.respond(p) for p in prompts]

    def respond(self, prompt):
        self.counter += 1
        kind = self.counter % 5
        if kind == 0:
            return "I will just write code: def f(x): return x"  # format error
        if "proposer (induction)" in prompt:
            inputs = [f"{self.counter * 100 + i}" for i in range(10)]
            if kind == 1:
                inputs[3] = "'bad'"
            blocks = "\n".join(fence("input", i) for i in inputs)
            return f"ok</think> <answer>{blocks}\n{fence('message', 'Numbers in, numbers out.')}</answer>"
        number = self.counter - 1 if kind == 3 else self.counter  # kind 3 repeats the previous (valid) program
        body = "bad" if kind == 1 else f"x + {number}"
        program = f"def f(x):\n    # proposal {self.counter}\n    return {body}"
        return f"ok</think> <answer>{fence('python', program)}\n{fence('input', '3')}</answer>"


def validate_triplets(candidates):
    assert all(isinstance(c, CandidateTriplet) for c in candidates)
    return [None if "bad" in c.program else c.complete(f"out({c.input})") for c in candidates]


def validate_induction(candidates):
    assert all(isinstance(c, CandidateInduction) for c in candidates)
    return [
        None if any("bad" in i for i in c.inputs) else c.complete([f"out({i})" for i in c.inputs]) for c in candidates
    ]


def run(buffers, model, target=12, batch=5, max_rounds=50):
    return seed_buffers(
        buffers,
        model,
        validate_triplets,
        validate_induction,
        np.random.default_rng(0),
        SeedingConfig(target_size=target, batch_size=batch, max_rounds=max_rounds),
        PROMPTS,
        BANNED,
    )


def test_seeding_fills_every_buffer_with_valid_distinct_tasks():
    buffers, model = TaskBuffers(), FakeModel()
    reports = run(buffers, model)
    deduction = buffers[TaskType.DEDUCTION]
    assert len(deduction) == 12 and deduction[0].program == IDENTITY_PROGRAM
    assert buffers[TaskType.ABDUCTION].tasks == deduction.tasks
    assert len(buffers[TaskType.INDUCTION]) == 12
    assert len({t.dedup_key() for t in deduction.tasks}) == 12
    assert all("bad" not in t.program for t in deduction.tasks)
    for t in (TaskType.DEDUCTION, TaskType.INDUCTION):
        r = reports[t]
        assert r.proposals == r.rounds * 5
        assert r.proposals == r.format_errors + r.invalid + r.duplicates + r.surplus + r.added
        assert r.format_errors > 0 and r.invalid > 0 and r.added == 11
    assert reports[TaskType.DEDUCTION].duplicates > 0


def test_seeding_prompts_show_references_from_the_growing_seed_set():
    buffers, model = TaskBuffers(), FakeModel()
    run(buffers, model)
    first, later = model.calls[0], model.calls[2]
    assert ["proposer (deduction)" in p for p in first] == [True, False, True, False, True]
    assert ["proposer (abduction)" in p for p in first] == [False, True, False, True, False]
    assert all(len(re.findall(r"^Reference \d+:$", p, re.M)) == 1 for p in first)  # only the identity seed
    assert all(len(re.findall(r"^Reference \d+:$", p, re.M)) >= 2 for p in later)
    induction_prompts = [p for call in model.calls for p in call if "proposer (induction)" in p]
    programs = {t.program for t in buffers[TaskType.DEDUCTION].tasks}
    assert induction_prompts and all(any(fence("python", prog) in p for prog in programs) for p in induction_prompts)
    for task in buffers[TaskType.INDUCTION].tasks[1:]:
        assert task.program in programs and len(task.inputs) == 10


def test_seeding_gives_up_with_a_clear_error():
    def useless(prompts):
        return ["no format"] * len(prompts)

    with pytest.raises(SeedingError, match=r"seeding deduction: 1 of 12 tasks after 3 rounds"):
        run(TaskBuffers(), useless, max_rounds=3)


def test_full_buffers_are_not_reseeded():
    buffers, model = TaskBuffers(), FakeModel()
    run(buffers, model, target=1)
    assert model.calls == []


def test_generate_must_answer_every_prompt():
    with pytest.raises(ValueError, match="completions for 5 prompts"):
        run(TaskBuffers(), lambda prompts: ["x"])


# --- the real public seed files ---

needs_seed = pytest.mark.skipif(
    not TRIPLETS.exists() or not INDUCTION_SEEDS.exists(), reason=f"no seed data in {SEED_DIR}"
)


@needs_seed
def test_real_seed_files_load_into_the_buffers():
    buffers = TaskBuffers()
    added = load_seed_files(buffers, TRIPLETS, INDUCTION_SEEDS)
    # The triplet file starts with the identity seed, already in the buffers: 255 new distinct tasks.
    assert added[TaskType.DEDUCTION] == added[TaskType.ABDUCTION] == 255
    assert added[TaskType.INDUCTION] == 255
    assert len(buffers[TaskType.DEDUCTION]) == len(buffers[TaskType.INDUCTION]) == 256
    sizes = [len(t.inputs) for t in buffers[TaskType.INDUCTION].tasks]
    assert sizes.count(10) == 255
    # seeding has nothing left to do at N = 256
    model = FakeModel()
    run(buffers, model, target=256)
    assert model.calls == []


@needs_seed
def test_real_seeds_round_trip_through_the_proposal_parser():
    """A proposer that wrote exactly a seed task gets it back, with the imports the public code recorded."""
    for task in load_seed_file(TRIPLETS, TaskType.DEDUCTION):
        response = f"t</think> <answer>{fence('python', task.program)}\n{fence('input', task.input)}</answer>"
        parsed = parse_proposal(TaskType.DEDUCTION, response, PROMPTS)
        assert not isinstance(parsed, FormatError), (task.program, parsed)
        assert (parsed.program, parsed.input) == (task.program.strip(), task.input.strip())
        assert set(parsed.imports) == set(task.imports)


@needs_seed
def test_real_induction_seeds_render_solver_prompts_without_their_program():
    for task in load_seed_file(INDUCTION_SEEDS, TaskType.INDUCTION):
        assert isinstance(task, InductionTask)
        text = render(solver_prompt(TaskType.INDUCTION, task), PROMPTS)
        assert task.message in text and f"```python\n{task.program}\n```" not in text
        assert len(re.findall(r"^Example \d+:$", text, re.M)) == len(task.inputs) // 2
        for i, (inp, out) in enumerate(task.shown_pairs()):
            assert f"Example {i + 1}:\n{fence('input', inp)}\n{fence('output', out)}" in text


@needs_seed
def test_real_triplets_render_solver_prompts():
    for task in load_seed_file(TRIPLETS, TaskType.DEDUCTION)[:50]:
        assert isinstance(task, Triplet)
        deduction = solver_prompt(TaskType.DEDUCTION, task)
        abduction = solver_prompt(TaskType.ABDUCTION, task)
        assert fence("input", task.input) in deduction and fence("output", task.output) not in deduction
        assert fence("output", task.output) in abduction and fence("input", task.input) not in abduction
