"""Multi-host training on one machine: processes joined by jax.distributed on localhost (CPU).

Two `train.py` processes (2 simulated devices each, one shared workdir) train 2 tiny steps on a 4-device mesh
spanning both (step 1, then a second launch resumes from its checkpoint for step 2); a single process with 4
devices trains the same steps on the same mesh shape without stopping. They must agree:
the same host-side metrics and samples, and parameters equal up to the order of float reductions (an all-reduce
across processes instead of within one). Only process 0 writes logs. Separately, two processes split sandbox
work with `process_share` and end with every verdict. All runs start together and share the machine's cores.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from process_group import free_port, run_together
from safetensors.numpy import load_file

from azr_jax.export import export

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
STEPS = 2  # the two-process run stops after step 1 and a second launch resumes it
# Machinery, not learning: the random 0.2M-parameter model compiles and steps much faster than the tiny coder.
FAST = [
    "--config.rollout.max_response_tokens=16",
    "--config.sampler.max_new_tokens_cap=16",
    f"--config.model.path={REPO / 'assets' / 'tiny-random'}",
]


def _train(workdir: Path, steps: int, *extra: str) -> list[str]:
    return [
        str(REPO / "train.py"),
        f"--config={REPO / 'configs' / 'tiny.py'}",
        f"--config.trainer.steps={steps}",
        f"--workdir={workdir}",
        *FAST,
        *extra,
    ]


def _distributed(port: int, process_id: int) -> list[str]:
    return [
        "--config.parallel.distributed=True",
        f"--config.parallel.coordinator_address=localhost:{port}",
        "--config.parallel.num_processes=2",
        f"--config.parallel.process_id={process_id}",
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """single: one process, 2 steps. multi: two processes, step 1, then a second launch resumes for step 2."""
    out = tmp_path_factory.mktemp("multihost")
    first, share_port, second = free_port(), free_port(), free_port()
    commands = {"single": (_train(out / "single", STEPS), 4)}
    for i in range(2):
        commands[f"train{i}"] = (_train(out / "multi", 1, *_distributed(first, i)), 2)
        commands[f"share{i}"] = (
            [str(HERE / "multihost_share_check.py"), str(share_port), str(i), str(out / f"share{i}.json")],
            1,
        )
    run_together(out, commands, pythonpath=[REPO], cwd=REPO)
    resumes = {f"resume{i}": (_train(out / "multi", STEPS, *_distributed(second, i)), 2) for i in range(2)}
    run_together(out, resumes, pythonpath=[REPO], cwd=REPO)
    return out


def _metrics(workdir: Path) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def _params(workdir: Path, out: Path) -> dict[str, np.ndarray]:
    export(workdir, out, dtype="float32")
    return load_file(out / "model.safetensors")


def test_two_processes_train_like_one_process_on_the_same_mesh(runs, tmp_path):
    multi, single = _metrics(runs / "multi"), _metrics(runs / "single")
    assert [r["step"] for r in multi] == [r["step"] for r in single] == list(range(1, STEPS + 1))
    for m, s in zip(multi, single):
        assert {k for k in m if not k.startswith("time/")} == {k for k in s if not k.startswith("time/")}
        for name, value in s.items():
            if name.startswith("rl/"):  # device results: reductions ordered differently across processes
                assert m[name] == pytest.approx(value, rel=1e-4, abs=1e-6), name
            elif not name.startswith("time/"):  # host results: rewards, rates, lengths, buffer sizes
                assert m[name] == value, name
    # The same sampled text: the processes sampled one global batch with the updated parameters of step 1.
    assert (runs / "multi" / "samples.txt").read_text() == (runs / "single" / "samples.txt").read_text()

    multi_params, single_params = (
        _params(runs / "multi", tmp_path / "multi"),
        _params(runs / "single", tmp_path / "single"),
    )
    assert multi_params.keys() == single_params.keys()
    difference = max(float(np.abs(multi_params[k] - single_params[k]).max()) for k in single_params)
    assert difference <= 1e-6


def test_a_multihost_run_resumes_from_its_checkpoint(runs):
    # Each process of a multi-host run keeps its own log in the workdir (train.<host>.<pid>.log); the resume is
    # logged there, off the console. Four launches: the two of step 1 start fresh, the two of step 2 resume.
    logs = [path.read_text() for path in (runs / "multi").glob("train.*.log")]
    resumed = [line for text in logs for line in text.splitlines() if "resumed from" in line]
    assert len(logs) == 4 and len(resumed) == 2 and all(line.endswith("at step 1") for line in resumed), resumed


def test_only_process_0_writes_logs(runs):
    for name, line in (("train", "step 1/1"), ("resume", "step 2/2")):  # the progress line
        assert line in (runs / f"{name}0.err").read_text() + (runs / f"{name}0.out").read_text()
        assert line not in (runs / f"{name}1.err").read_text() + (runs / f"{name}1.out").read_text()
    assert (runs / "multi" / "samples.txt").read_text().count("===== step 1 abduction/propose") == 1
    assert (runs / "multi" / "model" / "config.json").is_file() and (runs / "multi" / "run_config.json").is_file()
    assert sorted(int(p.name) for p in (runs / "multi" / "checkpoints").iterdir() if p.name.isdigit())[-1] == STEPS


def test_each_process_runs_its_share_of_the_sandbox_work_and_gets_every_verdict(runs):
    shares = [json.loads((runs / f"share{i}.json").read_text()) for i in range(2)]
    assert shares[0]["ran"] == [0, 2, 4] and shares[1]["ran"] == [1, 3]
    assert shares[0]["verdicts"] == shares[1]["verdicts"]
    statuses = [status for _, _, status in shares[0]["verdicts"]]
    assert statuses == ["ok", "ok", "runtime_error", "banned", "syntax_error"]
    assert shares[0]["verdicts"][0][1] == "42" and shares[0]["verdicts"][1][1] == repr("cba" * 300)
    for share in shares:  # host state that differs between processes is caught, naming the process
        assert "process(es) [1] differs" in share["differing"]
