"""`Executor.run_scripts`: whole test scripts in the jail, outside the proposal policy, each with its own clock."""

import time

import pytest

from sandbox import Executor, SandboxConfig, Status


def test_a_script_passes_when_it_runs_to_its_end_and_fails_on_any_exception_or_exit(eval_executor):
    scripts = {
        "assert sum([1, 2]) == 3": (Status.OK, None),
        "assert sum([1, 2]) == 4, 'sum'": (Status.RUNTIME_ERROR, "AssertionError"),
        "import sys\nsys.exit(0)\nassert False": (Status.RUNTIME_ERROR, "SystemExit"),
        "exit()": (Status.RUNTIME_ERROR, "SystemExit"),
        "import os\nos._exit(0)": (Status.RUNTIME_ERROR, "Exit"),
        "raise KeyboardInterrupt": (Status.RUNTIME_ERROR, "KeyboardInterrupt"),
        "def f(:": (Status.SYNTAX_ERROR, "SyntaxError"),
        "x = 'a' * (10 ** 10)": (Status.MEMORY, "MemoryError"),
        "assert __name__ == '__main__'": (Status.OK, None),
    }
    results = eval_executor.run_scripts(list(scripts))
    assert [(r.status, r.error_type) for r in results] == list(scripts.values())
    assert results[1].error == "sum"


def test_the_proposal_policy_does_not_apply_but_the_jail_holds(eval_executor, canary):
    probes = [
        "import os, numpy\nassert numpy.arange(3).sum() == 3",  # banned for proposals, fine for benchmark tests
        f"import os\nassert {canary!r} not in str(dict(os.environ))",  # the host's environment is not inherited
        "open('/etc/passwd')",  # no /etc in the jail
        "import socket\nsocket.socket()",  # seccomp: EPERM
    ]
    results = eval_executor.run_scripts(probes)
    assert [r.status for r in results] == [Status.OK, Status.OK, Status.RUNTIME_ERROR, Status.RUNTIME_ERROR]
    assert results[2].error_type == "FileNotFoundError" and results[3].error_type == "PermissionError"


def test_each_script_has_its_own_wall_clock_and_results_keep_input_order(eval_executor):
    loop = "while True:\n    pass"
    started = time.monotonic()
    results = eval_executor.run_scripts([loop, "assert True", loop, "assert 1"], timeout_s=[0.5, 0.5, 1.5, 0.5])
    elapsed = time.monotonic() - started
    assert [r.status for r in results] == [Status.TIMEOUT, Status.OK, Status.TIMEOUT, Status.OK]
    assert 0.5 <= results[0].seconds < 1.5 and 1.5 <= results[2].seconds < 2.5
    assert elapsed < 5.0  # two workers: the loops run side by side, nothing waits for the pool's stall limit


def test_a_script_longer_than_the_pools_timeout_is_not_killed_as_a_stuck_worker():
    with Executor(SandboxConfig(workers=2, timeout_s=0.5)) as executor:
        slow = "import time\ntime.sleep(2.8)"  # longer than 0.5 s + the pool's 2 s grace
        results = executor.run_scripts([slow, "assert True"], timeout_s=5.0)
        assert [r.status for r in results] == [Status.OK, Status.OK]
        assert executor.worker_restarts == 0
        # Ordinary jobs in the same pool keep the pool's limit and the policy.
        runs = executor.run(
            [("def f(a):\n    while True:\n        pass", "1"), ("import os\ndef f(a):\n    return a", "1")]
        )
        assert [r.status for r in runs] == [Status.TIMEOUT, Status.BANNED]


def test_bad_timeouts_are_refused(eval_executor):
    with pytest.raises(ValueError, match="timeouts"):
        eval_executor.run_scripts(["assert True"], timeout_s=[1.0, 2.0])
    with pytest.raises(ValueError, match="> 0"):
        eval_executor.run_scripts(["assert True"], timeout_s=0)
