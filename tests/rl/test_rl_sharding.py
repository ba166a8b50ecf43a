"""The update on a (data=2, fsdp=2, tensor=2) mesh of 8 simulated CPU devices equals the 1-device update (in a
subprocess, since the device count is fixed when jax starts)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from azr_jax.models import make_mesh
from azr_jax.rl import ParallelConfig, mesh_from_config, process_rows


@pytest.fixture(scope="module")
def sharded_run():
    here = Path(__file__).parent
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=8",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")]),
    )
    script = here / "sharded_update_check.py"
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_sharded_update_equals_single_device_update(sharded_run):
    assert sharded_run["devices"] == 8
    assert sharded_run["old_logprobs"] <= 1e-5
    assert sharded_run["metrics"] <= 1e-5
    assert sharded_run["params"] <= 1e-5
    assert sharded_run["opt_state"] <= 1e-5
    # 0.1 x the clipped gradient: gradients agree within 1e-5.
    assert sharded_run["first_moment"] <= 1e-6
    assert sharded_run["first_moment_max"] > 1e-3


def test_parameters_and_moments_are_really_split(sharded_run):
    expected = {
        "embed_tokens": (["tensor", "fsdp"], [49, 16]),
        "layers.0.attn.q_kernel": (["fsdp", "tensor", None], [16, 2, 8]),
        "layers.1.mlp.down_kernel": (["tensor", "fsdp"], [24, 16]),
        "final_norm.scale": ([None], [32]),
    }
    for name, (spec, shard_shape) in expected.items():
        for tree in ("param_shardings", "mu_shardings"):
            assert sharded_run[tree][name]["spec"] == spec, (tree, name)
            assert sharded_run[tree][name]["shard_shape"] == shard_shape, (tree, name)
    assert sharded_run["old_logprobs_spec"][0] == ["data", "fsdp"]


def test_mesh_from_config_and_process_rows_on_one_process():
    mesh = mesh_from_config(ParallelConfig(), devices=jax.devices()[:1])
    assert dict(mesh.shape) == {"data": 1, "fsdp": 1, "tensor": 1}
    assert process_rows(16, make_mesh(devices=jax.devices()[:1])) == slice(0, 16)
    with pytest.raises(ValueError, match="data must be >= 1 or -1"):
        ParallelConfig(data=0)
