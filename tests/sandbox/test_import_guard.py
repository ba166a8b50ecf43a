"""sandbox/ knows nothing of JAX (docs/ARCHITECTURE.md): its workers start fast, in a jail that binds no JAX,
and an evaluation that only scores samples runs without it. The same guard as tests/selfplay's."""

import re
import subprocess
import sys
from pathlib import Path

import sandbox

SOURCES = sorted(Path(sandbox.__file__).parent.glob("*.py"))
FORBIDDEN = ("jax", "jaxlib", "flax", "optax", "orbax", "torch", "azr_jax")


def test_no_sandbox_source_imports_jax_or_the_trainer():
    assert len(SOURCES) >= 15
    pattern = re.compile(rf"^\s*(import|from)\s+({'|'.join(FORBIDDEN)})\b", re.M)
    for path in SOURCES:
        assert not pattern.search(path.read_text()), path


def test_importing_every_sandbox_module_loads_no_jax():
    # In a fresh interpreter: this test process has JAX loaded already.
    names = [f"sandbox.{p.stem}" for p in SOURCES if p.stem not in ("__init__", "__main__")]
    code = (
        f"import importlib, sys\nfor name in {names!r}:\n    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
