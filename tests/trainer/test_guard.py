"""The divergence guard: its alarms and actions as pure logic, then in real runs of the tiny random model (whose
entropy is far above any sane bound, so a low `guard.max_entropy` alarms on every step)."""

import math

import pytest
from test_training_options import metrics, tiny_config
from test_training_options import random_model_config as random_model

from azr_jax.config import ConfigError
from azr_jax.trainer import loop
from azr_jax.trainer.guard import Divergence, DivergenceGuard, format_error_rate
from azr_jax.trainer.run_config import GuardConfig, load_run_config

GROUPS = [f"{t}/{r}" for t in ("deduction", "abduction", "induction") for r in ("propose", "solve")]


def step(entropy=0.5, format_errors=(0.1,) * 6, gap=0.001) -> dict:
    metrics = {"rl/entropy": entropy, "rl/logprob_gap_mean_abs": gap}
    metrics.update({f"{g}/format_error_rate": rate for g, rate in zip(GROUPS, format_errors)})
    metrics["heldout/deduction/format_error_rate"] = 1.0  # another evaluation's rate: not the step's
    return metrics


def test_each_bound_alarms_alone_and_none_switches_it_off():
    guard = DivergenceGuard(GuardConfig(max_entropy=1.0, max_format_error_rate=0.5, max_logprob_gap=0.01))
    assert guard.check(step())[1] == []
    assert guard.check(step(entropy=1.5))[1] == ["entropy 1.5 > 1"]
    assert guard.check(step(format_errors=(1, 1, 1, 0, 0, 0.2)))[1] == ["format_error_rate 0.5333 > 0.5"]
    assert guard.check(step(gap=0.02))[1] == ["logprob_gap 0.02 > 0.01"]
    metrics, alarms = guard.check(step(entropy=3.0, gap=0.5))
    assert len(alarms) == 2 and metrics["guard/alarms"] == 2 and metrics["guard/entropy_alarm"] == 1.0
    assert metrics["guard/format_error_rate_alarm"] == 0.0
    off = DivergenceGuard(GuardConfig(max_entropy=None, max_format_error_rate=None, max_logprob_gap=None))
    assert off.check(step(entropy=99, format_errors=(1,) * 6, gap=9))[1] == []


def test_a_missing_measurement_does_not_alarm():
    # rl.old_logprobs="sampler" measures no gap: the bound cannot be checked, and says nothing.
    guard = DivergenceGuard(GuardConfig(max_logprob_gap=1e-9))
    metrics = step()
    del metrics["rl/logprob_gap_mean_abs"]
    assert guard.check(metrics)[1] == []


def test_the_format_error_rate_pools_the_six_groups_only():
    assert format_error_rate(step(format_errors=(0.0, 0.6, 0.0, 0.0, 0.0, 0.6))) == pytest.approx(0.2)
    assert math.isnan(format_error_rate({}))


def test_the_action_comes_after_patience_alarmed_steps_in_a_row_and_the_count_restarts():
    guard = DivergenceGuard(GuardConfig(max_entropy=1.0, action="halve_lr", patience=2))
    acted = []
    for entropy in (2, 0.5, 2, 2, 2, 2, 0.5):
        guard.check(step(entropy=entropy))
        acted.append(guard.should_act())
    assert acted == [False, False, False, True, False, True, False]
    warn = DivergenceGuard(GuardConfig(max_entropy=1.0, action="warn"))
    warn.check(step(entropy=2))
    assert not warn.should_act() and warn.streak == 1


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("patience", 0, "patience must be >= 1"),
        ("max_entropy", 0.0, "max_entropy must be > 0"),
        ("action", "pause", "guard.action"),
    ],
)
def test_bad_guard_settings_are_named(field, value, message):
    config = tiny_config(1)
    config.guard[field] = value
    with pytest.raises(ConfigError, match=message):
        load_run_config(config)


def random_model_config(steps: int, **changes):
    return random_model(steps, **{"guard.max_entropy": 0.5, **changes})


def test_the_stop_action_ends_the_run_with_a_checkpoint_of_that_step_and_names_the_alarm(tmp_path):
    config = random_model_config(4, **{"guard.action": "stop", "guard.patience": 2, "checkpoint.every_steps": 10})
    with pytest.raises(Divergence, match=r"step 2: 2 step\(s\) in a row .*entropy .* > 0\.5"):
        loop.train(config, tmp_path)
    records = metrics(tmp_path)
    assert [r["step"] for r in records] == [1, 2]
    assert [r["guard/streak"] for r in records] == [1, 2]  # the second alarmed step in a row: the action
    assert all(r["guard/entropy_alarm"] == 1.0 for r in records)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == ["2"]


def test_the_halve_action_halves_the_learning_rate_of_the_next_update_and_a_resume_keeps_it(tmp_path):
    loop.train(random_model_config(2, **{"guard.action": "halve_lr", "guard.patience": 2}), tmp_path)
    loop.train(random_model_config(3, **{"guard.action": "halve_lr", "guard.patience": 2}), tmp_path)
    rates = [r["rl/learning_rate"] for r in metrics(tmp_path)]
    # Halved after step 2's update (the second alarmed step); the scale is in the checkpointed optimizer state.
    assert rates == pytest.approx([1e-4, 1e-4, 5e-5])
