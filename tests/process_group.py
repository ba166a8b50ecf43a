"""Tests that start several JAX processes together: simulated CPU devices, localhost ports, one joint wait.

The device count is fixed when jax starts, so every check with another count runs in its own process.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_together(out: Path, commands: dict[str, tuple[list[str], int]], *, pythonpath: list[Path], cwd: Path | None = None,
                 timeout_s: float = 400) -> None:  # fmt: skip
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
        PYTHONPATH=os.pathsep.join([*map(str, pythonpath), os.environ.get("PYTHONPATH", "")]),
    )
