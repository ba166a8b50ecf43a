"""The update across devices and processes equals the 1-device update.

Both checks run in subprocesses, since the device count is fixed when jax starts: a (data=2, fsdp=2, tensor=2)
mesh of 8 simulated CPU devices, and a (data=2, fsdp=2) mesh over two processes joined by jax.distributed on
localhost. The three processes start together and share the machine's cores.
"""

import json
from pathlib import Path

import jax
import pytest
from process_group import free_port, run_together

from azr_jax.models import make_mesh
from azr_jax.rl import ParallelConfig, mesh_from_config, process_rows

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    port = str(free_port())
    commands = {
        "sharded": ([str(HERE / "sharded_update_check.py")], 8),
        **{
            f"process{i}": ([str(HERE / "multihost_update_check.py"), port, str(i), str(out / f"{i}.json")], 2)
            for i in range(2)
        },
    }
    run_together(out, commands, pythonpath=[HERE], timeout_s=300)
    return {
        "sharded": json.loads((out / "sharded.out").read_text().strip().splitlines()[-1]),
        "processes": [json.loads((out / f"{i}.json").read_text()) for i in range(2)],
    }


def test_sharded_update_equals_single_device_update(runs):
    sharded = runs["sharded"]
    assert sharded["devices"] == 8
    assert sharded["old_logprobs"] <= 1e-5
    assert sharded["metrics"] <= 1e-5
    assert sharded["params"] <= 1e-5
    assert sharded["opt_state"] <= 1e-5
    # 0.1 x the clipped gradient: gradients agree within 1e-5.
    assert sharded["first_moment"] <= 1e-6
    assert sharded["first_moment_max"] > 1e-3


def test_the_kl_reference_is_sharded_like_the_policy_and_agrees_with_one_device(runs):
    sharded = runs["sharded"]
    assert sharded["reference_shardings"] == sharded["param_shardings"]
    assert sharded["ref_logprobs"] <= 1e-5
    first, second = sharded["kl_ref"]
    # The first update starts from the reference itself (rounding level); one AdamW step at lr 1e-6 later the
    # policy has moved measurably.
    assert abs(first) < 1e-11 and second > 1e-9, (first, second)


def test_parameters_and_moments_are_really_split(runs):
    expected = {
        "embed_tokens": (["tensor", "fsdp"], [49, 16]),
        "layers.0.attn.q_kernel": (["fsdp", "tensor", None], [16, 2, 8]),
        "layers.1.mlp.down_kernel": (["tensor", "fsdp"], [24, 16]),
        "final_norm.scale": ([None], [32]),
    }
    for name, (spec, shard_shape) in expected.items():
        for tree in ("param_shardings", "mu_shardings"):
            assert runs["sharded"][tree][name]["spec"] == spec, (tree, name)
            assert runs["sharded"][tree][name]["shard_shape"] == shard_shape, (tree, name)
    assert runs["sharded"]["old_logprobs_spec"][0] == ["data", "fsdp"]


def test_two_processes_agree_and_equal_one_device(runs):
    first, second = runs["processes"]
    assert (first["rows"], second["rows"]) == ([0, 4], [4, 8])  # each process held only its own half
    assert (first["primary"], second["primary"]) == (True, False)
    assert first["checksums"] == second["checksums"]
    assert first["loss"] == second["loss"]
    assert first["tokens"] == second["tokens"] == 26  # every response token of the 8 sequences
    # lr 1e-3 moves parameters by ~1e-3; the joined step matches one device far below that.
    assert first["max_abs_diff_to_single_device"] <= 1e-5


def test_mesh_from_config_and_process_rows_on_one_process():
    mesh = mesh_from_config(ParallelConfig(), devices=jax.devices()[:1])
    assert dict(mesh.shape) == {"data": 1, "fsdp": 1, "tensor": 1}
    assert process_rows(16, make_mesh(devices=jax.devices()[:1])) == slice(0, 16)
    with pytest.raises(ValueError, match="data must be >= 1 or -1"):
        ParallelConfig(data=0)
