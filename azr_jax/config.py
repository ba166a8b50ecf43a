"""Frozen config objects and their ml_collections form.

Each component owns a frozen dataclass of its settings (hashable, so it can be a static jit argument).
Run configs in `configs/` are ml_collections ConfigDicts assembled from each component's defaults;
`from_config` turns a ConfigDict section back into the frozen dataclass and names the offending field
(`rl.clip_eps: expected float, got 'abc'`) when a value is unknown or of the wrong type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import ml_collections

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value is missing, unknown or of the wrong type; the message names the field."""


def to_config_dict(config: Any) -> ml_collections.ConfigDict:
    """The ConfigDict form of a frozen config dataclass (nested dataclasses become nested dicts)."""
    return ml_collections.ConfigDict(_to_plain(config))


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return tuple(_to_plain(v) for v in value)
    return value


def from_config(cls: type[T], values: Mapping[str, Any] | ml_collections.ConfigDict | None, path: str = "") -> T:
    """Builds the frozen dataclass `cls` from a (partial) mapping; missing fields keep their defaults."""
    if values is None:
        values = {}
    if isinstance(values, ml_collections.ConfigDict):
        values = values.to_dict()
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path or cls.__name__}: expected a section of fields, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{_join(path, unknown[0])}: unknown field (known fields of {path or cls.__name__}: {', '.join(sorted(fields))})"
        )
    kwargs = {}
    for name, value in values.items():
        kwargs[name] = _coerce(value, hints[name], _join(path, name))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path or cls.__name__}: {e}") from e


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Checks `value` against the type hint, converting only where no information is lost (int -> float, list -> tuple)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _coerce(value, option, path)
            except ConfigError:
                pass
        raise ConfigError(f"{path}: expected {_type_name(hint)}, got {value!r}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{path}: expected None, got {value!r}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{path}: expected one of {', '.join(repr(a) for a in args)}, got {value!r}")
    if dataclasses.is_dataclass(hint):
        if dataclasses.is_dataclass(value) and isinstance(value, hint):
            return value
        return from_config(hint, value, path)
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            raise ConfigError(f"{path}: expected a sequence, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} items, got {len(value)}")
        return (
            tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args))) if args else tuple(value)
        )
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(hint, type):
        if isinstance(value, hint):
            return value
    else:
        return value
    raise ConfigError(f"{path}: expected {_type_name(hint)}, got {value!r}")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
