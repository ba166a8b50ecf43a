"""One evaluation sandbox per test session (starting a pool with math_verify preloaded costs ~1 s)."""

import os

import pytest

from azr_jax.eval.config import EvalConfig
from azr_jax.eval.harness import eval_sandbox_config
from sandbox import Executor, SandboxConfig

# Set in the test process before any worker starts: a jailed script must never see it.
CANARY = "azr-eval-canary-41d2"
os.environ["AZR_TEST_SANDBOX_CANARY"] = CANARY

TIMEOUT_S = 3.0  # one test script's wall clock in these tests


@pytest.fixture(autouse=True)
def no_benchmark_locations_from_the_environment(monkeypatch):
    """A developer's AZR_EVAL_* variables must not change which files the tests read."""
    for name in [n for n in os.environ if n.startswith("AZR_EVAL_")]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def canary():
    """A fixture, not an import: `from conftest import ...` finds whichever tests/*/conftest.py came first."""
    return CANARY


@pytest.fixture(scope="session")
def eval_config():
    return EvalConfig(timeout_s=TIMEOUT_S, case_timeout_s=1.0)


@pytest.fixture(scope="session")
def eval_executor(eval_config):
    with Executor(eval_sandbox_config(eval_config, SandboxConfig(workers=2))) as executor:
        yield executor
