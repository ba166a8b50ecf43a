import json
import subprocess
import sys
from types import SimpleNamespace

from hf_reference import build_hf_model, save_hf_model
from tiny_models import tiny_config
from tiny_tokenizer import save_tokenizer

from azr_jax.sampling import end_of_sequence_ids


def test_generate_cli_prints_json_samples(tmp_path):
    save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=2, vocab_size=320), tmp_path)
    tokenizer = save_tokenizer(tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "azr_jax.generate",
            "--model",
            str(tmp_path),
            "--prompt",
            "def f(x):",
            "--max-new-tokens",
            "6",
            "--temperature",
            "0.7",
            "-n",
            "2",
            "--json",
            "--dtype",
            "float32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    samples = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(samples) == 2
    for sample in samples:
        assert set(sample) == {"completion", "token_ids"}
        assert 1 <= len(sample["token_ids"]) <= 6
        assert sample["completion"] == tokenizer.decode(sample["token_ids"])


def generate_greedy(folder) -> list[int]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "azr_jax.generate",
            "--model",
            str(folder),
            "--prompt",
            "def f(x):",
            "--max-new-tokens",
            "8",
            "--temperature",
            "0",
            "--json",
            "--dtype",
            "float32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)["token_ids"]


def test_generate_cli_stops_at_the_model_configs_end_of_sequence_id(tmp_path):
    save_hf_model(build_hf_model("tied_gqa2_theta1e6", seed=5, vocab_size=320), tmp_path)
    tokenizer = save_tokenizer(tmp_path)
    free_run = generate_greedy(tmp_path)
    assert tokenizer.eos_token_id not in free_run
    # The greedy run's third token becomes config.json's EOS (the tokenizer's stays another id): the same greedy
    # run now ends there, that token included.
    config = json.loads((tmp_path / "config.json").read_text())
    config["eos_token_id"] = [free_run[2], tokenizer.eos_token_id]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert generate_greedy(tmp_path) == free_run[: free_run.index(free_run[2]) + 1]


def test_generate_cli_names_a_missing_model(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "azr_jax.generate", "--model", str(tmp_path / "nope"), "--prompt", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "nope" in done.stderr


def test_end_of_sequence_ids_join_the_model_configs_and_the_tokenizers():
    tokenizer = SimpleNamespace(eos_token_id=7)
    assert end_of_sequence_ids(tiny_config(eos_token_id=7), tokenizer) == [7]
    assert end_of_sequence_ids(tiny_config(eos_token_id=(9, 2)), tokenizer) == [2, 7, 9]
    assert end_of_sequence_ids(tiny_config(eos_token_id=(9, 2))) == [2, 9]
    assert end_of_sequence_ids(tiny_config(eos_token_id=None), SimpleNamespace(eos_token_id=None)) == []
