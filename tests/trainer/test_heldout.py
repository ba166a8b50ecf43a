"""The held-out evaluation: its metrics from hand-made counts, its settings' errors, and the same numbers from a
run's step 0 and from `python -m azr_jax.tinycoder.evaluate` on the same model."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_training_options import random_model_config, tiny_config

from azr_jax.config import ConfigError
from azr_jax.selfplay.tasks import TaskType
from azr_jax.tinycoder.corpus import load_tasks
from azr_jax.tinycoder.evaluate import evaluate_model
from azr_jax.trainer import loop
from azr_jax.trainer.heldout import Answers, HeldoutEval
from azr_jax.trainer.run_config import HeldoutConfig, load_run_config

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "assets" / "tinycoder" / "heldout.jsonl"


def test_metrics_per_type_and_tier_from_counts():
    evaluation = HeldoutEval.__new__(HeldoutEval)  # metrics() needs only the tasks' tiers
    evaluation.tasks, evaluation.tiers = [None] * 3, ["one_step", "multi_step", "one_step"]
    sampled = Answers(correct=np.array([2, 0, 1]), well_formed=np.array([4, 2, 2]), per_task=4)
    greedy = Answers(correct=np.array([1, 0, 0]), well_formed=np.array([1, 1, 0]), per_task=1)
    metrics = evaluation.metrics(
        {"sampled": dict.fromkeys(TaskType, sampled), "greedy": dict.fromkeys(TaskType, greedy)}
    )
    assert metrics["heldout/deduction/pass@1"] == pytest.approx(3 / 12)
    assert metrics["heldout/deduction/format_error_rate"] == pytest.approx(4 / 12)
    assert metrics["heldout/deduction/well_formed_accuracy"] == pytest.approx(3 / 8)
    assert metrics["heldout/induction/greedy_accuracy"] == pytest.approx(1 / 3)
    assert metrics["heldout/induction/greedy_format_error_rate"] == pytest.approx(1 / 3)
    assert metrics["heldout/one_step/abduction/pass@1"] == pytest.approx(3 / 8)
    assert metrics["heldout/one_step/abduction/well_formed_accuracy"] == pytest.approx(3 / 6)
    assert metrics["heldout/multi_step/abduction/pass@1"] == 0.0
    assert metrics["heldout/multi_step/abduction/greedy_format_error_rate"] == 0.0


def test_the_committed_heldout_file_records_the_tiers_of_its_programs():
    tasks = load_tasks(HELDOUT)
    assert len(tasks) == 300
    assert sum(t.tier == "one_step" for t in tasks) == 105  # docs/tiny_selfplay.md
    assert {t.tier for t in tasks} == {"one_step", "multi_step"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"heldout.every_steps": 5}, "heldout.path: none given"),
        ({"heldout.at_start": True, "heldout.path": "/no/such/tasks.jsonl"}, "heldout.path: no such file '/no/such"),
        ({"heldout.path": str(HELDOUT), "heldout.samples": 0, "heldout.greedy": False}, "nothing to evaluate"),
        ({"heldout.path": str(HELDOUT), "heldout.samples": 9}, "heldout.samples: 9 samples x"),
    ],
)
def test_bad_heldout_settings_are_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        load_run_config(tiny_config(1, **changes))


def test_heldout_settings_are_checked_only_when_an_evaluation_is_asked_for():
    assert load_run_config(tiny_config(1, **{"heldout.samples": 9})).heldout.samples == 9


def test_a_runs_step_0_is_the_pretrained_model_measured_alone_with_the_same_numbers(tmp_path):
    heldout = {"heldout.path": str(HELDOUT), "heldout.limit": 6, "heldout.samples": 2, "heldout.seed": 3}
    loop.train(tiny_config(0, **heldout, **{"heldout.at_start": True}), tmp_path)  # evaluate, train nothing
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0]
    assert "heldout/one_step/induction/greedy_accuracy" in records[0] and "deduction/solve/accuracy" not in records[0]
    in_run = json.loads((tmp_path / "heldout" / "step_0.json").read_text())

    config = load_run_config(tiny_config(1))
    metrics, alone = evaluate_model(
        REPO / "assets" / "tinycoder", config, HeldoutConfig(path=str(HELDOUT), limit=6, samples=2, seed=3)
    )
    for mode in ("sampled", "greedy"):
        assert alone[mode] == in_run[mode], mode
    assert sum(sum(alone[m][t]["correct"]) for m in ("sampled", "greedy") for t in alone[m]) > 0  # not all zeros
    assert metrics["heldout/abduction/pass@1"] == pytest.approx(records[0]["heldout/abduction/pass@1"])


def test_a_run_evaluates_every_n_steps_and_after_its_last(tmp_path):
    heldout = {"heldout.path": str(HELDOUT), "heldout.limit": 2, "heldout.samples": 1, "heldout.every_steps": 2}
    loop.train(random_model_config(3, **heldout), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [("heldout/deduction/pass@1" in r) for r in records] == [False, True, True]
    assert sorted(p.name for p in (tmp_path / "heldout").iterdir()) == ["step_2.json", "step_3.json"]


def test_a_task_file_whose_prompts_the_run_cannot_ask_stops_it_before_the_first_step(tmp_path):
    config = tiny_config(
        1,
        **{
            "heldout.path": str(HELDOUT),
            "heldout.at_start": True,
            "rollout.prompt_overflow": "redraw",
            "rollout.max_prompt_tokens": 64,
        },
    )
    with pytest.raises(ConfigError, match=r"heldout.path: \d+ prompts of .* exceed rollout.max_prompt_tokens 64"):
        loop.train(config, tmp_path)
    assert not (tmp_path / "metrics.jsonl").exists() or not (tmp_path / "metrics.jsonl").read_text()
