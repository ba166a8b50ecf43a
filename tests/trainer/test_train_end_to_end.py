"""`train.py` on the tiny CPU config: a whole run, and a run killed mid-step that resumes exactly."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GROUPS = [f"{t}/{r}" for t in ("abduction", "deduction", "induction") for r in ("propose", "solve")]
# Machinery, not learning: the random 0.2M-parameter model compiles and steps much faster than the tiny coder.
FAST = [
    "--config.rollout.max_response_tokens=24",
    "--config.sampler.max_new_tokens_cap=24",
    "--config.checkpoint.every_steps=1",
    f"--config.model.path={REPO / 'assets' / 'tiny-random'}",
]


def train_command(workdir: Path, steps: int) -> list[str]:
    return [
        sys.executable,
        str(REPO / "train.py"),
        f"--config={REPO / 'configs' / 'tiny.py'}",
        f"--config.trainer.steps={steps}",
        f"--workdir={workdir}",
        *FAST,
    ]


def metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def deterministic_part(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("time/")}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("full")
    done = subprocess.run(train_command(workdir, 3), capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    (workdir.parent / "full.console").write_text(done.stdout + done.stderr)
    return workdir


def test_a_run_writes_metrics_for_all_six_groups_and_checkpoints(full_run):
    records = metrics(full_run)
    assert [r["step"] for r in records] == [1, 2, 3]
    for group in GROUPS:
        assert f"{group}/reward_mean" in records[-1] and f"{group}/format_error_rate" in records[-1]
    assert {"rl/loss", "rl/grad_norm", "rl/logprob_gap_max_abs", "time/sample_s", "time/host_share"} <= set(records[-1])
    assert records[-1]["rl/logprob_gap_max_abs"] < 1e-4  # the sampler and the trainer compute the same model
    checkpoints = sorted(int(p.name) for p in (full_run / "checkpoints").iterdir() if p.name.isdigit())
    assert checkpoints[-1] == 3 and len(checkpoints) <= 2  # keep = 2
    assert (full_run / "model" / "config.json").is_file() and (full_run / "model" / "tokenizer.json").is_file()
    assert (full_run / "tensorboard").is_dir() and "reward" in (full_run / "samples.txt").read_text()
    assert any((full_run / "compile_cache").iterdir())  # a resumed run loads its programs from here


def test_the_console_has_the_progress_bar_a_line_per_step_and_no_library_info(full_run):
    # tqdm redraws its bar with carriage returns; what stays on a terminal is the text after the last one.
    lines = [line.rsplit("\r", 1)[-1] for line in (full_run.parent / "full.console").read_text().splitlines()]
    text = [line for line in lines if line.strip() and "it/s]" not in line and "s/it]" not in line]
    steps = [line for line in text if line.startswith("step ")]
    assert [line.split()[1] for line in steps] == ["1/3", "2/3", "3/3"], text
    assert all(line.startswith(("WARNING", "ERROR")) for line in text if line not in steps), text
    log = (full_run / "train.log").read_text()
    assert "INFO absl:" in log and "checkpoint" in log  # orbax's messages went to the file instead


def test_a_run_killed_mid_step_resumes_at_its_checkpoint_and_continues_identically(full_run, tmp_path):
    workdir = tmp_path / "killed"
    process = subprocess.Popen(train_command(workdir, 3), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.time() + 600
    while not (workdir / "checkpoints" / "2").is_dir():  # orbax renames the step folder only once it is complete
        assert process.poll() is None and time.time() < deadline, "the run ended before checkpointing step 2"
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)  # in the middle of step 3
    process.wait()
    assert [r["step"] for r in metrics(workdir)] == [1, 2]

    done = subprocess.run(train_command(workdir, 3), capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    log = (workdir / "train.log").read_text()
    assert "resumed from" in log and "at step 2" in log
    resumed = metrics(workdir)
    assert [r["step"] for r in resumed] == [1, 2, 3]
    # Same parameters, optimizer state, PRNG keys, numpy RNG and buffers as the run that was never killed.
    assert deterministic_part(resumed[-1]) == deterministic_part(metrics(full_run)[-1])


def test_a_missing_model_path_fails_at_once_naming_it(tmp_path):
    done = subprocess.run(
        train_command(tmp_path, 1) + [f"--config.model.path={tmp_path / 'no-such-model'}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode != 0 and "no-such-model" in done.stderr


def test_a_bad_config_field_is_named(tmp_path):
    done = subprocess.run(
        train_command(tmp_path, 1) + ["--config.rollout.batch_size=-3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode != 0 and "batch_size" in done.stderr


def test_a_bucket_workdir_is_refused_naming_it():
    from azr_jax.config import ConfigError
    from azr_jax.trainer.loop import train
    from azr_jax.trainer.run_config import default_run_config

    with pytest.raises(ConfigError, match="workdir gs://bucket/run: .*mount the bucket"):
        train(default_run_config(), "gs://bucket/run")
