import json
import os
import subprocess
import sys
from pathlib import Path

from hf_reference import build_hf_model, save_hf_model


def test_sharded_greedy_generation_equals_single_device(tmp_path):
    folder = save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=13, vocab_size=128), tmp_path)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
    script = Path(__file__).with_name("sharded_sampling_check.py")
    done = subprocess.run([sys.executable, str(script), str(folder)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same_tokens"]
    assert result["log_prob_gap"] <= 1e-5
