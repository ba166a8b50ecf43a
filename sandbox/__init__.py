"""A secure, fast executor for untrusted model-written Python (nsjail), with the Absolute Zero task semantics.

No JAX and no azr_jax import: usable on its own. See docs/sandbox.md.

The public names load on first use (PEP 562): the jailed worker imports `sandbox.worker` and must not
pull in the host side (subprocess, threading, logging), whose import alone halves the rate at which a
Python process can fork (measured on this machine: threading's at-fork hooks and a larger heap).
"""

import importlib

_EXPORTS = {
    "SandboxConfig": "sandbox.config",
    "Executor": "sandbox.executor",
    "DEFAULT_POLICY": "sandbox.policy",
    "Policy": "sandbox.policy",
    "CheckResult": "sandbox.results",
    "ExecResult": "sandbox.results",
    "InductionResult": "sandbox.results",
    "Status": "sandbox.results",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
