import numpy as np
import pytest

from azr_jax.config import ConfigError, from_config, to_config_dict
from azr_jax.selfplay.rewards import (
    RewardConfig,
    induction_correctness,
    learnability_reward,
    proposer_rewards,
    solve_rates,
    solver_rewards,
)

PAPER = RewardConfig()
PUBLIC = RewardConfig(unlearnable_proposal="wrong")

# format_ok, valid, solve rate -> paper reward, public-code reward
PROPOSER_TABLE = [
    (False, False, 0.0, -1.0, -1.0),  # format error
    (False, True, 0.5, -1.0, -1.0),  # a format error wins over anything else
    (True, False, 0.5, -1.0, -1.0),  # executor rejected the program
    (True, True, 0.0, 0.0, -0.5),  # nobody solved it
    (True, True, 1.0, 0.0, -0.5),  # everybody solved it
    (True, True, 0.125, 0.875, 0.875),  # 1 of 8 rollouts
    (True, True, 0.25, 0.75, 0.75),
    (True, True, 0.5, 0.5, 0.5),
    (True, True, 0.875, 0.125, 0.125),  # 7 of 8
]


def test_proposer_reward_table():
    fmt, valid, rate, paper, public = map(np.array, zip(*PROPOSER_TABLE))
    np.testing.assert_array_equal(proposer_rewards(fmt, valid, rate, PAPER), paper)
    np.testing.assert_array_equal(proposer_rewards(fmt, valid, rate, PUBLIC), public)


def test_invalid_proposal_penalty_is_configurable():
    cfg = RewardConfig(invalid_proposal_reward=-0.5)
    np.testing.assert_array_equal(proposer_rewards([True, False], [False, False], [0.0, 0.0], cfg), [-0.5, -1.0])


def test_learnability_and_solve_rates():
    rollouts = np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1] * 8, [0] * 8, [1, 1, 1, 0, 1, 0, 1, 1]], dtype=bool)
    rates = solve_rates(rollouts)
    np.testing.assert_array_equal(rates, [0.125, 1.0, 0.0, 0.75])
    np.testing.assert_array_equal(learnability_reward(rates), [0.875, 0.0, 0.0, 0.25])
    assert PAPER.n_solver_rollouts == 8


def test_solver_reward_table():
    fmt = np.array([False, False, True, True])
    correct = np.array([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(solver_rewards(fmt, correct, PAPER), [-1.0, -1.0, -0.5, 1.0])


def test_induction_correctness_all_or_fraction():
    passed = np.array([[True] * 5, [True, True, False, True, True], [False] * 5])
    np.testing.assert_array_equal(induction_correctness(passed, PAPER), [1.0, 0.0, 0.0])
    fraction = RewardConfig(induction_correctness="fraction")
    np.testing.assert_array_equal(induction_correctness(passed, fraction), [1.0, 0.8, 0.0])
    np.testing.assert_array_equal(
        solver_rewards([True] * 3, induction_correctness(passed, fraction), fraction), [1.0, 0.8, -0.5]
    )


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="one length"):
        proposer_rewards([True], [True, True], [0.5, 0.5], PAPER)
    with pytest.raises(ValueError, match=r"\[tasks, rollouts\]"):
        solve_rates(np.zeros(3))


def test_config_round_trip_and_bad_field():
    assert from_config(RewardConfig, to_config_dict(RewardConfig())) == PAPER
    with pytest.raises(ConfigError, match="rewards.unlearnable_proposal"):
        from_config(RewardConfig, {"unlearnable_proposal": "negative"}, "rewards")
    with pytest.raises(ConfigError, match="n_solver_rollouts must be >= 1"):
        from_config(RewardConfig, {"n_solver_rollouts": 0}, "rewards")
