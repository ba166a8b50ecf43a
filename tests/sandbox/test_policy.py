import ast

import pytest

from sandbox.policy import DEFAULT_POLICY, PAPER_BANNED, Policy, find_violation


def violation(source: str, policy: Policy = DEFAULT_POLICY) -> str | None:
    return find_violation(ast.parse(source), policy)


def test_banned_words_keeps_the_papers_list_and_the_prompt_interface():
    words = DEFAULT_POLICY.banned_words()
    assert isinstance(words, tuple)
    assert set(PAPER_BANNED) <= set(words)
    assert {"os", "sys", "socket", "open", "eval", "exec", "__import__"} <= set(words)
    assert len(words) == len(set(words))


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import os.path as p",
        "import subprocess as sp",
        "from os import path",
        "from os.path import join",
        "from os import environ as e",
        "import random",
        "from random import randint",
        "import time",
        "import datetime",
        "from importlib import import_module",
        "import importlib.util",
        "import ctypes",
        "import builtins",
        "from . import x",
        "from math import *",
        "x = __import__('os')",
        "g = eval",
        "def f(x): return getattr(x, 'y')",
        "def f(): return open('/etc/passwd').read()",
        "def f(): return ().__class__.__bases__[0].__subclasses__()",
        "def f(): return f.__globals__",
        "def f(): return __builtins__",
        "def f(): return vars()",
        "def f(): exec('1')",
        "def f(): return compile('1', 'x', 'eval')",
        "def eval(x): return x",
        "import numpy as np\nimport os as np2",
        "import numpy as np\ndef f():\n    return np.os.getcwd()",
        "import collections\ndef f():\n    return collections.sys.modules",
        "import operator\ndef f(x):\n    return operator.attrgetter('__class__')(x)",
        "from operator import attrgetter\ndef f(x):\n    return attrgetter('__globals__')(x)",
        "from operator import methodcaller as m\ndef f(x):\n    return m('__reduce__')(x)",
        "import typing\ndef f(x: 'bad()'):\n    return typing.get_type_hints(f)",
        "from typing import ForwardRef\ndef f(x):\n    return ForwardRef('x')",
        "import typing\ndef f(x):\n    return typing._eval_type(typing.List['x'], {}, {})",
        "import string\ndef f(x):\n    return string.Formatter().get_field('0.__class__', [x], {})",
    ],
)
def test_banned_forms_are_refused(source):
    assert violation(source) is not None


@pytest.mark.parametrize(
    "source",
    [
        "import math\nfrom collections import defaultdict, deque\nfrom typing import List\nimport numpy as np",
        "def f(code):\n    return code.upper()",  # a parameter named like a banned module is not the module
        "def f(time):\n    return time.total()",
        "class A:\n    def __init__(self, x):\n        super().__init__()\n        self.x = x\n    def __repr__(self):\n        return 'A'",
        "def f(a):\n    return sorted(a, key=lambda t: (t[1], t[0]))",
        "import collections\ndef f(a):\n    return collections.Counter(a).most_common(1)",
    ],
)
def test_ordinary_programs_pass(source):
    assert violation(source) is None


def test_dotted_paper_entries_catch_aliased_attribute_access():
    policy = Policy(banned_modules=("os.path",), banned_calls=())
    assert (
        violation("import os as o\ndef f():\n    return o.path.join('a')", policy)
        == "use of banned attribute 'os.path'"
    )
    assert violation("import os\ndef f():\n    return os.getcwd()", policy) is None


def test_dunder_rule_can_be_relaxed_and_is_data():
    assert violation("def f(x): return x.__class__", Policy(ban_dunder_attributes=False)) is None
    assert "__class__" in violation("def f(x): return x.__class__")


def test_no_allowed_standard_module_reexports_a_banned_one_under_an_allowed_name():
    """`import enum; enum.bltns.exec(...)` would be `builtins.exec`: every module-level name of an allowed standard
    module that holds a banned module (or a frame, import or eval builtin) must itself be a banned attribute."""
    import builtins
    import importlib
    import sys
    import types
    import warnings

    policy = DEFAULT_POLICY
    banned = set(policy.banned_modules)
    dangerous = {
        id(getattr(builtins, name))
        for name in (
            "exec",
            "eval",
            "compile",
            "open",
            "__import__",
            "getattr",
            "setattr",
            "globals",
            "vars",
            "breakpoint",
        )
    }
    dangerous.add(id(sys._getframe))
    found = []
    for name in sorted(sys.stdlib_module_names - {"this", "antigravity", "idlelib", "turtledemo", "tkinter"}):
        if any(name == b or name.startswith(b + ".") for b in banned):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated modules (asynchat, imp...) warn when imported
                module = importlib.import_module(name)
        except Exception:
            continue
        for attribute, value in vars(module).items():
            if attribute.startswith("__") or attribute in policy.banned_attributes:
                continue
            banned_module = isinstance(value, types.ModuleType) and any(
                value.__name__ == b or value.__name__.startswith(b + ".") for b in banned
            )
            if banned_module or id(value) in dangerous:
                found.append(f"{name}.{attribute}")
    assert found == []
