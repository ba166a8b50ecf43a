"""Published shapes of the Qwen2.5-Coder presets and the info command."""

import subprocess
import sys

import pytest
from hf_reference import build_hf_model, save_hf_model

from azr_jax.models import preset
from azr_jax.models.info import parameter_count


# Model cards print truncated counts (0.49B, 1.54B, 7.61B, 14.7B): the true count lies in [card, card + last digit).
# The 3B figure is exact (3,085,938,688, the published 3.09B).
@pytest.mark.parametrize(
    "name, low, high",
    [
        ("qwen2.5-coder-0.5b", 0.49e9, 0.50e9),
        ("qwen2.5-coder-1.5b", 1.54e9, 1.55e9),
        ("qwen2.5-coder-3b", 3085938688, 3085938688),
        ("qwen2.5-coder-7b", 7.61e9, 7.62e9),
        ("qwen2.5-coder-14b", 14.7e9, 14.8e9),
    ],
)
def test_preset_parameter_counts_match_the_model_cards(name, low, high):
    assert low <= parameter_count(preset(name)) <= high


def test_info_prints_a_preset(capsys):
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.models.info", "qwen2.5-coder-3b"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "parameters: 3085938688" in done.stdout
    assert "num_key_value_heads: 2" in done.stdout and "tie_word_embeddings: True" in done.stdout


def test_info_reads_a_folder(tmp_path):
    reference = build_hf_model("untied_mha_theta1e4")
    save_hf_model(reference, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.models.info", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"parameters: {sum(p.numel() for p in reference.parameters())}" in done.stdout


def test_info_rejects_an_unknown_name():
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.models.info", "qwen-9000"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "neither a preset" in done.stderr
