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
