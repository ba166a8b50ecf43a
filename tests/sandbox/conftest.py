"""Shared executors: starting a pool costs ~0.3 s, so each kind is started once per test session."""

import os
import sys

import pytest

from sandbox import Executor, SandboxConfig

# Set in the parent before any worker starts: a jailed program must never see it.
CANARY_SECRET = "azr-canary-7f3a9c"
os.environ["AZR_SANDBOX_CANARY"] = CANARY_SECRET


@pytest.fixture(scope="session")
def executor():
    """The default policy, the paper's no-helpers rule, a short timeout."""
    with Executor(SandboxConfig(timeout_s=2.0)) as ex:
        yield ex


@pytest.fixture(scope="session")
def raw_executor():
    """Policy off: programs reach the jail as they are (isolation and determinism tests). nsjail is
    required, not `auto`: the hostile suite is about the jail and must not quietly test the fallback."""
    config = SandboxConfig(backend="nsjail", timeout_s=2.0, check_policy=False, allow_helpers=True)
    with Executor(config) as ex:
        yield ex


@pytest.fixture(scope="session")
def seed_executor():
    """Seed programs import numpy/sympy now and then: the test venv's packages are bound read-only."""
    with Executor(SandboxConfig(allow_helpers=True, site_packages=True, timeout_s=10.0)) as ex:
        yield ex


@pytest.fixture(scope="session")
def canary_secret():
    return CANARY_SECRET


def pytest_report_header(config):
    return f"sandbox tests: python {sys.version.split()[0]}"
