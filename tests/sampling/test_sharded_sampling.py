from pathlib import Path

from hf_reference import build_hf_model, save_hf_model
from process_group import run_with_devices


def test_sharded_greedy_generation_equals_single_device(tmp_path):
    folder = save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=13, vocab_size=128), tmp_path)
    result = run_with_devices([Path(__file__).with_name("sharded_sampling_check.py"), folder], devices=8)
    assert result["same_tokens"]
    assert result["log_prob_gap"] <= 1e-5
