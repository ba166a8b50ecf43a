"""The one launcher of test processes that need their own JAX: a number of simulated CPU devices, or several
processes joined by jax.distributed on localhost ports.

The device count is fixed when JAX starts, and the suite's own process keeps one device (a real run's mesh takes
every device it sees, and the in-process training tests run real runs), so a check on another count runs in its
own process. Every such process finds the shared test helpers (this folder) on its path.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_with_devices(args: list[str], devices: int, *, pythonpath: list[Path] = (), timeout_s: float = 300) -> dict:
    """Runs `python ARGS` alone with `devices` simulated CPU devices; returns the JSON object that its last line of
    output prints. It must exit 0."""
    done = subprocess.run(
        [sys.executable, *map(str, args)],
        env=_env(devices, pythonpath),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_together(
    out: Path,
    commands: dict[str, tuple[list[str], int]],
    *,
    pythonpath: list[Path] = (),
    cwd: Path | None = None,
    timeout_s: float = 400,
) -> None:
    """Starts every `name: (python arguments, simulated devices)` at once; each must exit 0. Its output is in
    out/NAME.out and out/NAME.err."""
    processes = {}
    try:
        for name, (args, devices) in commands.items():
            # Output goes to files, not pipes: a process blocked on a full pipe would stall its peer's collectives.
            with open(out / f"{name}.out", "w") as stdout, open(out / f"{name}.err", "w") as stderr:
                processes[name] = subprocess.Popen(
                    [sys.executable, *args], env=_env(devices, pythonpath), stdout=stdout, stderr=stderr, cwd=cwd
                )
        for name, process in processes.items():
            process.wait(timeout=timeout_s)
            assert process.returncode == 0, f"{name}: {(out / f'{name}.err').read_text()[-3000:]}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()


def _env(devices: int, pythonpath: list[Path]) -> dict:
    return dict(
        os.environ,
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
        JAX_PLATFORMS="cpu",
        PYTHONPATH=os.pathsep.join([*map(str, pythonpath), str(TESTS), os.environ.get("PYTHONPATH", "")]),
    )
