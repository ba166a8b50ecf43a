"""`python -m azr_jax.export`: a checkpoint in a workdir -> a Hugging Face folder that transformers loads.

The reference is transformers' PyTorch Qwen2 loading the exported folder: its logits must equal those of our model
holding the checkpoint's parameters (float32, 1e-5).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax import nnx
from safetensors.numpy import load_file
from test_checkpoint import tiny_model, tiny_train_state
from tiny_models import tiny_config
from transformers import AutoModelForCausalLM, AutoTokenizer

from azr_jax.checkpoint import CheckpointConfig, Checkpointer
from azr_jax.export import main

sys.path.insert(0, str(Path(__file__).parent / "sampling"))
from tiny_tokenizer import CORPUS, save_tokenizer

VOCAB = 300  # the tiny tokenizer's
CONFIG = tiny_config(VOCAB, tied=False, bos_token_id=None, eos_token_id=0)
LOGIT_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A workdir as the trainer leaves it: W/model/{config.json, tokenizer}, checkpoints 3 and 5 (different)."""
    workdir = tmp_path_factory.mktemp("run")
    (workdir / "model").mkdir()
    (workdir / "model" / "config.json").write_text(json.dumps(CONFIG.to_hf_dict()))
    save_tokenizer(workdir / "model", VOCAB)
    models = {3: tiny_model(CONFIG, seed=3), 5: tiny_model(CONFIG, seed=5)}
    with Checkpointer(workdir / "checkpoints", CheckpointConfig(every_steps=1)) as checkpointer:
        for step, model in models.items():
            checkpointer.save(step, tiny_train_state(model, step=step), {"step": step})
    return workdir, models


def our_logits(model, ids: np.ndarray) -> np.ndarray:
    return np.asarray(model(jnp.asarray(ids)))


def hf_logits(folder: Path, ids: np.ndarray) -> np.ndarray:
    reference = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    with torch.no_grad():
        return reference(torch.as_tensor(ids)).logits.float().numpy()


def test_export_loads_in_transformers_with_the_checkpoints_logits(workdir, tmp_path, capsys):
    workdir, models = workdir
    out = tmp_path / "hf"
    main(["--workdir", str(workdir), "--out", str(out), "--dtype", "float32"])
    assert f"exported step 5 of {workdir}" in capsys.readouterr().out  # the latest by default
    ids = np.random.default_rng(0).integers(0, VOCAB, (2, 11))
    np.testing.assert_allclose(hf_logits(out, ids), our_logits(models[5], ids), rtol=0, atol=LOGIT_TOLERANCE)
    # Checkpoints 3 and 5 hold different weights, so this also shows which one was read.
    assert np.abs(our_logits(models[3], ids) - our_logits(models[5], ids)).max() > 100 * LOGIT_TOLERANCE

    tokenizer = AutoTokenizer.from_pretrained(out)
    original = AutoTokenizer.from_pretrained(workdir / "model")
    assert tokenizer(CORPUS[1])["input_ids"] == original(CORPUS[1])["input_ids"]
    assert tokenizer.decode(tokenizer(CORPUS[1])["input_ids"]) == CORPUS[1]
    assert tokenizer.eos_token == "<|endoftext|>" and len(tokenizer) == VOCAB


def test_export_of_a_chosen_step_in_bfloat16(workdir, tmp_path):
    workdir, models = workdir
    out = tmp_path / "hf"
    main(["--workdir", str(workdir), "--step", "3", "--out", str(out)])  # bfloat16 by default
    config = json.loads((out / "config.json").read_text())
    assert config["dtype"] == "bfloat16" and config["hidden_size"] == CONFIG.hidden_size
    tensors = load_file(out / "model.safetensors")
    embed = nnx.state(models[3], nnx.Param)["embed_tokens"].get_value()
    stored = tensors["model.embed_tokens.weight"]
    assert stored.dtype == jnp.bfloat16
    np.testing.assert_array_equal(stored, np.asarray(embed).astype(jnp.bfloat16))


def test_export_never_reads_the_optimizer_state(workdir, tmp_path):
    workdir, models = workdir
    run = tmp_path / "run"
    shutil.copytree(workdir, run)
    shutil.rmtree(run / "checkpoints" / "5" / "optimizer")
    out = tmp_path / "hf"
    main(["--workdir", str(run), "--out", str(out), "--dtype", "float32"])
    ids = np.random.default_rng(1).integers(0, VOCAB, (1, 7))
    np.testing.assert_allclose(hf_logits(out, ids), our_logits(models[5], ids), rtol=0, atol=LOGIT_TOLERANCE)


def test_export_errors_name_what_is_missing(workdir, tmp_path, capsys):
    workdir, _ = workdir
    with pytest.raises(SystemExit, match=r"no checkpoint for step 4 in .*checkpoints \(available steps: 3, 5\)"):
        main(["--workdir", str(workdir), "--step", "4", "--out", str(tmp_path / "a")])
    with pytest.raises(SystemExit, match=rf"{tmp_path}/empty/model/config.json does not exist"):
        main(["--workdir", str(tmp_path / "empty"), "--out", str(tmp_path / "b")])
    bare = tmp_path / "bare"
    (bare / "model").mkdir(parents=True)
    shutil.copy(workdir / "model" / "config.json", bare / "model")
    with pytest.raises(SystemExit, match=rf"checkpoint directory {bare}/checkpoints does not exist"):
        main(["--workdir", str(bare), "--out", str(tmp_path / "c")])
    (bare / "checkpoints").mkdir()
    with pytest.raises(SystemExit, match=rf"no checkpoint in {bare}/checkpoints"):
        main(["--workdir", str(bare), "--out", str(tmp_path / "c")])
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match=f"{occupied} is not empty; pass --overwrite"):
        main(["--workdir", str(workdir), "--out", str(occupied)])
    main(["--workdir", str(workdir), "--out", str(occupied), "--overwrite"])
    assert (occupied / "notes.txt").read_text() == "mine" and (occupied / "model.safetensors").is_file()
