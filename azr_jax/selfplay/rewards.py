"""Rewards: proposer learnability, solver correctness, and the paper's composite rule with format penalties.

All functions take and return numpy arrays, one entry per response, so a whole step is one call per role.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np


@dataclasses.dataclass(frozen=True)
class RewardConfig:
    n_solver_rollouts: int = 8  # solver samples per proposed task that estimate its solve rate
    format_error_reward: float = -1.0  # response not in <think>...</think> <answer>...</answer> form
    wrong_reward: float = -0.5  # well formatted, but a wrong answer
    invalid_proposal_reward: float = -1.0  # well formatted proposal the executor rejected
    # A valid proposal solved by all or none of the rollouts: "zero" gives the learnability reward itself,
    # 0 (the paper); "wrong" gives `wrong_reward` (the public code).
    unlearnable_proposal: Literal["zero", "wrong"] = "zero"
    # An induction answer is correct when it passes "all" held-out pairs (paper; public run scripts use
    # "binary", the same), or scores the "fraction" passed (the public code's "accuracy" option).
    induction_correctness: Literal["all", "fraction"] = "all"
    # How an induction answer is run (selfplay/grading.py), each as the public code does by default:
    # with the task program's import lines prepended (False: the answer alone, as written) ...
    induction_answer_imports: bool = True
    # ... with top-level helpers besides `f` allowed (False: sandbox.allow_helpers decides, as for proposals) ...
    induction_answer_helpers: bool = True
    # ... and a held-out check the sandbox could not carry out (`sandbox_error`) "excluded" from the score,
    # or counted as "wrong".
    induction_failed_checks: Literal["excluded", "wrong"] = "excluded"
    # A learnability rollout off the think/answer format: its answer "graded" all the same (the public code reads
    # the text after the last <answer>), or counted wrong ("required"). Solver rewards always require the format.
    rollout_format: Literal["graded", "required"] = "graded"

    def __post_init__(self):
        if self.rollout_format not in ("graded", "required"):
            raise ValueError(f"rollout_format must be 'graded' or 'required', got {self.rollout_format!r}")
        if self.induction_failed_checks not in ("excluded", "wrong"):
            raise ValueError(
                f"induction_failed_checks must be 'excluded' or 'wrong', got {self.induction_failed_checks!r}"
            )
        if self.n_solver_rollouts < 1:
            raise ValueError(f"n_solver_rollouts must be >= 1, got {self.n_solver_rollouts}")


def solve_rates(rollout_correct: np.ndarray) -> np.ndarray:
    """Mean correctness over each task's rollouts: [tasks, rollouts] -> [tasks]."""
    rollout_correct = np.asarray(rollout_correct, dtype=np.float64)
    if rollout_correct.ndim != 2 or rollout_correct.shape[1] == 0:
        raise ValueError(f"rollout_correct must be [tasks, rollouts] with rollouts >= 1, got {rollout_correct.shape}")
    return rollout_correct.mean(axis=1)


def learnability_reward(solve_rate: np.ndarray) -> np.ndarray:
    """r_propose = 1 - solve rate when 0 < rate < 1, else 0: trivial and impossible tasks teach nothing."""
    rate = np.asarray(solve_rate, dtype=np.float64)
    return np.where((rate > 0.0) & (rate < 1.0), 1.0 - rate, 0.0)


def induction_correctness(held_out_passed: np.ndarray, config: RewardConfig) -> np.ndarray:
    """Per answer correctness from which held-out pairs its program passed: [answers, pairs] -> [answers]."""
    passed = np.asarray(held_out_passed, dtype=bool)
    if passed.ndim != 2 or passed.shape[1] == 0:
        raise ValueError(f"held_out_passed must be [answers, pairs] with pairs >= 1, got {passed.shape}")
    if config.induction_correctness == "all":
        return passed.all(axis=1).astype(np.float64)
    return passed.mean(axis=1)


def proposer_rewards(
    format_ok: np.ndarray, valid: np.ndarray, solve_rate: np.ndarray, config: RewardConfig
) -> np.ndarray:
    """Composite proposer reward per response.

    format_ok: the response had the think/answer form and the blocks the task needs; valid: the executor
    accepted the task; solve_rate: the mean solver correctness over `n_solver_rollouts` (ignored where invalid).
    """
    format_ok, valid = _bools(format_ok), _bools(valid)
    solve_rate = np.asarray(solve_rate, dtype=np.float64)
    _same_shape(format_ok, valid, solve_rate)
    role_reward = learnability_reward(np.where(valid, solve_rate, 0.0))
    if config.unlearnable_proposal == "wrong":
        role_reward = np.where(role_reward > 0.0, role_reward, config.wrong_reward)
    passable = format_ok & valid
    rewards = np.where(passable, role_reward, config.invalid_proposal_reward)
    return np.where(format_ok, rewards, config.format_error_reward)


def solver_rewards(format_ok: np.ndarray, correctness: np.ndarray, config: RewardConfig) -> np.ndarray:
    """Composite solver reward per response: the correctness if positive, `wrong_reward` if zero."""
    format_ok = _bools(format_ok)
    correctness = np.asarray(correctness, dtype=np.float64)
    _same_shape(format_ok, correctness)
    rewards = np.where(correctness > 0.0, correctness, config.wrong_reward)
    return np.where(format_ok, rewards, config.format_error_reward)


def _bools(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=bool)


def _same_shape(*arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"expected 1-d arrays of one length, got shapes {sorted(shapes)}")
