import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selfplay_prompt_cases import INDUCTION, REFERENCES

from azr_jax.selfplay.buffer import BufferConfig, BufferError, TaskBuffer, TaskBuffers
from azr_jax.selfplay.tasks import TaskType, Triplet, identity_seed


def numbered(n, start=0):
    return [Triplet(f"def f(x):\n    return x + {i}", "1", str(1 + i)) for i in range(start, start + n)]


# --- contents and deduplication ---


def test_buffers_start_with_the_identity_seed():
    buffers = TaskBuffers()
    for t in TaskType:
        assert buffers[t].tasks == (identity_seed(t),) and list(buffers[t].steps) == [0]
    assert buffers[TaskType.DEDUCTION][0].program == "def f(a):\n    return a"
    assert buffers[TaskType.DEDUCTION][0].input == '"Hello world"'


def test_normalized_dedup_ignores_comments_spacing_and_quote_style():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    base = Triplet("def f(s):\n    return s[::-1]", "'ab', [1,2]", "x")
    variants = [
        Triplet("def f(s):  # reverse\n\n    return s[ : : -1]\n", '"ab", [1, 2]', "x"),
        Triplet("def f(s):\n    return s[::-1]", "'ab',[1,2]", "another output text"),
    ]
    different = [
        Triplet("def f(s):\n    return s[::-1]", "'ab', [1, 3]", "x"),
        Triplet("def f(s):\n    return s[::1]", "'ab', [1, 2]", "x"),
    ]
    added = buffer.add([base, *variants, *different, base], step=1)
    assert added.tolist() == [True, False, False, True, True, False]
    assert len(buffer) == 3 and buffer.contains(variants[0])


def test_exact_dedup_and_no_dedup():
    base = Triplet("def f(s):\n    return s", "1", "1")
    spaced = Triplet("def f(s):\n    return  s", "1", "1")
    exact = TaskBuffer(TaskType.DEDUCTION, BufferConfig(dedup="exact"))
    assert exact.add([base, spaced, base], step=0).tolist() == [True, True, False]
    off = TaskBuffer(TaskType.DEDUCTION, BufferConfig(dedup="off"))
    assert off.add([base, base], step=0).tolist() == [True, True] and not off.contains(base)


def test_induction_dedup_uses_program_and_inputs():
    buffer = TaskBuffer(TaskType.INDUCTION)
    relabelled = type(INDUCTION)(INDUCTION.program, INDUCTION.inputs, INDUCTION.outputs, "another message")
    assert buffer.add([INDUCTION, relabelled], step=0).tolist() == [True, False]


def test_wrong_record_type_is_rejected():
    with pytest.raises(TypeError, match="deduction buffer takes Triplet"):
        TaskBuffer(TaskType.DEDUCTION).add([INDUCTION], step=0)


def test_max_tasks_stops_accepting():
    buffer = TaskBuffer(TaskType.ABDUCTION, BufferConfig(max_tasks=3))
    assert buffer.add(numbered(5), step=0).tolist() == [True, True, True, False, False]
    assert buffer.add(numbered(1, start=10), step=1).tolist() == [False]


# --- journal: append-only JSONL that survives a crash mid-write ---


def test_journal_round_trip(tmp_path):
    path = tmp_path / "deduction.jsonl"
    buffer = TaskBuffer(TaskType.DEDUCTION, journal=path)
    buffer.add(numbered(3), step=1)
    buffer.add(numbered(2, start=3) + [REFERENCES[2]], step=4)
    reopened = TaskBuffer(TaskType.DEDUCTION, journal=path)
    assert reopened.tasks == buffer.tasks and reopened.steps.tolist() == [1, 1, 1, 4, 4, 4]
    assert reopened[5].imports == ("import math",)
    assert not reopened.add(numbered(1), step=5).any()  # keys were rebuilt from the journal


def test_torn_last_line_is_skipped_with_a_warning_and_nothing_before_is_lost(tmp_path):
    path = tmp_path / "abduction.jsonl"
    TaskBuffer(TaskType.ABDUCTION, journal=path).add(numbered(4), step=2)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"step": 3, "snippet": "def f(x):\\n    ret')  # the crash cut this line short
    with pytest.warns(UserWarning, match=r"abduction.jsonl:5: skipping a torn last line"):
        recovered = TaskBuffer(TaskType.ABDUCTION, journal=path)
    assert recovered.tasks == tuple(numbered(4))
    assert path.read_bytes() == whole  # the torn tail is cut, so the next append starts on a fresh line
    recovered.add(numbered(1, start=9), step=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = TaskBuffer(TaskType.ABDUCTION, journal=path)
    assert again.tasks == tuple(numbered(4) + numbered(1, start=9)) and again.steps.tolist() == [2, 2, 2, 2, 5]


def test_torn_line_ending_in_newline_is_also_skipped(tmp_path):
    path = tmp_path / "d.jsonl"
    TaskBuffer(TaskType.DEDUCTION, journal=path).add(numbered(2), step=0)
    path.write_bytes(path.read_bytes() + b'{"step": 1, "snippet"\n')
    with pytest.warns(UserWarning, match="torn last line"):
        assert len(TaskBuffer(TaskType.DEDUCTION, journal=path)) == 2


def test_corrupt_line_in_the_middle_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "d.jsonl"
    TaskBuffer(TaskType.DEDUCTION, journal=path).add(numbered(3), step=0)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = '{"step": 0, "snippet": 5}\n'
    path.write_text("".join(lines))
    with pytest.raises(BufferError, match=r"d.jsonl:2: field 'snippet': expected a string"):
        TaskBuffer(TaskType.DEDUCTION, journal=path)


# --- checkpoint state ---


def test_state_dict_is_plain_data_and_restores_exactly(tmp_path):
    buffers = TaskBuffers(journal_dir=tmp_path / "a")
    buffers[TaskType.DEDUCTION].add(numbered(5), step=3)
    buffers[TaskType.INDUCTION].add([INDUCTION], step=4)
    state = json.loads(json.dumps(buffers.state_dict()))  # survives JSON
    restored = TaskBuffers(journal_dir=tmp_path / "b", seed_identity=False)
    restored.load_state_dict(state)
    for t in TaskType:
        assert restored[t].tasks == buffers[t].tasks
        assert restored[t].steps.tolist() == buffers[t].steps.tolist()
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    a = buffers[TaskType.DEDUCTION].sample_indices(4, rng_a, current_step=3)
    b = restored[TaskType.DEDUCTION].sample_indices(4, rng_b, current_step=3)
    assert a.tolist() == b.tolist()
    assert not restored[TaskType.DEDUCTION].add(numbered(1), step=9).any()
    # the journal now matches the checkpoint, so reopening it gives the same buffer
    assert (
        TaskBuffer(TaskType.INDUCTION, journal=tmp_path / "b" / "induction.jsonl").tasks
        == buffers[TaskType.INDUCTION].tasks
    )


def test_restoring_a_checkpoint_drops_journal_lines_written_after_it(tmp_path):
    path = tmp_path / "d.jsonl"
    buffer = TaskBuffer(TaskType.DEDUCTION, journal=path)
    buffer.add(numbered(2), step=1)
    checkpoint = buffer.state_dict()
    buffer.add(numbered(2, start=5), step=2)  # work after the checkpoint, then a crash
    resumed = TaskBuffer(TaskType.DEDUCTION, journal=path)
    resumed.load_state_dict(checkpoint)
    assert TaskBuffer(TaskType.DEDUCTION, journal=path).tasks == tuple(numbered(2))


@pytest.mark.parametrize(
    "state, message",
    [
        ({"version": 99}, "unsupported version"),
        ({"version": 1, "task_type": "abduction", "records": [], "steps": []}, "task_type 'abduction'"),
        ({"version": 1, "task_type": "deduction", "records": [{}], "steps": []}, "same length"),
        (
            {"version": 1, "task_type": "deduction", "records": [{"snippet": "x"}], "steps": [0]},
            "missing field 'input'",
        ),
    ],
)
def test_bad_state_is_a_clear_error(state, message):
    with pytest.raises(BufferError, match=message):
        TaskBuffer(TaskType.DEDUCTION).load_state_dict(state)


# --- sampling statistics (fixed seeds; tolerances are several standard errors) ---


def test_references_are_k_distinct_and_uniform():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    buffer.add(numbered(10), step=0)
    rng = np.random.default_rng(0)
    counts = np.zeros(10)
    draws = 20000
    for _ in range(draws):
        refs = buffer.sample_references(6, rng)
        assert len(set(refs)) == 6
        counts[[buffer.tasks.index(r) for r in refs]] += 1
    # each task is in a draw with probability 6/10; standard error 0.0035, tolerance 0.02
    np.testing.assert_allclose(counts / draws, 0.6, atol=0.02)
    assert len(buffer.sample_references(6, rng)) == 6
    small = TaskBuffer(TaskType.DEDUCTION)
    small.add(numbered(2), step=0)
    assert sorted(small.sample_references(6, rng), key=str) == sorted(small.tasks, key=str)


def test_solver_batch_takes_all_newest_first_and_fills_uniformly_from_older():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    buffer.add(numbered(20), step=3)
    buffer.add(numbered(3, start=100), step=10)
    rng = np.random.default_rng(1)
    counts = np.zeros(len(buffer))
    draws = 4000
    for _ in range(draws):
        idx = buffer.sample_indices(8, rng, current_step=10)
        assert len(idx) == 8 and len(set(idx.tolist())) == 8
        assert set(range(20, 23)) <= set(idx.tolist())
        counts[idx] += 1
    # each of the 20 older tasks fills one of 5 places: probability 0.25, standard error 0.007, tolerance 0.03
    np.testing.assert_allclose(counts[:20] / draws, 0.25, atol=0.03)


def test_solver_batch_from_many_new_tasks_uses_only_new_ones():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    buffer.add(numbered(5), step=1)
    buffer.add(numbered(12, start=50), step=2)
    idx = buffer.sample_indices(8, np.random.default_rng(2), current_step=2)
    assert (idx >= 5).all() and len(set(idx.tolist())) == 8


def test_new_task_window_counts_recent_steps():
    buffer = TaskBuffer(TaskType.DEDUCTION, BufferConfig(new_task_window=3))
    for step in range(1, 11):
        buffer.add(numbered(1, start=step * 10), step=step)
    steps = buffer.steps
    for seed in range(20):
        idx = buffer.sample_indices(3, np.random.default_rng(seed), current_step=10)
        assert sorted(steps[idx].tolist()) == [8, 9, 10]


def test_uniform_solver_sampling_ignores_age():
    buffer = TaskBuffer(TaskType.ABDUCTION, BufferConfig(solver_sampling="uniform"))
    buffer.add(numbered(10), step=0)
    buffer.add(numbered(2, start=40), step=5)
    rng = np.random.default_rng(3)
    counts = np.zeros(len(buffer))
    for _ in range(6000):
        counts[buffer.sample_indices(6, rng, current_step=5)] += 1
    # probability 6/12 each; standard error 0.0065, tolerance 0.03
    np.testing.assert_allclose(counts / 6000, 0.5, atol=0.03)


PUBLIC = BufferConfig(solver_sampling="public_max_new", dedup="off")


def test_public_max_new_draws_the_previous_steps_tasks_first():
    # The public trainer draws step s's batch before s's proposals are added; with window 1 the tasks counted
    # as new are those of steps s-1 and s, i.e. of step s-1 (at step 1: the seeds, added at step 0).
    buffer = TaskBuffer(TaskType.DEDUCTION, PUBLIC)
    buffer.add(numbered(40), step=0)
    buffer.add(numbered(3, start=100), step=1)
    for seed in range(10):
        idx = buffer.sample_indices(8, np.random.default_rng(seed), current_step=2)
        assert sorted(idx[:3].tolist()) == [40, 41, 42]  # then 5 drawn from the whole buffer
        assert len(set(idx[:3].tolist())) == 3
    first = buffer.sample_indices(8, np.random.default_rng(0), current_step=1)
    assert len(set(first.tolist())) == 8  # at step 1 all 43 tasks are new (steps 0 and 1): no repeats
    # Step 3: nothing was added at step 2, so nothing is new and the batch is a plain sample of the buffer.
    counts = np.zeros(len(buffer))
    rng = np.random.default_rng(1)
    for _ in range(3000):
        counts[buffer.sample_indices(8, rng, current_step=3)] += 1
    np.testing.assert_allclose(counts / 3000, 8 / 43, atol=0.04)  # standard error 0.007


def test_public_max_new_fill_can_repeat_a_new_task():
    # The fill is random.sample of the whole buffer, new tasks included (the paper reading never repeats one).
    buffer = TaskBuffer(TaskType.DEDUCTION, PUBLIC)
    buffer.add(numbered(6), step=0)
    buffer.add(numbered(2, start=100), step=1)
    repeats = [
        len(set(buffer.sample_indices(4, np.random.default_rng(seed), current_step=2).tolist())) < 4
        for seed in range(50)
    ]
    assert any(repeats) and not all(repeats)


def test_public_max_new_after_the_cap_takes_the_last_stored_tasks():
    # Past the cap the public buffer still counts the step's additions, then truncates them away: its "new"
    # tasks are the last R of what it keeps.
    buffer = TaskBuffer(TaskType.DEDUCTION, BufferConfig(solver_sampling="public_max_new", dedup="off", max_tasks=10))
    buffer.add(numbered(10), step=0)
    added = buffer.add(numbered(4, start=50), step=5)
    assert not added.any() and len(buffer) == 10
    for seed in range(10):
        idx = buffer.sample_indices(4, np.random.default_rng(seed), current_step=6)
        assert sorted(idx.tolist()) == [6, 7, 8, 9]
    state = json.loads(json.dumps(buffer.state_dict()))
    restored = TaskBuffer(TaskType.DEDUCTION, buffer.config)
    restored.load_state_dict(state)
    assert (
        restored.sample_indices(4, np.random.default_rng(3), current_step=6).tolist()
        == buffer.sample_indices(4, np.random.default_rng(3), current_step=6).tolist()
    )


def test_only_the_public_draw_happens_before_adding():
    assert BufferConfig(solver_sampling="public_max_new").draws_before_adding
    assert not BufferConfig().draws_before_adding and not BufferConfig(solver_sampling="uniform").draws_before_adding


def test_small_buffer_fills_the_batch_by_resampling():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    buffer.add(numbered(1), step=0)
    buffer.add(numbered(2, start=1), step=4)
    rng = np.random.default_rng(4)
    extra = np.zeros(3)
    for _ in range(3000):
        idx = buffer.sample_indices(8, rng, current_step=4)
        assert len(idx) == 8 and set(idx[:3].tolist()) == {0, 1, 2}  # the 2 new, then the 1 older
        extra += np.bincount(idx[3:], minlength=3)
    np.testing.assert_allclose(extra / extra.sum(), 1 / 3, atol=0.02)  # standard error 0.004
    batch = buffer.sample_solver_batch(8, rng, current_step=4)
    assert len(batch) == 8 and set(batch) == set(buffer.tasks)


def test_sampling_an_empty_buffer_is_a_clear_error():
    buffer = TaskBuffer(TaskType.DEDUCTION)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample_indices(4, np.random.default_rng(0), current_step=0)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample_references(6, np.random.default_rng(0))


def test_induction_programs_come_uniformly_from_deduction_and_abduction():
    buffers = TaskBuffers(seed_identity=False)
    buffers[TaskType.DEDUCTION].add(numbered(2), step=0)
    buffers[TaskType.ABDUCTION].add(numbered(2, start=2), step=0)
    programs = buffers.sample_programs(8000, np.random.default_rng(5))
    counts = np.array([programs.count(t) for t in numbered(4)])
    np.testing.assert_allclose(counts / 8000, 0.25, atol=0.02)  # standard error 0.005


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.text(), st.text(), st.text(), st.integers(0, 10**6)), max_size=8))
def test_any_tasks_survive_a_json_checkpoint(rows):
    buffer = TaskBuffer(TaskType.DEDUCTION, BufferConfig(dedup="off"))
    for program, inp, out, step in rows:
        buffer.add([Triplet(program, inp, out)], step=step)
    restored = TaskBuffer(TaskType.DEDUCTION, BufferConfig(dedup="off"))
    restored.load_state_dict(json.loads(json.dumps(buffer.state_dict())))
    assert restored.tasks == buffer.tasks and restored.steps.tolist() == buffer.steps.tolist()
