"""What model-written programs may import and call: data, so the proposer prompt can show the same list.

The policy is a first filter that keeps proposals honest (deterministic, no I/O); the jail is what holds
when a trick gets past it.
"""

from __future__ import annotations

import dataclasses

# The Absolute Zero paper's list of banned modules and attributes (its Qwen runs), verbatim in meaning.
PAPER_BANNED = (
    "logging", "random", "multiprocessing", "pebble", "subprocess", "threading", "datetime", "time",
    "hashlib", "hmac", "bcrypt", "os.sys", "os.path", "sys.exit", "os.environ", "calendar",
)  # fmt: skip

# What a sandbox needs on top: modules that reach the host, the interpreter or serialised code.
SANDBOX_BANNED_MODULES = (
    "os", "sys", "socket", "shutil", "pathlib", "io", "ctypes", "importlib", "builtins", "signal",
    "pickle", "marshal", "gc", "inspect", "tempfile", "glob", "fcntl", "resource", "pty", "select",
    "asyncio", "concurrent", "_thread", "urllib", "http", "ftplib", "smtplib", "code", "codeop", "uuid",
    "secrets", "sqlite3", "mmap", "posix", "_posixsubprocess", "runpy", "zipimport", "faulthandler",
    "tracemalloc", "sysconfig", "platform", "webbrowser", "atexit", "weakref", "dis",
)  # fmt: skip

BANNED_CALLS = (
    "open", "exec", "eval", "compile", "input", "globals", "locals", "vars", "breakpoint", "__import__",
    "getattr", "setattr", "delattr", "exit", "quit", "help", "memoryview",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Policy:
    """Names a program may not import (module or dotted attribute) or call."""

    banned_modules: tuple[str, ...] = tuple(dict.fromkeys(PAPER_BANNED + SANDBOX_BANNED_MODULES))
    banned_calls: tuple[str, ...] = BANNED_CALLS
    # Dunder attributes (`__class__`, `__subclasses__`, `__globals__`...) are the usual route out of a
    # restricted namespace; ordinary task code never needs them.
    ban_dunder_attributes: bool = True

    def banned_words(self) -> tuple[str, ...]:
        """The list a proposer prompt shows: every banned module and call, in a stable order."""
        return self.banned_modules + self.banned_calls


DEFAULT_POLICY = Policy()
