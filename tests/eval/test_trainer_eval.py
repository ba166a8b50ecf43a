"""The trainer's periodic eval: the `eval` section of the run config, and a tiny run that logs eval scores."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import pytest
from transformers import AutoTokenizer

from azr_jax.config import ConfigError
from azr_jax.eval.config import EvalConfig
from azr_jax.eval.periodic import PeriodicEval
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.sampling import Sampler, SamplerConfig
from azr_jax.trainer.run_config import RunConfig, load_run_config

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def tiny_config(**eval_fields):
    spec = importlib.util.spec_from_file_location("tiny_config", REPO / "configs" / "tiny.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    for name, value in eval_fields.items():
        config.eval[name] = value
    return config


def test_the_eval_is_off_by_default():
    assert RunConfig().eval.every_steps == 0
    assert load_run_config(tiny_config()).eval.every_steps == 0


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"n": 0}, "eval.n"),
        ({"benchmarks": ("humaneval", "gsm8k")}, "eval.benchmarks: unknown"),
        ({"ks": (1, 5), "n": 2, "temperature": 0.8}, "eval.ks"),
        ({"every_steps": 5, "max_new_tokens": 4096}, "eval.max_new_tokens: 4096 exceeds sampler.max_new_tokens_cap"),
        (
            {"every_steps": 5, "prompts_per_call": 300, "max_new_tokens": 16, "n": 2, "temperature": 1.0},
            "eval.prompts_per_call",
        ),
    ],
)
def test_a_bad_eval_setting_is_named(fields, message):
    with pytest.raises(ConfigError, match=message):
        load_run_config(tiny_config(**fields))


def test_a_tiny_run_logs_eval_scores_with_its_metrics_and_writes_the_reports(tmp_path):
    command = [
        sys.executable,
        str(REPO / "train.py"),
        f"--config={REPO / 'configs' / 'tiny.py'}",
        f"--workdir={tmp_path}",
        "--config.trainer.steps=1",
        f"--config.model.path={REPO / 'assets' / 'tiny-random'}",  # machinery: the random model compiles faster
        "--config.rollout.max_response_tokens=16",
        "--config.sampler.max_new_tokens_cap=16",
        "--config.sampler.prompt_buckets=(128, 256, 384, 2048)",  # eval prompts are not cut like rollout prompts
        "--config.eval.every_steps=1",
        "--config.eval.benchmarks=('humaneval', 'aime24', 'cruxeval_i', 'cruxeval_o', 'lcb_execution_i')",
        f"--config.eval.data_dir={FIXTURES}",
        "--config.eval.limit=2",
        "--config.eval.max_new_tokens=8",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    [record] = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    report = json.loads((tmp_path / "eval" / "step_1" / "results.json").read_text())
    assert record["step"] == 1 and "abduction/propose/reward_mean" in record and record["time/eval_s"] > 0
    for name in ("humaneval", "aime24", "cruxeval_i", "cruxeval_o", "lcb_execution_i"):
        assert record[f"eval/{name}/pass@1"] == report["benchmarks"][name]["pass@1"]
        assert report["benchmarks"][name]["problems"] == 2
    # The code-reasoning sets are graded as the solver is: 8 tokens cannot hold an answer in the format.
    verdicts = [
        json.loads(line)["verdict"]
        for line in (tmp_path / "eval" / "step_1" / "samples" / "cruxeval_o.jsonl").read_text().splitlines()
    ]
    assert verdicts == ["no_answer", "no_answer"]
    assert record["eval/overall/pass@1"] == report["averages"]["pass@1"]["overall"]
    assert (tmp_path / "eval" / "step_1" / "results.md").is_file()
    assert len((tmp_path / "eval" / "step_1" / "samples" / "aime24.jsonl").read_text().splitlines()) == 2


def test_a_prompt_longer_than_the_largest_bucket_stops_the_run_before_it_starts():
    folder = REPO / "assets" / "tiny-random"
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.float32, param_dtype=jnp.float32)
    sampler = Sampler(model, AutoTokenizer.from_pretrained(folder), SamplerConfig(prompt_buckets=(128, 256)))
    config = EvalConfig(benchmarks=("humaneval",), limit=3, every_steps=1)
    with pytest.raises(
        ConfigError, match=r"a prompt of \d+ tokens exceeds the largest of sampler.prompt_buckets \(128, 256\)"
    ):
        PeriodicEval(config, sampler, sampler.tokenizer, None)
    with pytest.raises(ConfigError, match="eval.n: 4 greedy samples would all be identical"):
        PeriodicEval(EvalConfig(benchmarks=("aime24",), data_dir=str(FIXTURES), n=4), sampler, sampler.tokenizer, None)
    with pytest.raises(ConfigError, match="eval.benchmarks: benchmark lcb: no file found"):
        PeriodicEval(
            EvalConfig(benchmarks=("lcb",), data_dir=str(REPO / "no-such-dir")), sampler, sampler.tokenizer, None
        )
