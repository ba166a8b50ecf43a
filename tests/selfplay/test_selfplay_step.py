"""One self-play step through the public API, with a scripted model and a fake executor (no JAX, no sandbox)."""

import numpy as np
import pytest

from azr_jax.selfplay import (
    FormatError,
    SelfPlayConfig,
    TaskBuffers,
    TaskType,
    compute_advantages,
    parse_proposals,
    parse_solutions,
    proposal_requests,
    proposer_rewards,
    solve_rates,
    solve_requests,
    solver_rewards,
)


def fence(kind, text):
    return f"```{kind}\n{text}\n```"


PROPOSALS = [
    "p</think> <answer>" + fence("python", "def f(x):\n    return x * 3") + fence("input", "4") + "</answer>",
    "p</think> <answer>" + fence("python", "def f(x):\n    return x - 1") + fence("input", "9") + "</answer>",
    "no format at all",
    "p</think> <answer>" + fence("python", "def f(x):\n    return undefined_name") + fence("input", "1") + "</answer>",
]
OUTPUTS = {"def f(x):\n    return x * 3": "12", "def f(x):\n    return x - 1": "8"}  # what the executor would compute


def test_one_deduction_step():
    config = SelfPlayConfig()
    buffers = TaskBuffers()
    rng = np.random.default_rng(0)
    step = 1

    requests = proposal_requests(TaskType.DEDUCTION, buffers, 4, rng, config, banned_words=("os",))
    candidates = parse_proposals(requests, PROPOSALS, config)
    format_ok = np.array([not isinstance(c, FormatError) for c in candidates])
    assert format_ok.tolist() == [True, True, False, True]
    valid = np.array([ok and c.program in OUTPUTS for ok, c in zip(format_ok, candidates)])
    tasks = [c.complete(OUTPUTS[c.program]) for c, v in zip(candidates, valid) if v]

    # n = 8 rollouts per valid task estimate its solve rate: task 0 solved 2/8, task 1 solved 8/8
    n = config.rewards.n_solver_rollouts
    rollouts = solve_requests(TaskType.DEDUCTION, [t for t in tasks for _ in range(n)], config)
    answers = ["s</think> <answer>" + fence("output", "12" if i < 2 else "13") + "</answer>" for i in range(n)]
    answers += ["s</think> <answer>8</answer>"] * n
    parsed = parse_solutions(rollouts, answers, config)
    correct = np.array([a.text == r.task.output for a, r in zip(parsed, rollouts)]).reshape(len(tasks), n)
    rates = np.zeros(len(candidates))
    rates[valid] = solve_rates(correct)
    r_propose = proposer_rewards(format_ok, valid, rates, config.rewards)
    np.testing.assert_array_equal(r_propose, [0.75, 0.0, -1.0, -1.0])

    assert buffers[TaskType.DEDUCTION].add(tasks, step).tolist() == [True, True]
    batch = buffers[TaskType.DEDUCTION].sample_solver_batch(3, rng, current_step=step)
    assert set(tasks) <= set(batch)  # this step's tasks come first
    solve = solve_requests(TaskType.DEDUCTION, batch, config)
    replies = ["s</think> <answer>" + fence("output", t.output) + "</answer>" for t in batch[:2]] + ["bad"]
    answers = parse_solutions(solve, replies, config)
    fmt = np.array([not isinstance(a, FormatError) for a in answers])
    right = np.array([f and a.text == r.task.output for f, a, r in zip(fmt, answers, solve)], dtype=float)
    r_solve = solver_rewards(fmt, right, config.rewards)
    np.testing.assert_array_equal(r_solve, [1.0, 1.0, -1.0])

    rewards = np.concatenate([r_propose, r_solve])
    roles = ["propose"] * 4 + ["solve"] * 3
    advantages = compute_advantages(rewards, ["deduction"] * 7, roles, config.advantages)
    assert advantages.shape == (7,)
    for role in ("propose", "solve"):
        group = advantages[np.array(roles) == role]
        assert abs(group.mean()) < 1e-12  # each group is centred on its own baseline


def test_responses_must_match_requests():
    config = SelfPlayConfig()
    requests = proposal_requests(TaskType.ABDUCTION, TaskBuffers(), 2, np.random.default_rng(0), config)
    with pytest.raises(ValueError, match="1 responses for 2 requests"):
        parse_proposals(requests, ["x"], config)


# --- prompts over the token limit: never cut, rebuilt or replaced as the public code does ---

from azr_jax.selfplay.batches import fit_solver_batch  # noqa: E402
from azr_jax.selfplay.prompts import PromptLimit, PromptTooLong  # noqa: E402
from azr_jax.selfplay.tasks import Triplet  # noqa: E402


def long_and_short_buffers():
    buffers = TaskBuffers()
    long_program = "def f(x):\n" + "".join(f"    x = x + {i}\n" for i in range(300)) + "    return x"
    buffers[TaskType.DEDUCTION].add([Triplet(long_program, "1", "44851")], step=0)
    return buffers, long_program


def test_a_proposer_prompt_over_the_limit_is_rebuilt_on_other_references():
    buffers, long_program = long_and_short_buffers()  # the identity seed and one very long reference
    config = SelfPlayConfig(prompts=SelfPlayConfig().prompts.__class__(num_references=1))
    short = len(proposal_requests(TaskType.DEDUCTION, TaskBuffers(), 1, np.random.default_rng(0), config)[0].prompt)
    limit = PromptLimit(fits=lambda prompt: len(prompt) <= short)
    requests = proposal_requests(TaskType.DEDUCTION, buffers, 40, np.random.default_rng(1), config, limit=limit)
    assert all(len(r.prompt) <= short and r.references[0].program != long_program for r in requests)
    # Each prompt shown is whole (it starts with the instructions); the drafts on the long reference were dropped.
    assert all(r.prompt.startswith(requests[0].prompt[:200]) for r in requests)
    assert 5 < sum(r.dropped for r in requests) < 40  # half the draws pick the long reference


def test_fewer_references_drops_references_instead_of_redrawing():
    buffers, long_program = long_and_short_buffers()
    config = SelfPlayConfig()  # K = 6: both references are always shown
    bare = len(proposal_requests(TaskType.DEDUCTION, TaskBuffers(), 1, np.random.default_rng(0), config)[0].prompt)
    limit = PromptLimit(fits=lambda prompt: len(prompt) <= bare, fewer_references=True)
    requests = proposal_requests(TaskType.DEDUCTION, buffers, 4, np.random.default_rng(1), config, limit=limit)
    for r in requests:
        assert len(r.references) == 1 and r.references[0].program != long_program and r.dropped == 1


def test_no_prompt_within_the_limit_is_an_error_naming_the_setting():
    limit = PromptLimit(fits=lambda prompt: False)
    with pytest.raises(PromptTooLong, match="rollout.max_prompt_tokens"):
        proposal_requests(TaskType.INDUCTION, TaskBuffers(), 1, np.random.default_rng(0), SelfPlayConfig(), limit=limit)


def test_a_solver_prompt_over_the_limit_is_replaced_by_another_of_its_batch():
    buffers, long_program = long_and_short_buffers()
    requests = solve_requests(TaskType.DEDUCTION, buffers[TaskType.DEDUCTION].tasks * 3, SelfPlayConfig())
    limit = PromptLimit(fits=lambda prompt: long_program not in prompt)
    fitted, replaced = fit_solver_batch(requests, limit, np.random.default_rng(0))
    assert replaced == 3 and len(fitted) == 6
    assert all(r.task.program != long_program for r in fitted)
    assert fit_solver_batch(requests, None, np.random.default_rng(0)) == (requests, 0)
    with pytest.raises(PromptTooLong):
        fit_solver_batch(requests[1:2], limit, np.random.default_rng(0))
