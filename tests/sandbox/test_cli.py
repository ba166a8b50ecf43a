import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox import SandboxConfig
from sandbox.jail import NsjailBackend, nsjail_starts
from sandbox.probes import verify

REPO = Path(__file__).resolve().parents[2]


def sandbox_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def test_run_prints_one_json_result_per_line_in_input_order(tmp_path):
    lines = [
        {"id": "a", "program": "def f(a):\n    return a * 2", "input": "21"},
        {"id": 7, "program": "import os\ndef f(a):\n    return os.getcwd()", "input": "0"},
        {"id": "c", "program": "def f(a, b):\n    return [a, b]", "input": "\n[1,\n 2],\n b=3\n"},
    ]
    path = tmp_path / "programs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    done = sandbox_cli("--timeout", "2", "run", str(path))
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 7, "c"]
    assert [o["status"] for o in out] == ["ok", "banned", "ok"]
    assert out[0]["output"] == "42" and out[2]["output"] == "[[1, 2], 3]"
    assert set(out[0]) == {"id", "status", "output", "error", "seconds"}

    no_policy = sandbox_cli("--timeout", "2", "run", "--no-policy", str(path))
    out = [json.loads(line) for line in no_policy.stdout.splitlines()]
    assert out[1]["status"] == "ok" and out[1]["output"] == "'/tmp'"  # ran, inside the jail's tmpfs


def test_run_names_a_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "program": "def f(a):\\n    return a", "input": "1"}\n{"id": 2}\n')
    done = sandbox_cli("run", str(path))
    assert done.returncode == 2 and "bad.jsonl:2" in done.stderr


def test_check_verifies_every_protection_with_nsjail():
    if nsjail_starts(NsjailBackend(SandboxConfig())) is not None:
        pytest.skip("nsjail cannot start on this machine; the process backend is covered elsewhere")
    backend, verdicts = verify(SandboxConfig(backend="nsjail"))
    assert backend == "nsjail"
    assert [v for v in verdicts if not v.holds] == []
    assert len(verdicts) >= 11
