"""A secure, fast executor for untrusted model-written Python (nsjail), with the Absolute Zero task semantics.

No JAX and no azr_jax import: usable on its own. See docs/sandbox.md.
"""

from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from sandbox.policy import DEFAULT_POLICY, Policy
from sandbox.results import CheckResult, ExecResult, InductionResult, Status

__all__ = [
    "DEFAULT_POLICY", "CheckResult", "ExecResult", "Executor", "InductionResult", "Policy", "SandboxConfig", "Status",
]  # fmt: skip
