"""The warm worker: a Python interpreter started once inside the jail that forks a fresh child per job.

Protocol (newline-delimited JSON on the inherited stdin/stdout):
  host -> worker: one settings line, then one line per chunk: a list of jobs.
  worker -> host: one hello line (the protections this process applied itself), then one result line per
  job, in order.
The child closes the protocol pipes and points fds 0-2 at /dev/null before any job code runs, so a job can
neither read other jobs nor write into their results; it reports its single result through a pipe of its
own, as one frame authenticated by a token the worker drew for this job (sandbox/channel.py). A check's
verdict is computed here, in the worker, which never runs model code: the child reports the value it got as
plain data, and the worker compares that with the gold value it parsed itself (sandbox/values.py).
Stdlib-only, like everything the worker imports.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import shutil
import signal
import sys
import time

from sandbox import channel, scripts, semantics, values
from sandbox.policy import Policy

# Imported once here so that children start with them loaded (a fork shares them copy-on-write);
# programs import them constantly.
_WARM_MODULES = (
    "collections",
    "collections.abc",
    "math",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "typing",
    "operator",
    "copy",
    "dataclasses",
    "enum",
    "fractions",
    "decimal",
)
_WARM_PROGRAM = "from collections import defaultdict\ndef f(a, b=2):\n    return sorted({a: [b]}.items())\n"
_RESULT_SLACK = 4096  # bytes of JSON around the output in one child's result


def main() -> None:
    protocol_in, protocol_out = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    reader = os.fdopen(protocol_in, "rb")
    settings = json.loads(reader.readline())
    applied = harden(settings["harden"]) if settings.get("harden") else []
    worker = Worker(settings, devnull, (protocol_in, protocol_out))
    _write_line(protocol_out, {"hello": True, "pid": os.getpid(), "applied": applied})
    for line in reader:
        for job in json.loads(line):
            _write_line(protocol_out, worker.run(job))
            if worker.retire:
                return  # the host sees end of file and starts a fresh worker for the rest


class Worker:
    """Runs jobs one at a time, each in a fresh forked child with its own limits."""

    def __init__(self, settings: dict, devnull: int, protocol_fds: tuple[int, int]):
        self.settings = settings
        self.devnull = devnull
        self.protocol_fds = protocol_fds
        fields = settings["policy"]  # JSON turned the tuples into lists
        self.policy = (
            Policy(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}) if fields else None
        )
        # Signals from inside the pid namespace reach its init (this process) only where a handler is set;
        # with every handler at its default, a job cannot kill or stop the worker.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        self.pid_namespace = os.getpid() == 1
        if settings.get("cpu") is not None:
            # Worker and child on one core: the fork/exit hand-offs then need no cross-CPU wake-up,
            # which costs a virtual machine an inter-processor interrupt each time.
            os.sched_setaffinity(0, {settings["cpu"]})
        self.workdir = os.getcwd()
        self.retire = False
        for name in _WARM_MODULES + tuple(settings.get("preload_modules", ())):
            __import__(name)
        semantics.execute({"kind": "run", "program": _WARM_PROGRAM, "input": "1"}, self.policy, True, 100)
        gc.freeze()  # keeps the children's collector off the parent's pages: fewer copy-on-write faults

    def run(self, job: dict) -> dict:
        start = time.perf_counter()
        result = self._execute(job)
        result["seconds"] = round(time.perf_counter() - start, 6)
        return result

    def _execute(self, job: dict) -> dict:
        if job["kind"] == "script":
            prepared = scripts.prepare_script(job)
        else:
            prepared = semantics.prepare(job, self.policy, self.settings["allow_helpers"])
        if isinstance(prepared, dict):
            return prepared  # refused before any of its code could run: no process needed
        result = self._fork_and_run(prepared)
        if isinstance(prepared, semantics.PreparedJob):
            if prepared.reports_data:
                result = self._verdict(prepared, result)
            elif prepared.second_run:
                result["second_run"] = prepared.second_run
        return result

    def _verdict(self, job: semantics.PreparedJob, result: dict) -> dict:
        """`match`: whether the value the child reported equals the gold value, decided here over plain data."""
        if result["status"] != "ok":
            return result
        data = result.pop("data", None)
        if data is None:
            return {
                "status": "ok",
                "output": None,
                "match": False,
                "error": "the value is not plain data (docs/sandbox.md, Verdicts)",
            }
        value = values.parse(data)
        match = value is not values.NOT_DATA and values.values_equal(
            value, job.expected, self.settings["float_rel_tol"]
        )
        return {"status": "ok", "output": data, "match": match}

    def _timeout(self, prepared: semantics.PreparedJob | scripts.PreparedScript) -> float:
        """A script job may carry its own wall clock; every other job has the pool's."""
        if isinstance(prepared, scripts.PreparedScript) and prepared.timeout_s:
            return prepared.timeout_s
        return self.settings["timeout_s"]

    def _fork_and_run(self, prepared: semantics.PreparedJob | scripts.PreparedScript) -> dict:
        timeout = self._timeout(prepared)
        cap = self.settings["output_cap"]
        read_end, write_end = os.pipe()
        token = channel.new_token()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            self._child(prepared, write_end, token)
        os.close(write_end)
        deadline = time.monotonic() + timeout
        pidfd = os.pidfd_open(pid)
        chunks: list[bytes] = []
        size = 0
        limit = cap * 6 + _RESULT_SLACK  # past any escaped repr within the cap
        status = None
        try:
            while status is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status = "timeout"
                    break
                ready, _, _ = select.select([read_end, pidfd], [], [], remaining)
                if read_end in ready:
                    data = os.read(read_end, 65536)
                    if not data:
                        break
                    chunks.append(data)
                    size += len(data)
                    if size > limit:
                        status = "output_too_large"
                elif pidfd in ready:
                    # Exited, but something it started may hold the pipe open: take what is there.
                    while size <= limit and select.select([read_end], [], [], 0)[0]:
                        if not (data := os.read(read_end, 65536)):
                            break
                        chunks.append(data)
                        size += len(data)
                    status = "output_too_large" if size > limit else None
                    break
        finally:
            os.close(read_end)
            os.close(pidfd)
            wait_status = self._reap(pid)
            self._clean_workdir()
        if status == "timeout":
            return {"status": "timeout", "error": f"wall-clock limit of {timeout:g} s exceeded"}
        if status == "output_too_large":
            return {"status": "output_too_large", "error": f"the result passed {size} bytes"}
        if chunks:
            record = channel.read_result(token, b"".join(chunks))
            if record is None:
                # Our own frame is never malformed: these bytes were written by the job's code.
                return {
                    "status": "runtime_error",
                    "error_type": "ForgedResult",
                    "error": "the result pipe held bytes other than the child's one authenticated result",
                }
            return record
        return _death_result(wait_status, timeout)

    def _child(
        self,
        job: semantics.PreparedJob | scripts.PreparedScript,
        result_fd: int,
        token: bytes,
        _write_result=channel.write_result,
        _getpid=os.getpid,
        _exit=os._exit,
    ) -> None:
        """The forked child. The defaults are bound at import: after the job's code has run, nothing it could
        rebind (module attributes, builtins) is looked up again."""
        try:
            for fd in self.protocol_fds:
                os.close(fd)
            os.dup2(self.devnull, 2)
            if not self.pid_namespace:
                os.setsid()  # its own process group, so the worker can kill everything it starts
            limits = self.settings["limits"]
            memory = limits["memory_mb"] * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            cpu = int(self._timeout(job)) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            me = _getpid()
            if isinstance(job, scripts.PreparedScript):
                result = scripts.run_script(job)
            else:
                result = semantics.run_prepared(job, self.settings["output_cap"])
            if _getpid() != me:
                _exit(0)  # a copy the job forked, finishing our code: only the job itself reports
            _write_result(result_fd, token, result)
        finally:
            _exit(0)

    def _reap(self, pid: int) -> int:
        """Kills the child and everything it started, then collects them; returns the child's wait status."""
        if self.pid_namespace:
            # As init of the jail's pid namespace, -1 reaches exactly the jobs' processes, never the host.
            # A process being forked while the signal goes out is not created, so one sweep suffices.
            _kill(-1)
        else:
            _kill(-pid)
            _kill(pid)
        _, wait_status = os.waitpid(pid, 0)
        if self.pid_namespace:
            # Orphans of the job were re-parented to us. Wait for every one of them (all are dying):
            # until reaped they still count against RLIMIT_NPROC and would shrink the next job's share.
            while True:
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    break
        return wait_status

    def _clean_workdir(self) -> None:
        """Empties the working directory: files must not outlive their job (one listdir when clean)."""
        for entry in os.scandir(self.workdir):
            if entry.is_dir(follow_symlinks=False):
                os.chmod(entry.path, 0o700)
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        # What a job made undeletable would reach the next job: retire this worker (and its tmpfs) instead.
        self.retire = bool(os.listdir(self.workdir))


def _kill(target: int) -> None:
    try:
        os.kill(target, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _death_result(wait_status: int, timeout: float) -> dict:
    """A child that exited without a result: killed by the CPU or memory limit, a signal, or os._exit."""
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "error": f"CPU limit of {int(timeout) + 1} s exceeded"}
        if sig == signal.SIGSEGV:
            return {"status": "memory", "error": "killed by SIGSEGV (stack or address-space limit)"}
        return {"status": "runtime_error", "error_type": "Signal", "error": f"killed by {signal.Signals(sig).name}"}
    code = os.waitstatus_to_exitcode(wait_status)
    return {
        "status": "runtime_error",
        "error_type": "Exit",
        "error": f"exited with code {code} before reporting a result",
    }


def harden(settings: dict) -> list[str]:
    """Self-confinement for the `process` backend; returns only the protections that took effect."""
    from sandbox import confine

    return confine.apply(settings)


def _write_line(fd: int, record: dict) -> None:
    data = memoryview(json.dumps(record).encode() + b"\n")
    while data:
        data = data[os.write(fd, data) :]


if __name__ == "__main__":
    sys.exit(main())
