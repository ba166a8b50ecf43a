"""The logical-axis table, and sharding over a (data=2, fsdp=2, tensor=2) mesh of 8 simulated CPU devices (in a
process of its own: `process_group`)."""

from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from hf_reference import build_hf_model, save_hf_model
from jax.sharding import AbstractMesh, PartitionSpec
from process_group import run_with_devices

from azr_jax.models import Qwen2ForCausalLM, make_mesh, preset, state_shardings
from azr_jax.models.sharding import LOGICAL_AXIS_RULES, ShardingRuleError, logical_to_physical, partition_spec


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory):
    folder = save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=3, vocab_size=128), tmp_path_factory.mktemp("m"))
    return run_with_devices([Path(__file__).with_name("sharded_forward_check.py"), folder], devices=8)


def test_sharded_logits_equal_single_device_logits(sharded_run):
    assert sharded_run["devices"] == 8
    assert sharded_run["max_abs_diff"] <= 1e-5


def test_parameters_are_really_split(sharded_run):
    params = sharded_run["params"]
    expected = {
        "embed_tokens": (["tensor", "fsdp"], [64, 32]),
        "layers.0.attn.q_kernel": (["fsdp", "tensor", None], [32, 2, 16]),
        "layers.0.attn.k_kernel": (["fsdp", "tensor", None], [32, 1, 16]),
        "layers.0.attn.o_kernel": (["tensor", None, "fsdp"], [2, 16, 32]),
        "layers.0.mlp.gate_kernel": (["fsdp", "tensor"], [32, 40]),
        "layers.0.mlp.down_kernel": (["tensor", "fsdp"], [40, 32]),
        "layers.1.input_norm.scale": ([None], [64]),
    }
    for name, (spec, shard_shape) in expected.items():
        assert params[name]["spec"] == spec, name
        assert params[name]["shard_shape"] == shard_shape, name


def test_activations_stay_batch_sharded(sharded_run):
    assert sharded_run["logits_spec"][0] == ["data", "fsdp"]


def test_unknown_logical_axis_raises():
    mesh = make_mesh(devices=jax.devices()[:1])
    with pytest.raises(ShardingRuleError, match="'experts' has no sharding rule"):
        partition_spec(("embed", "experts"), (4, 4), mesh, what="moe.kernel")


def test_the_table_maps_names_to_mesh_axes():
    assert logical_to_physical(("embed", "heads", "head_dim")) == PartitionSpec("fsdp", "tensor", None)
    assert logical_to_physical(("batch", "kv_heads", "length", "head_dim")) == PartitionSpec(
        ("data", "fsdp"), "tensor", None, None
    )


def test_two_dimensions_on_one_mesh_axis_raise_instead_of_replicating():
    # An activation's batch rows already use fsdp, so an embed dimension beside them cannot be split over it too.
    with pytest.raises(ShardingRuleError, match="hidden: logical axes \\('batch', 'length', 'embed'\\) would split"):
        logical_to_physical(("batch", "length", "embed"), what="hidden")
    colliding = dict(LOGICAL_AXIS_RULES, experts="tensor")
    with pytest.raises(ShardingRuleError, match="more than once"):
        partition_spec(("experts", "mlp"), (4, 4), make_mesh(devices=jax.devices()[:1]), colliding)


def test_a_rule_naming_an_axis_the_mesh_lacks_raises():
    rules = dict(LOGICAL_AXIS_RULES, experts="expert")
    with pytest.raises(ShardingRuleError, match="'experts' is split over \\['expert'\\]"):
        partition_spec(("experts",), (4,), make_mesh(devices=jax.devices()[:1]), rules)


def test_a_dimension_the_mesh_axes_do_not_divide_is_replicated_and_size_1_axes_are_left_out():
    mesh = AbstractMesh((1, 2, 4), ("data", "fsdp", "tensor"))  # shapes only: no devices needed
    # Qwen2.5-3B's case: 2 KV heads on a tensor axis of 4 stay whole; 8 query heads are split.
    assert partition_spec(("embed", "kv_heads", "head_dim"), (8, 2, 16), mesh) == PartitionSpec("fsdp", None, None)
    assert partition_spec(("embed", "heads", "head_dim"), (8, 8, 16), mesh) == PartitionSpec("fsdp", "tensor", None)
    assert partition_spec(("batch", "length"), (6, 3), mesh) == PartitionSpec("fsdp", None)


def test_parameter_without_logical_axes_raises():
    class Bare(nnx.Module):
        def __init__(self):
            self.w = nnx.Param(jnp.zeros((2, 2)))

    with pytest.raises(ShardingRuleError, match="w: parameter has no logical_axes"):
        state_shardings(nnx.state(Bare()), make_mesh(devices=jax.devices()[:1]))


def test_every_parameter_of_the_3b_preset_has_a_rule():
    abstract = nnx.eval_shape(lambda: Qwen2ForCausalLM(preset("qwen2.5-coder-3b"), rngs=nnx.Rngs(0)))
    shardings = state_shardings(nnx.state(abstract), make_mesh(devices=jax.devices()[:1]))
    assert len(nnx.to_flat_state(shardings)) == 1 + 36 * 12 + 1


def test_mesh_shape_errors_name_the_sizes():
    with pytest.raises(ValueError, match="data\\*fsdp\\*tensor = 4 but there are 1 devices"):
        make_mesh(data=2, fsdp=2, tensor=1, devices=jax.devices()[:1])
