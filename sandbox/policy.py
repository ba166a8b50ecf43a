"""What model-written programs may import and call: data, so the proposer prompt can show the same list,
and its enforcement on the syntax tree.

The policy is a first filter that keeps proposals honest (deterministic, no I/O); the jail is what holds
when a trick gets past it. This module is stdlib-only: the jailed worker imports it.
"""

from __future__ import annotations

import ast
import dataclasses
import string

# The Absolute Zero paper's list of banned modules and attributes (its Qwen runs), verbatim in meaning.
PAPER_BANNED = (
    "logging",
    "random",
    "multiprocessing",
    "pebble",
    "subprocess",
    "threading",
    "datetime",
    "time",
    "hashlib",
    "hmac",
    "bcrypt",
    "os.sys",
    "os.path",
    "sys.exit",
    "os.environ",
    "calendar",
)

# What a sandbox needs on top: modules that reach the host, the interpreter or serialised code.
SANDBOX_BANNED_MODULES = (
    "os",
    "sys",
    "socket",
    "shutil",
    "pathlib",
    "io",
    "ctypes",
    "importlib",
    "builtins",
    "signal",
    "pickle",
    "marshal",
    "gc",
    "inspect",
    "tempfile",
    "glob",
    "fcntl",
    "resource",
    "pty",
    "select",
    "asyncio",
    "concurrent",
    "_thread",
    "urllib",
    "http",
    "ftplib",
    "smtplib",
    "code",
    "codeop",
    "uuid",
    "secrets",
    "sqlite3",
    "mmap",
    "posix",
    "_posixsubprocess",
    "runpy",
    "zipimport",
    "faulthandler",
    "tracemalloc",
    "sysconfig",
    "platform",
    "webbrowser",
    "atexit",
    "weakref",
    "dis",
    "timeit",
)

# Modules that reach this process's own state (stack frames, modules by name) or write to a file descriptor
# given as a number, and this package itself. A program that could do either could read or forge what its
# process reports about it; docs/sandbox.md, "Verdicts". (`pydoc.locate("sys")` is an import by string.)
VERDICT_BANNED_MODULES = (
    "sandbox",
    "traceback",
    "pydoc",
    "pkgutil",
    "unittest",
    "doctest",
    "pdb",
    "bdb",
    "trace",
    "profile",
    "cProfile",
    "pstats",
    "modulefinder",
    "linecache",
    "codecs",
    "fileinput",
    "gzip",
    "bz2",
    "lzma",
    "zipfile",
    "tarfile",
    "shelve",
    "dbm",
    "tokenize",
    "wave",
    "aifc",
    "sunau",
    "mailbox",
    "zipapp",
    "py_compile",
    "compileall",
    "xml",
    "plistlib",
    "cgitb",
    "rlcompleter",
    "site",
    # the C halves and loaders behind banned modules: `_frozen_importlib._gcd_import("sys")` imports by string
    "_frozen_importlib",
    "_frozen_importlib_external",
    "_imp",
    "imp",
    "_io",
    "_pyio",
    "_socket",
    "_signal",
    "_ctypes",
    "_pickle",
    "_weakref",
    "_tracemalloc",
    "_testcapi",
    "_testinternalcapi",
    "_lsprof",
    "ensurepip",
    "venv",
)

# Helpers that reach attributes by string or evaluate annotation strings are getattr/eval in disguise.
STRING_ACCESSORS = ("attrgetter", "methodcaller", "get_type_hints", "ForwardRef", "_eval_type", "get_field")

BANNED_CALLS = (
    "open",
    "exec",
    "eval",
    "compile",
    "input",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "exit",
    "quit",
    "help",
    "memoryview",
) + STRING_ACCESSORS

# Dunder names ordinary task code uses (defining and calling special methods); none of them leads to
# frames, globals, subclasses or builtins, which are the routes out of a namespace.
SAFE_DUNDERS = (
    "__init__",
    "__repr__",
    "__str__",
    "__eq__",
    "__ne__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__hash__",
    "__len__",
    "__iter__",
    "__next__",
    "__contains__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__add__",
    "__sub__",
    "__mul__",
    "__truediv__",
    "__floordiv__",
    "__mod__",
    "__pow__",
    "__neg__",
    "__abs__",
    "__bool__",
    "__call__",
    "__name__",
    "__doc__",
    "__slots__",
    "__post_init__",
)


# Attribute names refused on any object: allowed modules re-export dangerous ones (`numpy.os`,
# `collections.sys` would be `os` and `sys` under another name), and `operator.attrgetter` is getattr.
ESCAPE_ATTRIBUTES = (
    "os",
    "sys",
    "subprocess",
    "builtins",
    "importlib",
    "ctypes",
    "socket",
    "shutil",
    "pickle",
    "marshal",
    "posix",
    "_posixsubprocess",
    "signal",
    "multiprocessing",
    "threading",
    "_os",
    "_sys",
    "_evaluate",
) + STRING_ACCESSORS

# Names under which allowed standard modules re-export a banned one (`enum.bltns` is `builtins`,
# `dataclasses.inspect` is `inspect`, `_strptime.time` is `time`): refused as attributes of anything.
# tests/sandbox/test_policy.py scans the standard library and fails when a new one appears.
REEXPORT_ATTRIBUTES = (
    "bltns",
    "inspect",
    "io",
    "_io",
    "codecs",
    "tokenize",
    "tempfile",
    "sysconfig",
    "urllib",
    "webbrowser",
    "hashlib",
    "select",
    "time",
    "calendar",
    "random",
    "datetime",
    "weakref",
    "logging",
    "_thread",
    "_socket",
    "_gcd_import",
    # installed packages (sandbox.site_packages=True): evaluators of strings and raw-memory views
    "sympify",
    "parse_expr",
    "lambdify",
    "as_strided",
    "ctypeslib",
    "f2py",
)

# Attributes that lead from a generator, coroutine or traceback to stack frames, and from a frame to the
# variables of the code that called the program (the worker's own, holding its result channel).
FRAME_ATTRIBUTES = (
    "gi_frame",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "tb_next",
    "f_back",
    "f_globals",
    "f_locals",
    "f_builtins",
    "f_code",
    "f_trace",
    "gi_code",
    "cr_code",
    "ag_code",
    "gi_yieldfrom",
    "cr_await",
    "ag_await",
)

# Methods that read attributes named inside a string (`"{0.gi_frame}".format(g)`): allowed only on a string
# literal whose fields name no attribute.
FORMAT_METHODS = ("format", "format_map")


@dataclasses.dataclass(frozen=True)
class Policy:
    """Names a program may not import (module or dotted attribute) or call."""

    banned_modules: tuple[str, ...] = tuple(
        dict.fromkeys(PAPER_BANNED + SANDBOX_BANNED_MODULES + VERDICT_BANNED_MODULES)
    )
    banned_calls: tuple[str, ...] = BANNED_CALLS
    # Dunder attributes (`__class__`, `__subclasses__`, `__globals__`...) are the usual route out of a
    # restricted namespace; ordinary task code never needs them beyond `allowed_dunders`.
    ban_dunder_attributes: bool = True
    allowed_dunders: tuple[str, ...] = SAFE_DUNDERS
    banned_attributes: tuple[str, ...] = ESCAPE_ATTRIBUTES + FRAME_ATTRIBUTES + REEXPORT_ATTRIBUTES

    def banned_words(self) -> tuple[str, ...]:
        """The list a proposer prompt shows: every banned module and call, in a stable order."""
        return self.banned_modules + self.banned_calls


DEFAULT_POLICY = Policy()


def find_violation(tree: ast.AST, policy: Policy) -> str | None:
    """The first policy violation in `tree` as a message, or None when the tree is allowed.

    Imports are checked under every dotted prefix (`import os.path as p` is `os`), attribute chains are
    resolved through import aliases (`import numpy as np; np.x` is `numpy.x`), and banned callables are
    refused wherever their name appears, not only in calls (`g = eval` is as bad as `eval(...)`).
    """
    banned_modules = frozenset(policy.banned_modules)
    banned_names = frozenset(policy.banned_calls)
    allowed_dunders = frozenset(policy.allowed_dunders)
    banned_attributes = frozenset(policy.banned_attributes)
    aliases: dict[str, str] = {}
    attributes: list[ast.Attribute] = []  # checked once every import (and so every alias) is known
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in banned_names:
                return f"use of banned name {node.id!r}"
            if _is_unsafe_dunder(node.id, policy, allowed_dunders):
                return f"use of dunder name {node.id!r}"
        elif isinstance(node, ast.Attribute):
            if _is_unsafe_dunder(node.attr, policy, allowed_dunders):
                return f"access to dunder attribute {node.attr!r}"
            if node.attr in banned_attributes:
                return f"access to attribute {node.attr!r}"
            if node.attr in FORMAT_METHODS and (problem := _format_problem(node.value)):
                return problem
            attributes.append(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if hit := _banned_prefix(alias.name, banned_modules):
                    return f"import of banned module {hit!r}"
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                return "relative imports are not allowed"
            module = node.module or ""
            for alias in node.names:
                if alias.name == "*":
                    return "star imports are not allowed"
                if hit := _banned_prefix(f"{module}.{alias.name}", banned_modules):
                    return f"import of banned module {hit!r}"
                if alias.name in banned_names or _is_unsafe_dunder(alias.name, policy, allowed_dunders):
                    return f"import of banned name {alias.name!r}"
                aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in banned_names:
                return f"definition shadowing banned name {node.name!r}"
    for node in attributes:
        dotted = _dotted_name(node, aliases)
        if dotted and (hit := _banned_prefix(dotted, banned_modules)):
            return f"use of banned attribute {hit!r}"
    return None


def _format_problem(receiver: ast.AST) -> str | None:
    """Why `receiver.format` may read attributes by name, or None: it must be a literal with plain fields."""
    if not (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)):
        return "str.format is allowed only on a string literal (its fields can name attributes)"
    pending = [receiver.value]
    while pending:
        try:
            fields = list(string.Formatter().parse(pending.pop()))
        except ValueError:
            return None  # the literal is not a valid format string: .format raises before reading anything
        for _, field, spec, _ in fields:
            if field and "." in field:
                return f"format field {{{field}}} reads an attribute"
            if spec:
                pending.append(spec)
    return None


def _banned_prefix(dotted: str, banned: frozenset[str]) -> str | None:
    parts = dotted.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if prefix in banned:
            return prefix
    return None


def _is_unsafe_dunder(name: str, policy: Policy, allowed: frozenset[str]) -> bool:
    return policy.ban_dunder_attributes and name.startswith("__") and name.endswith("__") and name not in allowed


def _dotted_name(node: ast.Attribute, aliases: dict[str, str]) -> str | None:
    """`a.b.c` with `a` replaced by what it was imported as; None unless the chain starts at an import.

    Chains rooted at other names (a parameter called `code` or `time`) cannot reach a module.
    """
    parts = [node.attr]
    value = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if not isinstance(value, ast.Name) or value.id not in aliases:
        return None
    parts.append(aliases[value.id])
    return ".".join(reversed(parts))
