"""The executor's settings: one frozen dataclass (azr_jax.config.from_config can build it from a ConfigDict)."""

from __future__ import annotations

import dataclasses
import os
from typing import Literal

from sandbox.policy import DEFAULT_POLICY, Policy


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """Everything the executor needs; each field is checked by `validated()`, which names a bad one."""

    backend: Literal["auto", "nsjail", "process"] = "auto"
    workers: int = 0  # jailed worker interpreters; 0 = one per CPU core (at least 2: two hash-seed groups)
    timeout_s: float = 5.0  # wall-clock limit of one execution (CPU limit: the next whole second)
    batch_timeout_s: float = 0.0  # deadline of one batch call; past it, unfinished items are timeouts (0: none)
    memory_mb: int = 512  # address-space limit of one execution
    output_cap: int = 10_000  # longest repr(f(input)) kept, in characters; longer is output_too_large
    max_processes: int = 16  # RLIMIT_NPROC of one worker's jail (worker + child + what the child starts)
    open_files: int = 64
    file_size_mb: int = 1  # largest file a job may write (into its private tmpfs)
    tmpfs_mb: int = 16  # size of the private, per-worker working directory
    # "always": every proposal runs in both hash-seed groups. "screened": a second run only when the
    # program could vary between processes (sandbox/determinism.py); a single run shows addresses anyway.
    determinism: Literal["always", "screened"] = "screened"
    check_policy: bool = True  # False runs programs as they are (isolation tests): the jail still holds
    policy: Policy = DEFAULT_POLICY
    allow_helpers: bool = False  # the paper's Qwen runs reject top-level definitions besides `f`
    python_paths: tuple[str, ...] = ()  # extra read-only import paths in the jail (e.g. a site-packages)
    # Modules each worker imports once at start, so forked jobs find them loaded (e.g. math_verify for the
    # evaluation's answer checks); importing grants nothing: the policy still checks each program's imports.
    preload_modules: tuple[str, ...] = ()
    chunk_size: int = 8  # jobs sent to a worker per message
    pin_cpus: bool = True  # worker i (and its children) on CPU i mod n
    worker_max_age_s: float = 1800.0  # workers older than this are replaced between chunks
    stage_dir: str = "/var/tmp"  # where the interpreter is staged when the jail's uid cannot read it
    outside_uid_base: int = 200_000  # worker i runs as this + i outside its namespace (never root)

    def validated(self) -> SandboxConfig:
        checks = {
            "backend": self.backend in ("auto", "nsjail", "process"),
            "determinism": self.determinism in ("always", "screened"),
            "workers": self.workers >= 0,
            "timeout_s": self.timeout_s > 0,
            "batch_timeout_s": self.batch_timeout_s >= 0,
            "memory_mb": self.memory_mb >= 64,
            "output_cap": self.output_cap > 0,
            "max_processes": self.max_processes >= 2,
            "open_files": self.open_files >= 16,
            "file_size_mb": self.file_size_mb >= 0,
            "tmpfs_mb": self.tmpfs_mb >= 1,
            "chunk_size": self.chunk_size >= 1,
            "worker_max_age_s": self.worker_max_age_s > 0,
            "outside_uid_base": self.outside_uid_base >= 1000,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"SandboxConfig.{name}: invalid value {getattr(self, name)!r}")
        for path in self.python_paths:
            if not os.path.isabs(path):
                raise ValueError(f"SandboxConfig.python_paths: {path!r} is not an absolute path")
        return self

    @property
    def worker_count(self) -> int:
        return max(2, self.workers or os.cpu_count() or 1)
