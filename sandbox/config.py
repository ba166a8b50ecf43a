"""The executor's settings: one frozen dataclass (azr_jax.config.from_config can build it from a ConfigDict)."""

from __future__ import annotations

import dataclasses
import os
import stat
import sysconfig
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
    # How a solver's predicted output and abduction input are read. "data": as plain data (literals and the
    # allow-listed constructors of sandbox/values.py), never evaluated. "expressions": as the public code
    # does, evaluated (in the jail, policy-checked): `[1] * 3` counts, and an input can also change the state
    # the program reads. Either way the verdict compares plain data (docs/sandbox.md, "Verdicts").
    answer_values: Literal["data", "expressions"] = "data"
    # Floats (and ints met by floats) in a verdict match within this relative tolerance; 0 is exact equality,
    # as the public code's `==` (NaN still matches NaN: the public code cannot read `nan` at all).
    float_rel_tol: float = 0.0
    # Gold outputs longer than this many characters are cut to their first and last halves around "...", as the
    # public executor stores every output (400 there); 0 keeps them whole (up to output_cap).
    truncate_outputs: int = 0
    python_paths: tuple[str, ...] = ()  # extra read-only import paths in the jail (e.g. a site-packages)
    # Also bind the running interpreter's site-packages, so programs may import what is installed (numpy,
    # sympy), as programs could under the public AZR executor; the policy still checks every import.
    site_packages: bool = False
    # Modules each worker imports once at start, so forked jobs find them loaded (e.g. math_verify for the
    # evaluation's answer checks); importing grants nothing: the policy still checks each program's imports.
    preload_modules: tuple[str, ...] = ()
    chunk_size: int = 8  # jobs sent to a worker per message
    pin_cpus: bool = True  # worker i (and its children) on CPU i mod n
    worker_max_age_s: float = 1800.0  # workers older than this are replaced between chunks
    stage_dir: str = "/var/tmp"  # where the interpreter is staged when the jail's uid cannot read it
    # Outside uids (never root): each executor holds a block of 1000 from here, worker i runs as block + i.
    outside_uid_base: int = 200_000

    def validated(self) -> SandboxConfig:
        checks = {
            "backend": self.backend in ("auto", "nsjail", "process"),
            "determinism": self.determinism in ("always", "screened"),
            "answer_values": self.answer_values in ("data", "expressions"),
            "float_rel_tol": 0.0 <= self.float_rel_tol < 1.0,
            "truncate_outputs": self.truncate_outputs >= 0,
            "workers": 0 <= self.workers < 1000,
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
        for path in self.import_paths:
            if problem := _unreadable_by_workers(path):
                field = "python_paths" if path in self.python_paths else "site_packages"
                raise ValueError(f"SandboxConfig.{field}: {path} {problem}")
        return self

    @property
    def import_paths(self) -> tuple[str, ...]:
        """The extra import paths bound read-only into every worker."""
        site = (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]) if self.site_packages else ()
        return tuple(dict.fromkeys((*self.python_paths, *site)))

    @property
    def worker_count(self) -> int:
        return max(2, self.workers or os.cpu_count() or 1)


def _unreadable_by_workers(path: str) -> str | None:
    """Why workers could not import from `path`, or None. Started as root, they run as an unprivileged uid
    of their own, so every directory on the way must be searchable by others and the path itself readable."""
    if not os.path.isdir(path):
        return "is not a directory"
    if os.geteuid() != 0:
        return None
    needed = {path: stat.S_IROTH | stat.S_IXOTH}
    parent = os.path.dirname(path)
    while parent != os.path.dirname(parent):
        needed[parent] = stat.S_IXOTH
        parent = os.path.dirname(parent)
    for directory, bits in needed.items():
        if os.stat(directory).st_mode & bits != bits:
            return f"is not readable by the sandbox's unprivileged worker uid: {directory} lacks o+rx (chmod o+rx {directory})"
    return None
