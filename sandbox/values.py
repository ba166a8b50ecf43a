"""Plain data: the only form in which a value crosses from graded code to the code that grades it.

A verdict ("does this answer's value equal the gold value?") must not depend on anything the answer's code can
reach. So values are never compared where they were made. The jailed child that ran the answer turns its value
into *canonical text* with `encode` (bound before any model code runs, and reading only exact built-in types:
`type(x) is int`, never `isinstance`, never a method the value's class could override); the trusted side (the
worker, or the host) reads that text, the gold output and any model-written value text with `parse` (a syntax
tree walk that builds values itself: nothing is evaluated), and decides with `values_equal`.

Plain data is, recursively: None, bool, int, float (inf and nan included), complex, str, bytes, and exact list,
tuple, dict, set, frozenset; plus this allow-list of standard containers, rebuilt on the trusted side by name
and contents: `deque` (with maxlen), `defaultdict` (a built-in type or None as factory), `Counter`,
`OrderedDict`, `bytearray`, `range`, and namedtuple instances (records: type name, field names, values).
Everything else (a user class, a subclass of int, an object made with `type(...)`) is not data: a check that
meets it is not correct. docs/sandbox.md ("Verdicts") states the rules and the reasons.

Stdlib-only: the jailed worker imports it.
"""

from __future__ import annotations

import ast
import io
import math
import tokenize
import warnings
from collections import Counter, OrderedDict, defaultdict, deque
from typing import Any

# Returned by `parse` for text that is not plain data (a sentinel, so None stays a value).
NOT_DATA: Any = type("NotData", (), {"__repr__": lambda self: "NOT_DATA"})()

# Types a defaultdict's factory may be (its repr is `<class 'NAME'>`); any other factory is encoded as None,
# which changes nothing that equality sees (Python compares a defaultdict as a dict).
FACTORY_TYPES = {
    "int": int,
    "float": float,
    "complex": complex,
    "str": str,
    "bytes": bytes,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "collections.Counter": Counter,
    "collections.OrderedDict": OrderedDict,
    "collections.deque": deque,
}
# Constructor names the parser reads; a namedtuple may not take one of them as its type name.
CONSTRUCTORS = (
    "set",
    "frozenset",
    "deque",
    "defaultdict",
    "Counter",
    "OrderedDict",
    "bytearray",
    "range",
    "dict",
    "list",
    "tuple",
    "float",  # as written by hand: dict(a=1), float('inf')
)
MAX_DEPTH = 100  # nesting levels encoded; Python's parser refuses about 200 nested brackets anyway
_FACTORY_PREFIX = "_azr_factory_"


class Record(tuple):
    """A namedtuple instance as data: equal only to a record of the same type name and field names."""

    __slots__ = ()

    def __new__(cls, name: str, fields: tuple[str, ...], items: tuple):
        return super().__new__(cls, (name, fields, tuple(items)))

    @property
    def name(self) -> str:
        return self[0]

    @property
    def fields(self) -> tuple[str, ...]:
        return self[1]

    @property
    def items(self) -> tuple:
        return self[2]

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in zip(self.fields, self.items))})"


# ---------------------------------------------------------------------------------------------- the child side


class _NotDataError(Exception):
    """Raised inside `encode` and `parse` for a value or a syntax tree that is not plain data."""


# What parsing text as plain data may raise; each means "not plain data".
_PARSE_FAILURES = (_NotDataError, SyntaxError, ValueError, TypeError, MemoryError, RecursionError, OverflowError)


def _make_encoder():
    """`encode(value) -> str | None`, with every name it uses bound here, at import, before any model code.

    Model code that rebinds a module attribute (`collections.Counter = ...`, `json.dumps = ...`) or a builtin
    cannot change what this function does: it holds its own references, reads contents through the base
    types' C methods (`dict.items(x)`, not `x.items()`), and never calls a method of the value's own class.
    """
    _type, _len, _tuple, _str_join = type, len, tuple, str.join
    _int_repr, _float_repr, _complex_repr = int.__repr__, float.__repr__, complex.__repr__
    _str_repr, _bytes_repr = str.__repr__, bytes.__repr__
    _dict_items, _od_items, _tuple_iter = dict.items, OrderedDict.items, tuple.__iter__
    _type_name = type.__dict__["__name__"].__get__
    _type_bases = type.__dict__["__bases__"].__get__
    _type_namespace = type.__dict__["__dict__"].__get__
    _isidentifier = str.isidentifier
    _deque, _defaultdict, _counter, _ordered = deque, defaultdict, Counter, OrderedDict
    _factory_names = {factory: name for name, factory in FACTORY_TYPES.items()}
    _reserved = frozenset(CONSTRUCTORS) | {"inf", "nan"}
    _none_type, _bytes, _zip, _all, _bytearray, _range = _type(None), bytes, zip, all, bytearray, range

    _NotData = _NotDataError

    def items_text(pairs, depth) -> str:
        return _str_join(", ", [enc(k, depth) + ": " + enc(v, depth) for k, v in pairs])

    def seq_text(values, depth) -> str:
        return _str_join(", ", [enc(v, depth) for v in values])

    def record_fields(cls):
        if _type(cls) is not type or _type_bases(cls) != (tuple,):
            return None
        fields = _type_namespace(cls).get("_fields")
        if _type(fields) is not tuple or not _all(_type(f) is str and _isidentifier(f) for f in fields):
            return None
        return fields

    def enc(value, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise _NotData
        depth += 1
        cls = _type(value)  # compared by identity only: a metaclass's __eq__ or __hash__ is never called
        if cls is int:
            return _int_repr(value)
        if cls is str:
            return _str_repr(value)
        if cls is float:
            return _float_repr(value)
        if cls is bool:
            return "True" if value is True else "False"
        if cls is _none_type:
            return "None"
        if cls is complex:
            return _complex_repr(value)
        if cls is _bytes:
            return _bytes_repr(value)
        if cls is list:
            return "[" + seq_text(value, depth) + "]"
        if cls is tuple:
            return "(" + enc(value[0], depth) + ",)" if _len(value) == 1 else "(" + seq_text(value, depth) + ")"
        if cls is dict:
            return "{" + items_text(_dict_items(value), depth) + "}"
        if cls is set:
            return "{" + seq_text(value, depth) + "}" if value else "set()"
        if cls is frozenset:
            return "frozenset({" + seq_text(value, depth) + "})" if value else "frozenset()"
        if cls is _deque:
            maxlen = value.maxlen
            tail = "" if maxlen is None else ", maxlen=" + _int_repr(maxlen)
            return "deque([" + seq_text(value, depth) + "]" + tail + ")"
        if cls is _counter:
            return "Counter({" + items_text(_dict_items(value), depth) + "})"
        if cls is _ordered:
            return (
                "OrderedDict(["
                + _str_join(", ", ["(" + enc(k, depth) + ", " + enc(v, depth) + ")" for k, v in _od_items(value)])
                + "])"
            )
        if cls is _defaultdict:
            name = _factory_names.get(value.default_factory)
            factory = "None" if name is None else "<class '" + name + "'>"
            return "defaultdict(" + factory + ", {" + items_text(_dict_items(value), depth) + "})"
        if cls is _bytearray:
            return "bytearray(" + _bytes_repr(_bytes(value)) + ")"
        if cls is _range:
            return "range(" + _int_repr(value.start) + ", " + _int_repr(value.stop) + ", " + _int_repr(value.step) + ")"
        fields = record_fields(cls)
        name = _type_name(cls) if fields is not None else None
        if fields is None or not _isidentifier(name) or name in _reserved:
            raise _NotData
        values = _tuple(_tuple_iter(value))
        if _len(fields) != _len(values):
            raise _NotData
        return name + "(" + _str_join(", ", [k + "=" + enc(v, depth) for k, v in _zip(fields, values)]) + ")"

    def encode(value) -> str | None:
        """The value as canonical text that `parse` reads back, or None when it is not plain data."""
        try:
            return enc(value, 0)
        except (_NotData, RecursionError, ValueError, TypeError):  # ValueError: an int past the digit limit
            return None

    return encode


encode = _make_encoder()

# --------------------------------------------------------------------------------------------- the trusted side


def parse_source(text: str, mode: str) -> ast.AST:
    """`ast.parse` of model-written text, without the warnings Python prints to stderr for some such text
    (`1abc`: "invalid decimal literal", invalid escapes): the parse's result is all that counts, and those lines
    reached the trainer's console from the sandbox's workers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(text, mode=mode)


def parse(text: str) -> Any:
    """The plain-data value `text` spells (a literal, or an allow-listed constructor of literals), else NOT_DATA.

    Runs no code: the syntax tree is walked and each value is built here. Reads every repr that `encode`
    writes, and the reprs Python writes for the same values (`defaultdict(<class 'int'>, {...})` included).
    """
    text = text.strip()
    if "<class '" in text:
        text = _name_factories(text)
        if text is None:
            return NOT_DATA
    try:
        tree = parse_source(text, "eval")
        return _build(tree.body)
    except _PARSE_FAILURES:
        return NOT_DATA


def parse_arguments(text: str) -> tuple[tuple, dict] | Any:
    """`text` as the argument list of one call (`[1, 2], key=3`), each argument plain data; else NOT_DATA."""
    if "<class '" in text:
        text = _name_factories(text)
        if text is None:
            return NOT_DATA
    try:
        call = parse_source(f"f(\n{text}\n)", "eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "f"):
            return NOT_DATA
        if _bad_arguments(call.args, call.keywords):
            return NOT_DATA
        kwargs = {k.arg: _build(k.value) for k in call.keywords}
        return tuple(_build(a) for a in call.args), kwargs
    except _PARSE_FAILURES:
        return NOT_DATA


def values_equal(a: Any, b: Any, float_rel_tol: float = 0.0) -> bool:
    """Python's `==` over two plain-data values, with NaN equal to NaN and, if `float_rel_tol` > 0, floats
    (and ints met by floats) equal within that relative tolerance, inside containers too.

    Both values must come from `parse` (or be plain data made by trusted code): their `==` is then the
    built-in types' own.
    """
    if _is_real(a) and _is_real(b) and (type(a) is float or type(b) is float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if float_rel_tol:
            return math.isclose(a, b, rel_tol=float_rel_tol, abs_tol=0.0)
        return a == b
    if type(a) is type(b) and type(a) in (list, tuple, deque, Record):
        return len(a) == len(b) and all(values_equal(x, y, float_rel_tol) for x, y in zip(a, b))
    if type(a) in (dict, defaultdict) and type(b) in (dict, defaultdict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k], float_rel_tol) for k in a)
    if type(a) is Record or type(b) is Record:
        return False  # a record equals only a record (a namedtuple is not its plain tuple here)
    return bool(a == b)


def _is_real(value: Any) -> bool:
    return type(value) in (int, float)


_NAMES = {"inf": math.inf, "nan": math.nan, "True": True, "False": False, "None": None}


def _number(node: ast.AST) -> Any:
    """A real number: a constant, `inf`/`nan`, or one of them negated."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant) and type(node.value) in (int, float, complex):
        return node.value
    if isinstance(node, ast.Name) and node.id in ("inf", "nan"):
        return _NAMES[node.id]
    raise _NotDataError


def _build(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        if type(node.value) in (int, float, complex, str, bytes, bool) or node.value is None:
            return node.value
        raise _NotDataError  # Ellipsis
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        raise _NotDataError
    if isinstance(node, ast.UnaryOp):
        return _number(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        # complex reprs: (1+2j), (-0-1j), (inf+1j)
        real, imag = _number(node.left), _number(node.right)
        if type(real) not in (int, float) or not isinstance(node.right, ast.Constant) or type(imag) is not complex:
            raise _NotDataError
        return real + imag if isinstance(node.op, ast.Add) else real - imag
    if isinstance(node, ast.List):
        return [_build(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_build(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_build(e) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):  # {**x}
            raise _NotDataError
        return {_build(k): _build(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, node.args, node.keywords)
    raise _NotDataError


def _bad_arguments(args: list[ast.AST], keywords: list[ast.keyword]) -> bool:
    """`*a`, `**k` or a repeated keyword (which Python refuses only when compiling)."""
    names = [k.arg for k in keywords]
    return any(isinstance(a, ast.Starred) for a in args) or None in names or len(set(names)) != len(names)


def _call(name: str, args: list[ast.AST], keywords: list[ast.keyword]) -> Any:
    if _bad_arguments(args, keywords):
        raise _NotDataError
    if name == "defaultdict":
        return _defaultdict(args, keywords)
    values = [_build(a) for a in args]
    options = {k.arg: _build(k.value) for k in keywords}
    if name not in CONSTRUCTORS:
        if args or not options or not name.isidentifier() or name in _NAMES or name.startswith(_FACTORY_PREFIX):
            raise _NotDataError
        return Record(name, tuple(options), tuple(options.values()))
    if name == "deque":
        if len(values) > 1 or set(options) - {"maxlen"} or (values and type(values[0]) is not list):
            raise _NotDataError
        maxlen = options.get("maxlen")
        if maxlen is not None and (type(maxlen) is not int or maxlen < 0):
            raise _NotDataError
        return deque(values[0] if values else [], maxlen)
    if name == "dict":
        if len(values) > 1 or (values and type(values[0]) not in (dict, list, tuple)):
            raise _NotDataError
        return dict(values[0] if values else (), **options)
    if options or len(values) > (3 if name == "range" else 1):
        raise _NotDataError
    if name == "float":
        if len(values) != 1 or type(values[0]) not in (int, float, str):
            raise _NotDataError
        return float(values[0])
    if name == "range":
        if not values or any(type(v) is not int for v in values):
            raise _NotDataError
        return range(*values)
    argument_types = {
        "set": (list, tuple, set),
        "frozenset": (list, tuple, set),
        "Counter": (dict,),
        "OrderedDict": (list, dict),
        "bytearray": (bytes,),
        "list": (list, tuple, set, frozenset, str),
        "tuple": (list, tuple, set, frozenset, str),
    }
    if values and type(values[0]) not in argument_types[name]:
        raise _NotDataError
    if name == "OrderedDict" and values and type(values[0]) is list:
        if any(type(pair) is not tuple or len(pair) != 2 for pair in values[0]):
            raise _NotDataError
    constructor = {
        "set": set,
        "frozenset": frozenset,
        "Counter": Counter,
        "OrderedDict": OrderedDict,
        "bytearray": bytearray,
        "list": list,
        "tuple": tuple,
    }[name]
    return constructor(values[0]) if values else constructor()


def _defaultdict(args: list[ast.AST], keywords: list[ast.keyword]) -> defaultdict:
    if keywords or len(args) != 2 or type(contents := _build(args[1])) is not dict:
        raise _NotDataError
    factory_node = args[0]
    if isinstance(factory_node, ast.Constant) and factory_node.value is None:
        factory = None
    elif isinstance(factory_node, ast.Name) and factory_node.id.startswith(_FACTORY_PREFIX):
        factory = FACTORY_TYPES[_FACTORY_NAMES[factory_node.id]]
    else:
        raise _NotDataError
    return defaultdict(factory, contents)


_FACTORY_NAMES = {_FACTORY_PREFIX + str(i): name for i, name in enumerate(FACTORY_TYPES)}
_FACTORY_TOKENS = {name: token for token, name in _FACTORY_NAMES.items()}


def _name_factories(text: str) -> str | None:
    """`<class 'int'>` (as a defaultdict's repr shows its factory) replaced by a name the parser knows.

    Done on tokens, so the same characters inside a string literal stay as they are. None when a class
    outside FACTORY_TYPES appears.
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    line_starts = [0]
    for line in io.StringIO(text):
        line_starts.append(line_starts[-1] + len(line))
    offset = lambda position: line_starts[position[0] - 1] + position[1]  # noqa: E731
    pieces, done = [], 0
    for i in range(len(tokens) - 3):
        a, b, c, d = tokens[i : i + 4]
        if (a.string, b.string, d.string) == ("<", "class", ">") and c.type == tokenize.STRING:
            name = ast.literal_eval(c.string)
            if name not in _FACTORY_TOKENS:
                return None
            pieces += [text[done : offset(a.start)], _FACTORY_TOKENS[name]]
            done = offset(d.end)
    return "".join(pieces) + text[done:]
