"""Real training steps of the tiny config (configs/tiny.py) with the options the paper leaves off: the KL penalty
to a frozen reference policy (on the random model: machinery), and GRPO-style per-prompt advantages (on the tiny
coder, whose answers to one prompt are rewarded differently)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from azr_jax.trainer import loop

REPO = Path(__file__).resolve().parents[2]


def tiny_config(steps: int, **changes):
    spec = importlib.util.spec_from_file_location("tiny_config", REPO / "configs" / "tiny.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.trainer.steps = steps
    config.trainer.compilation_cache = False
    config.trainer.tensorboard = False
    config.checkpoint.every_steps = 1
    for path, value in changes.items():
        section, field = path.rsplit(".", 1)
        target = config
        for name in section.split("."):
            target = target[name]
        target[field] = value
    return config


def random_model_config(steps: int, **changes):
    """Machinery, not learning: the random 0.2M-parameter model with 24-token responses steps in seconds."""
    return tiny_config(
        steps,
        **{
            "model.path": str(REPO / "assets" / "tiny-random"),
            "rollout.max_response_tokens": 24,
            "sampler.max_new_tokens_cap": 24,
            **changes,
        },
    )


def metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_kl_to_the_initial_weights_is_zero_before_the_first_update_and_grows_after_it_also_across_a_resume(tmp_path):
    # The random model's near-uniform policy moves little per update: a 10x learning rate makes its KL measurable.
    options = {"rl.kl_coeff": 0.05, "rl.learning_rate": 1e-3}
    loop.train(random_model_config(2, **options), tmp_path)
    first, second = metrics(tmp_path)
    # Step 1 trains the initial weights themselves: the reference log-probs are the policy's (float32 compute;
    # k3 of a rounding-level log-ratio).
    assert abs(first["rl/kl_ref"]) < 1e-8
    assert second["rl/kl_ref"] > 1e-5  # one AdamW update at lr 1e-3 moved the policy away from the reference

    # Resumed from step 2's checkpoint, the reference is still the initial weights (from model.path), not the
    # restored ones: had it been re-taken from the checkpoint, step 3's KL would be back at rounding level.
    loop.train(random_model_config(3, **options), tmp_path)
    resumed = metrics(tmp_path)
    assert [r["step"] for r in resumed] == [1, 2, 3]
    assert resumed[2]["rl/kl_ref"] > 1e-5


def test_group_advantages_are_normalised_over_the_responses_to_one_prompt(tmp_path, monkeypatch):
    k = 2
    seen = []
    real_update, real_advantages = loop._update, loop.compute_advantages

    def spy_update(learner, state, result, config, *args):
        seen.append({"groups": result.groups})
        return real_update(learner, state, result, config, *args)

    def spy_advantages(rewards, task_types, roles, config, **kwargs):
        advantages = real_advantages(rewards, task_types, roles, config, **kwargs)
        seen[-1].update(rewards=np.asarray(rewards), prompt_ids=kwargs["prompt_ids"], advantages=advantages)
        return advantages

    monkeypatch.setattr(loop, "_update", spy_update)
    monkeypatch.setattr(loop, "compute_advantages", spy_advantages)
    config = tiny_config(1, **{"selfplay.advantages.estimator": "group", "rollout.samples_per_prompt": k})
    loop.train(config, tmp_path)
    assert len(seen) == 1

    spread_groups = 0
    for step in seen:
        completions = [c for g in step["groups"] for c in g.completions]
        ids = step["prompt_ids"]
        assert len(ids) == len(completions) == 6 * config.rollout.batch_size
        for prompt in set(ids):
            members = [i for i, p in enumerate(ids) if p == prompt]
            assert len(members) == k  # k responses per proposer prompt and per solver task
            assert len({completions[i].prompt for i in members}) == 1  # ... to one and the same prompt
            rewards, advantages = step["rewards"][members], step["advantages"][members]
            assert abs(advantages.sum()) < 1e-9
            if np.ptp(rewards) > 0:
                spread_groups += 1
                expected = (rewards - rewards.mean()) / (rewards.std() + config.selfplay.advantages.epsilon)
                np.testing.assert_allclose(advantages, expected, rtol=1e-12)
            else:
                assert not advantages.any()
    assert spread_groups > 0  # some prompt's responses were rewarded differently, so the check above ran
    assert all(np.isfinite(r["rl/loss"]) for r in metrics(tmp_path))


def test_group_advantages_with_one_response_per_prompt_are_refused_naming_both_settings():
    from azr_jax.config import ConfigError
    from azr_jax.trainer.run_config import load_run_config

    with pytest.raises(ConfigError, match="estimator.*samples_per_prompt"):
        load_run_config(tiny_config(1, **{"selfplay.advantages.estimator": "group"}))
