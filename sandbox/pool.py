"""A pool of warm jailed workers that runs a batch of jobs and returns their results in input order.

Jobs are sent in chunks (one JSON line each) so the host spends little time per job, with two chunks in
flight per worker so none waits for the host. A job may be pinned to a hash-seed group (worker index
parity). A worker that dies, or stops reporting for longer than one job's timeout plus a grace period,
is killed (SIGTERM, then SIGKILL) and replaced; its unfinished jobs go back to the queue, except the one it
was running, which is reported as a sandbox_error. An optional deadline for the whole batch
(`batch_timeout_s`) bounds a training step: past it, unfinished jobs are timeouts and busy workers are
replaced.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable

from sandbox.config import SandboxConfig
from sandbox.jail import Launch, NsjailBackend, ProcessBackend, worker_settings

GRACE_S = 2.0  # worker-side bookkeeping per job, on top of the job's own timeout
START_TIMEOUT_S = 30.0
# A worker that fails to start (fork refused under load, a jail that could not be set up in time) is tried
# again after 0.5, 1 and 2 s before the pool gives up with the last error.
START_ATTEMPTS = 4
START_BACKOFF_S = 0.5
FollowUp = Callable[[int, dict], "tuple[dict, int] | None"]
# An idle worker reads a whole chunk line before running it; a busy one does not, so a second chunk is
# sent ahead only when it fits in the pipe buffer and the write cannot block on a stuck worker.
PIPE_SAFE_BYTES = 48 * 1024
log = logging.getLogger(__name__)


class WorkerProcess:
    """One jailed worker, its pipes, and the jobs it has been sent but has not answered."""

    def __init__(self, index: int, launch: Launch, settings: dict):
        self.index = index
        self.group = index % 2
        self.process = subprocess.Popen(
            launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=launch.env,
            cwd=launch.cwd,
            close_fds=True,
            start_new_session=True,
        )
        self.started = time.monotonic()
        self.buffer = b""
        self.in_flight: collections.deque[int] = collections.deque()
        self.last_progress = self.started
        os.set_blocking(self.process.stdout.fileno(), False)
        cpus = sorted(os.sched_getaffinity(0))
        cpu = cpus[index % len(cpus)] if settings["pin_cpus"] else None
        try:
            self._send({**settings, "harden": launch.harden, "cpu": cpu})
        except BrokenPipeError:
            pass  # it exited at once: wait_ready reports how

        self.applied: tuple[str, ...] = ()

    def wait_ready(self) -> WorkerProcess:
        """Waits for the worker's hello (it has confined itself and warmed up)."""
        self.applied = tuple(self._read_hello()["applied"])
        return self

    def _read_hello(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                if time.monotonic() > deadline or not selector.select(deadline - time.monotonic()):
                    self.kill()
                    raise RuntimeError(f"sandbox worker {self.index} did not start within {START_TIMEOUT_S:g} s")
                data = self.process.stdout.read()
                if not data:
                    self.kill()
                    raise RuntimeError(f"sandbox worker {self.index} exited at start (code {self.process.wait()})")
                self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def _send(self, payload: object) -> None:
        self.process.stdin.write(json.dumps(payload).encode() + b"\n")
        self.process.stdin.flush()

    def send_jobs(self, indices: list[int], jobs: list[dict]) -> bool:
        """Sends a chunk; False (nothing sent) when it could block on a busy worker's full pipe."""
        line = json.dumps([jobs[i] for i in indices]).encode() + b"\n"
        if self.in_flight and len(line) > PIPE_SAFE_BYTES:
            return False
        if not self.in_flight:
            self.last_progress = time.monotonic()
        self.in_flight.extend(indices)
        try:
            self.process.stdin.write(line)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died (a job killed it): the reader sees end of file, replaces it and requeues these jobs
        return True

    def read_results(self) -> list[dict] | None:
        """Complete result lines available now; None at end of file (the worker died)."""
        data = self.process.stdout.read()
        if not data:
            return None
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        if lines:
            self.last_progress = time.monotonic()
        return [json.loads(line) for line in lines]

    def retired_cleanly(self) -> bool:
        """True when the worker ended itself between jobs (exit code 0), so no job was running."""
        try:
            return self.process.wait(0.5) == 0
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """SIGTERM to the worker's session (nsjail or the confined interpreter), SIGKILL if it lingers."""
        for sig, wait_s in ((signal.SIGTERM, 0.5), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class WorkerPool:
    """`config.worker_count` workers (at least two: one per hash-seed group)."""

    def __init__(self, config: SandboxConfig, backend: NsjailBackend | ProcessBackend):
        self.config = config
        self.backend = backend
        self.settings = worker_settings(config)
        self.restarts = 0
        self.workers: list[WorkerProcess] = []
        starting: list[WorkerProcess | None] = []
        try:
            for i in range(config.worker_count):  # all launched first: they warm up in parallel
                try:
                    starting.append(WorkerProcess(i, backend.launch(i), self.settings))
                except OSError:
                    starting.append(None)  # started again below, with the retries
            for i, worker in enumerate(starting):
                try:
                    self.workers.append(worker.wait_ready() if worker else self._start(i))
                except RuntimeError:
                    self.workers.append(self._start(i))
        except BaseException:
            for worker in starting + self.workers:
                if worker:
                    worker.kill()
            raise

    def _start(self, index: int) -> WorkerProcess:
        """A ready worker for slot `index`, retried with backoff when it fails to start; else RuntimeError."""
        for attempt in range(START_ATTEMPTS):
            if attempt:
                time.sleep(START_BACKOFF_S * 2 ** (attempt - 1))
            try:
                return WorkerProcess(index, self.backend.launch(index), self.settings).wait_ready()
            except (RuntimeError, OSError) as err:
                error = err
                log.warning(
                    "sandbox worker %d failed to start (attempt %d of %d): %s", index, attempt + 1, START_ATTEMPTS, err
                )
        raise RuntimeError(f"sandbox worker {index} failed to start {START_ATTEMPTS} times; last: {error}")

    @property
    def applied_protections(self) -> tuple[str, ...]:
        """What the workers applied to themselves (process backend); identical across workers."""
        return self.workers[0].applied

    def run(self, jobs: list[dict], groups: list[int | None], follow_up: FollowUp | None = None) -> list[dict]:
        """Runs every job once (on a worker of its group, when given) and returns the results in order.

        Each result names the hash-seed `group` that ran it. `follow_up(index, result)` may return a job
        and a group to run next (appended after the given jobs, so the returned list can be longer).
        """
        jobs, groups = list(jobs), list(groups)
        batch_deadline = time.monotonic() + self.config.batch_timeout_s if self.config.batch_timeout_s else None
        results: list[dict | None] = [None] * len(jobs)
        queues = {0: collections.deque(), 1: collections.deque(), None: collections.deque()}
        for i, group in enumerate(groups):
            queues[group].append(i)
        pending = len(jobs)
        chunk = self._chunk_size(len(jobs))
        # A worker reports each job within that job's wall clock (a script job may carry a longer one).
        timeout = max([self.config.timeout_s] + [job.get("timeout_s") or 0 for job in jobs]) + GRACE_S
        with selectors.DefaultSelector() as selector:
            for worker in self.workers:
                selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
            while pending:
                for worker in self.workers:
                    while len(worker.in_flight) < 2 * chunk:
                        queue = queues[worker.group] if queues[worker.group] else queues[None]
                        batch = _take(queue, chunk)
                        if not batch:
                            break
                        if not worker.send_jobs(batch, jobs):
                            queue.extendleft(reversed(batch))
                            break
                for key, _ in selector.select(timeout=min(timeout, 1.0)):
                    worker = key.data
                    lines = worker.read_results()
                    if lines is None:
                        pending -= self._replace(worker, selector, queues, results, "the worker died", died=True)
                        continue
                    for record in lines:
                        index = worker.in_flight.popleft()
                        record["group"] = worker.group
                        results[index] = record
                        pending -= 1
                        if follow_up and (extra := follow_up(index, record)):
                            job, group = extra
                            jobs.append(job)
                            results.append(None)
                            queues[group].append(len(jobs) - 1)
                            pending += 1
                now = time.monotonic()
                for worker in list(self.workers):
                    if worker.in_flight and now - worker.last_progress > timeout:
                        pending -= self._replace(worker, selector, queues, results, "the worker stopped responding")
                    elif not worker.in_flight and now - worker.started > self.config.worker_max_age_s:
                        self._replace(worker, selector, queues, results, "")
                if batch_deadline is not None and now > batch_deadline:
                    self._abandon(selector, queues, results)
                    break
        return results  # type: ignore[return-value]

    def _abandon(self, selector, queues, results) -> None:
        """The batch deadline passed: every unfinished job is a timeout; busy workers are replaced."""
        record = {"status": "timeout", "error": f"batch deadline of {self.config.batch_timeout_s:g} s passed"}
        for worker in list(self.workers):
            if worker.in_flight:
                for index in worker.in_flight:
                    results[index] = dict(record, seconds=0.0)
                worker.in_flight.clear()
                self._replace(worker, selector, queues, results, "")
        for queue in queues.values():
            for index in queue:
                results[index] = dict(record, seconds=0.0)
            queue.clear()

    def _chunk_size(self, n_jobs: int) -> int:
        # Small batches are split finer so that every worker gets a share.
        return max(1, min(self.config.chunk_size, n_jobs // (4 * len(self.workers))))

    def _replace(self, worker: WorkerProcess, selector, queues, results, reason: str, died: bool = False) -> int:
        """Kills and restarts `worker`; returns how many of its jobs were settled (the one it was running)."""
        selector.unregister(worker.process.stdout)
        clean = died and worker.retired_cleanly()
        worker.kill()
        settled = 0
        if worker.in_flight and not clean:
            running = worker.in_flight.popleft()
            results[running] = {"status": "sandbox_error", "error": reason, "seconds": 0.0}
            settled = 1
        queues[worker.group].extendleft(reversed(worker.in_flight))
        fresh = self._start(worker.index)
        self.workers[worker.index] = fresh
        selector.register(fresh.process.stdout, selectors.EVENT_READ, fresh)
        self.restarts += 1
        return settled

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
        self.backend.close()


def _take(queue: collections.deque, n: int) -> list[int]:
    return [queue.popleft() for _ in range(min(n, len(queue)))]
