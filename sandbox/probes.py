"""`python -m sandbox check`: verifies each protection on this machine by running a probe, never by assumption.

Probes are programs run with the policy off (so they reach the jail itself) plus host-side observations
of the worker processes (/proc/<pid>/ns, uid) and host-side canaries (a secret file, a listening socket).
"""

from __future__ import annotations

import ast
import dataclasses
import os
import socket
import tempfile
import time
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from sandbox.results import Status

NAMESPACES = ("user", "pid", "net", "mnt", "ipc", "uts")


@dataclasses.dataclass(frozen=True)
class Verdict:
    protection: str
    holds: bool
    evidence: str


def _probe(body: str) -> str:
    """A probe program: `f()` runs `body` (indented) and returns its JSON-able result."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    return f"import os\ndef f():\n{indented}\n"


SECCOMP_PROBE = _probe("""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
calls = {"ptrace": (101, 0, 0, 0, 0), "mount": (165, b"none", b"/tmp", b"tmpfs", 0), "bpf": (321, 0, 0, 0),
         "kexec_load": (246, 0, 0, 0, 0), "unshare": (272, 0x10000000), "socket": (41, 2, 1, 0)}
out = {}
for name, args in calls.items():
    ctypes.set_errno(0)
    rc = libc.syscall(*args)
    out[name] = [rc, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())]
return out
""")

IDENTITY_PROBE = _probe("""
import resource
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_NPROC")
limits = {n: resource.getrlimit(getattr(resource, n)) for n in names}
return {"uid": os.getuid(), "euid": os.geteuid(), "ppid": os.getppid(), "root": sorted(os.listdir("/")),
        "cwd": os.getcwd(), "limits": limits, "env": sorted(os.environ)}
""")


def _file_probe(secret_path: str) -> str:
    return _probe(f"""
out = {{}}
for name, action in (("read_canary", lambda: open({secret_path!r}).read()),
                     ("read_passwd", lambda: open("/etc/passwd").read()),
                     ("write_usr", lambda: open("/usr/azr_probe", "w").write("x")),
                     ("write_root", lambda: open("/azr_probe", "w").write("x")),
                     ("write_interpreter", lambda: open(os.__file__, "a").write("x"))):
    try:
        action()
        out[name] = "succeeded"
    except Exception as err:
        out[name] = type(err).__name__
open("scratch.txt", "w").write("tmpfs works")
out["cwd_write"] = open("scratch.txt").read()
return out
""")


def _network_probe(port: int) -> str:
    return _probe(f"""
import socket
out = {{}}
try:
    s = socket.create_connection(("127.0.0.1", {port}), timeout=1)
    out["connect"] = "connected"
except Exception as err:
    out["connect"] = type(err).__name__ + ": " + str(err)
try:
    s = socket.socket(); s.bind(("0.0.0.0", 0)); s.listen(); out["listen"] = "listening"
except Exception as err:
    out["listen"] = type(err).__name__ + ": " + str(err)
return out
""")


NPROC_PROBE = _probe("""
import signal, time
started = 0
try:
    for _ in range(1000):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        started += 1
except OSError as err:
    return {"started": started, "stopped_by": type(err).__name__ + ": " + str(err)}
return {"started": started, "stopped_by": "nothing"}
""")

MEMORY_PROBE = _probe("""
block = bytearray(2 * 1024 ** 3)
return len(block)
""")

SLEEP_PROBE = _probe("""
import time
time.sleep(60)
return "woke"
""")


def worker_host_pids(executor: Executor) -> list[int]:
    """Host pids of the worker interpreters (nsjail's child, or the process itself)."""
    pids = []
    for worker in executor._pool.workers:
        pid = worker.process.pid
        if executor.backend == "nsjail":
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            pid = int(children[0])
        pids.append(pid)
    return pids


def verify(config: SandboxConfig) -> tuple[str, list[Verdict]]:
    """Runs every probe under `config` (policy off, short timeout); returns the backend and the verdicts."""
    config = dataclasses.replace(config, check_policy=False, timeout_s=2.0, workers=2)
    verdicts = []
    with Executor(config) as executor, tempfile.TemporaryDirectory() as canary_dir:
        secret = Path(canary_dir) / "secret.txt"
        secret.write_text("host secret")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]

        def run(program: str):
            return executor.run([(program, "")])[0]

        pid = worker_host_pids(executor)[0]
        shared = [ns for ns in NAMESPACES if os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/self/ns/{ns}")]
        verdicts.append(
            Verdict(
                "namespaces: " + ", ".join(NAMESPACES),
                not shared,
                f"worker pid {pid} shares {shared or 'none'} with the host",
            )
        )
        status = Path(f"/proc/{pid}/status").read_text()
        outside_uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        identity = run(IDENTITY_PROBE)
        info = eval_literal(identity.output)
        non_root = identity.ok and info["uid"] != 0 and outside_uid != 0
        verdicts.append(
            Verdict(
                "non-root uid inside and outside", non_root, f"inside uid {info.get('uid')}, outside uid {outside_uid}"
            )
        )
        verdicts.append(
            Verdict(
                "environment cleared",
                identity.ok and not set(info["env"]) - _ALLOWED_ENV,
                f"variables visible: {info.get('env')}",
            )
        )
        files = run(_file_probe(str(secret)))
        file_info = eval_literal(files.output)
        denied = files.ok and all(v != "succeeded" for k, v in file_info.items() if k != "cwd_write")
        verdicts.append(
            Verdict(
                "filesystem: host files unreadable, binds read-only, private tmpfs cwd",
                denied and file_info.get("cwd_write") == "tmpfs works" and not _leaked_scratch(),
                f"root dir {info.get('root')}; {file_info or files.error}",
            )
        )
        network = run(_network_probe(port))
        net_info = eval_literal(network.output)
        try:
            listener.accept()
            accepted = True
        except BlockingIOError:
            accepted = False
        verdicts.append(
            Verdict(
                "no network (host listener on 127.0.0.1 unreachable)",
                network.ok
                and "connected" not in net_info.get("connect", "")
                and not accepted
                and "listening" != net_info.get("listen"),
                str(net_info or network.error),
            )
        )
        seccomp = run(SECCOMP_PROBE)
        sec_info = eval_literal(seccomp.output)
        verdicts.append(
            Verdict(
                "seccomp denies ptrace, mount, bpf, kexec_load, unshare, socket",
                seccomp.ok and all(rc == -1 and err == "EPERM" for rc, err in sec_info.values()),
                str(sec_info or seccomp.error),
            )
        )
        limits = info.get("limits", {})
        expected = {
            "RLIMIT_AS": config.memory_mb * 2**20,
            "RLIMIT_NOFILE": config.open_files,
            "RLIMIT_FSIZE": config.file_size_mb * 2**20,
            "RLIMIT_NPROC": config.max_processes,
        }
        verdicts.append(
            Verdict(
                "rlimits: address space, CPU, open files, file size, processes",
                all(limits.get(k, [None])[0] == v for k, v in expected.items())
                and 0 < limits.get("RLIMIT_CPU", [0])[0] <= int(config.timeout_s) + 1,
                str(limits),
            )
        )
        nproc = run(NPROC_PROBE)
        nproc_info = eval_literal(nproc.output)
        verdicts.append(
            Verdict(
                f"process limit holds (nproc {config.max_processes})",
                nproc.ok and nproc_info["started"] < config.max_processes and nproc_info["stopped_by"] != "nothing",
                str(nproc_info or nproc.error),
            )
        )
        memory = run(MEMORY_PROBE)
        verdicts.append(
            Verdict(
                "memory limit holds (2 GiB allocation)",
                memory.status is Status.MEMORY,
                f"{memory.status.value}: {memory.error}",
            )
        )
        start = time.monotonic()
        sleeper = run(SLEEP_PROBE)
        waited = time.monotonic() - start
        verdicts.append(
            Verdict(
                "wall-clock limit holds (60 s sleep)",
                sleeper.status is Status.TIMEOUT and waited < config.timeout_s + 2,
                f"{sleeper.status.value} after {waited:.1f} s",
            )
        )
        after = executor.run([("def f(a):\n    return a + 1", "1")] * 4)
        verdicts.append(
            Verdict(
                "pool healthy after the probes",
                all(r.output == "2" for r in after),
                f"{executor.worker_restarts} worker restarts",
            )
        )
        listener.close()
        return executor.backend, verdicts


_ALLOWED_ENV = {"PYTHONHASHSEED", "PATH", "LANG", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "LD_BIND_NOW", "LC_CTYPE"}


def _leaked_scratch() -> bool:
    return Path("scratch.txt").exists() or Path("/tmp/scratch.txt").exists()


def eval_literal(text: str | None) -> dict:
    """A probe's repr'd dict, read with ast.literal_eval (never eval on the host)."""
    try:
        value = ast.literal_eval(text or "")
    except (ValueError, SyntaxError):
        return {}
    return value if isinstance(value, dict) else {}


def report(config: SandboxConfig) -> tuple[bool, str]:
    backend, verdicts = verify(config)
    lines = [f"backend: {backend}"]
    lines += [f"  [{'ok' if v.holds else 'FAILED'}] {v.protection}\n        {v.evidence}" for v in verdicts]
    return all(v.holds for v in verdicts), "\n".join(lines)
