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
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


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


def test_run_site_packages_lets_programs_import_installed_packages(tmp_path):
    path = tmp_path / "numpy.jsonl"
    path.write_text(
        json.dumps({"id": 1, "program": "import numpy\ndef f(a):\n    return int(numpy.sum(a))", "input": "[1, 2]"})
        + "\n"
    )
    plain, with_packages = sandbox_cli("run", str(path)), sandbox_cli("run", "--site-packages", str(path))
    assert json.loads(plain.stdout)["status"] == "runtime_error"  # ModuleNotFoundError: not bound into the jail
    assert json.loads(with_packages.stdout) | {"seconds": 0} == {
        "id": 1,
        "status": "ok",
        "output": "3",
        "error": None,
        "seconds": 0,
    }


def test_grade_prints_one_verdict_per_line_in_order(tmp_path):
    double = "def f(a):\n    return 2 * a"
    lines = [
        {"id": "d1", "task": "deduction", "program": double, "input": "3", "output": "6", "answer": " 6 "},
        {"id": "a1", "task": "abduction", "program": double, "output": "6", "answer": "3"},
        {"id": "i1", "task": "induction", "inputs": ["1", "2"], "outputs": ["2", "4"], "answer": double},
        {
            "id": "d2",
            "task": "deduction",
            "program": double,
            "input": "3",
            "output": "6",
            "answer": "type('X', (), {'__eq__': lambda s, o: True})()",
        },
        {
            "id": "i2",
            "task": "induction",
            "inputs": ["1", "2"],
            "outputs": ["2", "4"],
            "answer": "def f(a):\n    class Y:\n        def __eq__(s, o):\n            return True\n    return Y()",
        },
        {"id": "a2", "task": "abduction", "program": double, "output": "6", "answer": "1 + 2"},
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    done = sandbox_cli("--timeout", "2", "grade", str(path))
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["id"], o["correct"], o["status"]) for o in out] == [
        ("d1", True, "ok"),
        ("a1", True, "ok"),
        ("i1", True, "ok"),
        ("d2", False, "bad_input"),
        ("i2", False, "ok"),
        ("a2", False, "bad_input"),
    ]
    assert "not plain data" in out[4]["error"] and set(out[0]) == {"id", "correct", "status", "error"}
    expressions = sandbox_cli("--timeout", "2", "grade", "--answer-values", "expressions", str(path))
    assert [json.loads(line)["correct"] for line in expressions.stdout.splitlines()] == [True] * 3 + [False] * 2 + [
        True
    ]


@pytest.mark.parametrize(
    "line, message",
    [
        ({"task": "proof"}, "'task' must be one of"),
        ({"task": "abduction", "program": "p", "output": "1"}, "'answer'"),
        ({"task": "induction", "inputs": [], "outputs": [], "answer": "a"}, "at least one"),
    ],
)
def test_grade_names_a_bad_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    done = sandbox_cli("grade", str(path))
    assert done.returncode == 2 and "bad.jsonl:1" in done.stderr and message in done.stderr, done.stderr


def test_check_verifies_every_protection_with_nsjail():
    if nsjail_starts(NsjailBackend(SandboxConfig())) is not None:
        pytest.skip("nsjail cannot start on this machine; the process backend is covered elsewhere")
    backend, verdicts = verify(SandboxConfig(backend="nsjail"))
    assert backend == "nsjail"
    assert [v for v in verdicts if not v.holds] == []
    assert len(verdicts) >= 11
