import pytest

from azr_jax.config import ConfigError, from_config, to_config_dict
from azr_jax.selfplay import SelfPlayConfig


def test_default_config_round_trips_to_the_paper_settings():
    config = from_config(SelfPlayConfig, to_config_dict(SelfPlayConfig()), "selfplay")
    assert config == SelfPlayConfig()
    assert config.prompts.num_references == 6 and config.prompts.induction_num_inputs == 10
    assert config.rewards.n_solver_rollouts == 8 and config.seeding.target_size == 256
    assert config.advantages.estimator == "task_relative" and config.advantages.weighting == "sample"


def test_public_code_switches_are_config_values():
    public = from_config(
        SelfPlayConfig,
        {
            "rewards": {"unlearnable_proposal": "wrong"},
            "advantages": {"weighting": "token", "epsilon": 1e-8},
            "buffer": {"dedup": "off", "solver_sampling": "public_max_new", "new_task_window": 1, "max_tasks": 16384},
            "seeding": {"dedup": "exact"},
            "prompts": {"reject_multiple_defs": True},
        },
        "selfplay",
    )
    assert public.buffer.max_tasks == 16384 and public.advantages.epsilon == 1e-8
    assert public.buffer.draws_before_adding and public.prompts.reject_multiple_defs


@pytest.mark.parametrize(
    "values, message",
    [
        ({"buffer": {"dedup": "fuzzy"}}, "selfplay.buffer.dedup: expected one of"),
        ({"prompts": {"template": "llama"}}, "selfplay.prompts.template"),
        ({"advantages": {"epsilon": "small"}}, "selfplay.advantages.epsilon: expected float"),
        ({"seeding": {"target_size": 0}}, "target_size must be >= 1"),
        ({"prompts": {"num_refs": 6}}, "selfplay.prompts.num_refs: unknown field"),
    ],
)
def test_bad_values_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message):
        from_config(SelfPlayConfig, values, "selfplay")


def test_selfplay_sources_import_no_jax_and_never_eval():
    import re
    from pathlib import Path

    import azr_jax.selfplay

    sources = list(Path(azr_jax.selfplay.__file__).parent.glob("*.py"))
    assert len(sources) >= 8
    for path in sources:
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(jax|flax|torch)\b", text, re.M), path
        assert not re.search(r"(?<![\w.])(eval|exec)\(", text), path
