"""`bash benchmarks/gpu_suite.sh --smoke`: every part of the GPU suite (random Qwen folder with the real tokenizer,
sampling against transformers, the update with its memory plan, two training steps of configs/azr_3b.py) runs at
tiny shapes on the CPU and writes suite.json."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_suite_smoke(tmp_path):
    run = subprocess.run(
        ["bash", "benchmarks/gpu_suite.sh", "--smoke"],
        cwd=REPO,
        env={**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable},  # make test runs without activating
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    assert suite["smoke"] and set(suite["parts"]) == {"model", "sampling", "update", "step"}
    assert all(p["exit_code"] == 0 for p in suite["parts"].values())
    sampling = suite["parts"]["sampling"]["result"]["rows"][0]
    assert sampling["same_greedy_tokens"] == 1.0  # float32: our sampler and transformers' generate agree
    update = suite["parts"]["update"]["result"]["rows"][0]
    assert update["attention"] == "xla" and update["planned_update_peak_GiB"] > 0
    step = suite["parts"]["step"]["result"]
    assert [r["step"] for r in step["steps"]] == [1, 2]
    assert step["planned_update_peak_GiB"] > 0
    assert (tmp_path / "model" / "tokenizer.json").is_file()
