"""Hugging Face folders: load -> save_pretrained -> transformers loads the same model; sharded checkpoints."""

import json

import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from hf_reference import build_hf_model, hf_logits, save_hf_model
from transformers import Qwen2ForCausalLM as HFQwen2ForCausalLM

from azr_jax.models import Qwen2ForCausalLM, UnsupportedConfigError

ROUND_TRIP_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def reference_folder(tmp_path_factory):
    reference = build_hf_model("untied_gqa4_theta1e6", seed=5)
    return reference, save_hf_model(reference, tmp_path_factory.mktemp("reference"))


@pytest.mark.parametrize("tied", [False, True])
def test_save_pretrained_round_trips_through_transformers(tmp_path, tied):
    reference = build_hf_model("tied_gqa2_theta1e6" if tied else "untied_mha_theta1e4", seed=6)
    ours = Qwen2ForCausalLM.from_pretrained(save_hf_model(reference, tmp_path / "in"), dtype=jnp.float32)
    ours.save_pretrained(tmp_path / "out")
    reloaded = HFQwen2ForCausalLM.from_pretrained(tmp_path / "out", attn_implementation="eager").eval()
    assert reloaded.config.tie_word_embeddings == tied
    ids = np.random.default_rng(0).integers(0, reference.config.vocab_size, (2, 9))
    np.testing.assert_allclose(
        hf_logits(reloaded, ids), np.asarray(ours(jnp.asarray(ids))), rtol=0, atol=ROUND_TRIP_TOLERANCE
    )
    np.testing.assert_allclose(hf_logits(reloaded, ids), hf_logits(reference, ids), rtol=0, atol=ROUND_TRIP_TOLERANCE)


def test_sharded_checkpoint_with_index_loads_both_ways(tmp_path, reference_folder):
    reference, folder = reference_folder
    ours = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32)
    ours.save_pretrained(tmp_path / "sharded", max_shard_bytes=40_000)
    files = sorted(p.name for p in (tmp_path / "sharded").glob("*.safetensors"))
    index = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())
    assert len(files) > 2 and files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    assert set(index["weight_map"].values()) == set(files)
    assert "lm_head.weight" in index["weight_map"]

    ids = np.random.default_rng(1).integers(0, reference.config.vocab_size, (2, 6))
    expected = hf_logits(reference, ids)
    again = Qwen2ForCausalLM.from_pretrained(tmp_path / "sharded", dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(again(jnp.asarray(ids))), expected, rtol=0, atol=1e-4)
    # transformers writes its own sharded layout too: ours must read it.
    reference.save_pretrained(tmp_path / "hf_sharded", max_shard_size="50KB")
    assert (tmp_path / "hf_sharded" / "model.safetensors.index.json").is_file()
    from_hf_shards = Qwen2ForCausalLM.from_pretrained(tmp_path / "hf_sharded", dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(from_hf_shards(jnp.asarray(ids))), expected, rtol=0, atol=1e-4)


def test_bfloat16_export_is_the_rounded_float32_model(tmp_path, reference_folder):
    _, folder = reference_folder
    ours = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32)
    ours.save_pretrained(tmp_path / "bf16", dtype=jnp.bfloat16)
    config = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert config["torch_dtype"] == "bfloat16"
    reloaded = HFQwen2ForCausalLM.from_pretrained(tmp_path / "bf16")
    q = reloaded.model.layers[0].self_attn.q_proj.weight
    expected = np.asarray(ours.layers[0].attn.q_kernel[...]).reshape(q.shape[1], -1).T.astype(ml_dtypes.bfloat16)
    np.testing.assert_array_equal(q.detach().float().numpy(), expected.astype(np.float32))


def test_params_are_stored_in_param_dtype(reference_folder):
    _, folder = reference_folder
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16)
    assert model.layers[0].mlp.up_kernel[...].dtype == jnp.bfloat16
    assert model(jnp.zeros((1, 3), jnp.int32)).dtype == jnp.float32


def test_missing_path_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        Qwen2ForCausalLM.from_pretrained(tmp_path / "does-not-exist")


def test_unknown_hub_id_offline_says_which_local_path_to_pass(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="hf download no-such-org/no-such-model --local-dir DIR"):
        Qwen2ForCausalLM.from_pretrained("no-such-org/no-such-model")


def test_folder_without_weights_is_a_clear_error(tmp_path, reference_folder):
    _, folder = reference_folder
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="neither model.safetensors nor model.safetensors.index.json"):
        Qwen2ForCausalLM.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, "unsupported architecture"),
        ({"hidden_act": "gelu"}, "hidden_act 'gelu' is not supported"),
        ({"use_sliding_window": True}, "use_sliding_window=true is not supported"),
        ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e6, "factor": 4.0}}, "rope scaling 'yarn'"),
    ],
)
def test_unsupported_config_is_rejected_with_the_reason(tmp_path, reference_folder, change, message):
    _, folder = reference_folder
    config = json.loads((folder / "config.json").read_text())
    config.update(change)
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedConfigError, match=message):
        Qwen2ForCausalLM.from_pretrained(tmp_path)


def test_transformers_4_config_layout_is_read(tmp_path, reference_folder):
    """transformers 4.x writes rope_theta at the top level and no rope_parameters."""
    reference, folder = reference_folder
    config = json.loads((folder / "config.json").read_text())
    theta = config.pop("rope_parameters")["rope_theta"]
    config.update(rope_theta=theta, rope_scaling=None, use_sliding_window=False, sliding_window=None)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").symlink_to(folder / "model.safetensors")
    ids = np.random.default_rng(2).integers(0, reference.config.vocab_size, (1, 5))
    ours = Qwen2ForCausalLM.from_pretrained(tmp_path, dtype=jnp.float32)
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(ids))), hf_logits(reference, ids), rtol=0, atol=1e-4)
