"""Advantages on batches whose statistics are worked out by hand below (not by the code under test)."""

import math

import numpy as np
import pytest

from azr_jax.selfplay.advantages import AdvantageConfig, compute_advantages

EPS = 1e-6  # the default epsilon, A = (r - mean) / (std + EPS)

# (task, role, reward), groups interleaved on purpose.
BATCH = [
    ("deduction", "propose", 0.75),
    ("induction", "solve", 1.0),
    ("deduction", "solve", 1.0),
    ("abduction", "propose", 0.5),  # the only abduction proposal: a group of size 1
    ("deduction", "propose", -0.25),
    ("abduction", "solve", -0.5),  # all abduction answers wrong: sigma = 0
    ("induction", "propose", -1.0),
    ("deduction", "solve", -0.5),
    ("induction", "solve", 1.0),
    ("abduction", "solve", -0.5),
    ("deduction", "propose", 0.75),
    ("induction", "propose", 0.0),
    ("deduction", "solve", -1.0),
    ("induction", "solve", 1.0),
    ("abduction", "solve", -0.5),
    ("deduction", "propose", -0.25),
    ("induction", "solve", -1.0),
]

# deduction/propose [0.75, -0.25, 0.75, -0.25]: mean 0.25, deviations +-0.5, std 0.5
DP = 0.5 / (0.5 + EPS)
# deduction/solve [1, -0.5, -1]: mean -1/6, deviations 7/6, -1/3, -5/6, variance (49 + 4 + 25) / 36 / 3 = 13/18
DS = math.sqrt(13 / 18) + EPS
# induction/propose [-1, 0]: mean -0.5, deviations -+0.5, std 0.5
IP = 0.5 / (0.5 + EPS)
# induction/solve [1, 1, 1, -1]: mean 0.5, deviations 0.5 x3 and -1.5, variance (0.75 + 2.25) / 4 = 0.75
IS = math.sqrt(0.75) + EPS

EXPECTED = [
    DP,
    0.5 / IS,
    (7 / 6) / DS,
    0.0,
    -DP,
    0.0,
    -IP,
    (-1 / 3) / DS,
    0.5 / IS,
    0.0,
    DP,
    IP,
    (-5 / 6) / DS,
    0.5 / IS,
    0.0,
    -DP,
    -1.5 / IS,
]


def columns(batch):
    tasks, roles, rewards = zip(*batch)
    return np.array(rewards), list(tasks), list(roles)


def test_task_relative_advantages_on_all_six_groups():
    rewards, tasks, roles = columns(BATCH)
    assert len(set(zip(tasks, roles))) == 6
    advantages = compute_advantages(rewards, tasks, roles, AdvantageConfig())
    np.testing.assert_allclose(advantages, EXPECTED, rtol=1e-12, atol=0)


def test_group_of_one_and_constant_group_get_exactly_zero():
    rewards, tasks, roles = columns(BATCH)
    advantages = compute_advantages(rewards, tasks, roles, AdvantageConfig(epsilon=0.0))
    assert advantages[3] == 0.0 and (advantages[[5, 9, 14]] == 0.0).all()
    # 0.1 three times has a floating-point mean that is not exactly 0.1: still exactly zero
    assert (compute_advantages(np.full(3, 0.1), ["deduction"] * 3, ["solve"] * 3, AdvantageConfig()) == 0).all()


def test_token_weighted_advantages_follow_verl_whitening():
    # rewards [1, -1] with 3 and 1 tokens: token mean (3 - 1) / 4 = 0.5; token variance
    # (3 * 0.25 + 1 * 2.25) / 4 = 0.75, unbiased x 4/3 = 1.0; A = (r - 0.5) / sqrt(1.0 + eps)
    cfg = AdvantageConfig(weighting="token", epsilon=1e-8)
    advantages = compute_advantages(
        np.array([1.0, -1.0]), ["abduction"] * 2, ["solve"] * 2, cfg, token_counts=np.array([3, 1])
    )
    np.testing.assert_allclose(advantages, [0.5 / math.sqrt(1 + 1e-8), -1.5 / math.sqrt(1 + 1e-8)], rtol=1e-12)


def test_token_weighting_differs_from_per_sample():
    rewards, tasks, roles = np.array([1.0, -1.0]), ["abduction"] * 2, ["solve"] * 2
    per_sample = compute_advantages(rewards, tasks, roles, AdvantageConfig())
    np.testing.assert_allclose(per_sample, [1 / (1 + EPS), -1 / (1 + EPS)], rtol=1e-12)  # mean 0, std 1
    with pytest.raises(ValueError, match="token_counts"):
        compute_advantages(rewards, tasks, roles, AdvantageConfig(weighting="token"))


def test_single_token_group_is_zero_in_token_mode():
    cfg = AdvantageConfig(weighting="token")
    advantages = compute_advantages(
        np.array([1.0, -1.0]), ["deduction"] * 2, ["solve"] * 2, cfg, token_counts=np.array([1, 0])
    )
    assert (advantages == 0).all()


def test_global_baseline_ignores_groups():
    # [1, 0, -1, 0]: mean 0, variance 0.5
    rewards = np.array([1.0, 0.0, -1.0, 0.0])
    advantages = compute_advantages(
        rewards,
        ["deduction", "abduction", "induction", "deduction"],
        ["solve", "propose", "solve", "propose"],
        AdvantageConfig(estimator="global"),
    )
    np.testing.assert_allclose(advantages, rewards / (math.sqrt(0.5) + EPS), rtol=1e-12)


def test_group_baseline_per_prompt():
    # prompt "a": [1, 0] mean 0.5 std 0.5; prompt "b": [-1, -1, 1] mean -1/3, std sqrt(8/9)
    rewards = np.array([1.0, -1.0, 0.0, -1.0, 1.0])
    ids = ["a", "b", "a", "b", "b"]
    cfg = AdvantageConfig(estimator="group")
    advantages = compute_advantages(rewards, ["deduction"] * 5, ["solve"] * 5, cfg, prompt_ids=ids)
    sb = math.sqrt(8 / 9) + EPS
    np.testing.assert_allclose(
        advantages, [0.5 / (0.5 + EPS), (-2 / 3) / sb, -0.5 / (0.5 + EPS), (-2 / 3) / sb, (4 / 3) / sb], rtol=1e-12
    )
    with pytest.raises(ValueError, match="prompt_ids"):
        compute_advantages(rewards, ["deduction"] * 5, ["solve"] * 5, cfg)


def test_empty_batch():
    assert compute_advantages(np.zeros(0), [], [], AdvantageConfig()).shape == (0,)
