"""When one run is enough: the static screen behind `SandboxConfig.determinism = "screened"`.

A second run under another hash seed costs a whole fresh process. With the policy on, the modules that
make a program vary between processes (random, time, datetime, os, uuid, secrets...) are refused, so what
is left is (a) iteration order of hash-ordered containers (sets of str/bytes, or of objects hashed by
address) and (b) memory addresses in the output (`<generator object f at 0x...>`, `id()`). (b) shows in
the output of a single run and is caught by `shows_address`; (a) needs the second run, and this screen
asks for it whenever the program or its input could build or hash such a container. Stdlib-only.
"""

from __future__ import annotations

import ast
import re

# Modules whose results do not depend on the process (no hashing-order, clock, address or entropy in
# their outputs). Any other import gets the second run.
DETERMINISTIC_MODULES = frozenset(
    {
        "math",
        "cmath",
        "collections",
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
        "numbers",
        "array",
        "textwrap",
        "json",
        "abc",
        "unicodedata",
        "difflib",
        "keyword",
    }
)
# Names that build hash-ordered containers or expose hashes and addresses.
_SENSITIVE_NAMES = frozenset({"set", "frozenset", "hash", "id", "object", "dir", "vars", "globals", "locals"})
_SENSITIVE_ATTRIBUTES = frozenset({"__hash__", "keys", "items"})  # dict views support set operators
_SET_OPERATORS = (ast.BitAnd, ast.BitOr, ast.BitXor, ast.Sub)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")  # the tail of a default repr


def second_run_reason(trees: list[ast.AST], policy_checked: bool) -> str | None:
    """Why this program (with its input) needs a second run under another hash seed; None if it cannot vary."""
    if not policy_checked:
        return "the policy is off"
    dict_views = set_operator = False
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Set, ast.SetComp)):
                return "builds a set"
            if isinstance(node, ast.Name) and node.id in _SENSITIVE_NAMES:
                return f"uses {node.id}()"
            if isinstance(node, ast.Attribute) and node.attr in _SENSITIVE_ATTRIBUTES:
                if node.attr == "__hash__":
                    return "uses __hash__"
                dict_views = True
            elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, _SET_OPERATORS):
                set_operator = True
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] not in DETERMINISTIC_MODULES:
                        return f"imports {alias.name}"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] not in DETERMINISTIC_MODULES:
                return f"imports from {node.module}"
    if dict_views and set_operator:
        return "may combine dict views with set operators"
    return None


def shows_address(output: str | None) -> bool:
    """A default repr (`<... at 0x7f...>`): differs between processes even when one run is all we have."""
    return bool(output) and _ADDRESS.search(output) is not None
