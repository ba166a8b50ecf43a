import json
import subprocess
import sys

from hf_reference import build_hf_model, save_hf_model
from tiny_tokenizer import save_tokenizer


def test_generate_cli_prints_json_samples(tmp_path):
    save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=2, vocab_size=320), tmp_path)
    tokenizer = save_tokenizer(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.generate", "--model", str(tmp_path), "--prompt", "def f(x):",
         "--max-new-tokens", "6", "--temperature", "0.7", "-n", "2", "--json", "--dtype", "float32"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    samples = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(samples) == 2
    for sample in samples:
        assert set(sample) == {"completion", "token_ids"}
        assert 1 <= len(sample["token_ids"]) <= 6
        assert sample["completion"] == tokenizer.decode(sample["token_ids"])


def test_generate_cli_names_a_missing_model(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.generate", "--model", str(tmp_path / "nope"), "--prompt", "x"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "nope" in done.stderr
