import dataclasses
from typing import Literal

import pytest

from azr_jax.config import ConfigError, from_config, to_config_dict


@dataclasses.dataclass(frozen=True)
class Inner:
    rate: float = 0.5
    mode: Literal["a", "b"] = "a"


@dataclasses.dataclass(frozen=True)
class Outer:
    steps: int = 3
    name: str | None = None
    sizes: tuple[int, ...] = (1, 2)
    inner: Inner = Inner()


def test_round_trip_keeps_values():
    cfg = to_config_dict(Outer(steps=7, sizes=(4,), inner=Inner(rate=2.0, mode="b")))
    assert from_config(Outer, cfg) == Outer(steps=7, sizes=(4,), inner=Inner(rate=2.0, mode="b"))


def test_partial_section_keeps_defaults_and_widens_int_to_float():
    assert from_config(Outer, {"inner": {"rate": 1}}) == Outer(inner=Inner(rate=1.0))


@pytest.mark.parametrize(
    "values, message",
    [
        ({"stepz": 1}, "rl.stepz: unknown field"),
        ({"steps": "3"}, "rl.steps: expected int"),
        ({"steps": True}, "rl.steps: expected int"),
        ({"inner": {"mode": "c"}}, "rl.inner.mode: expected one of 'a', 'b'"),
        ({"sizes": [1, "x"]}, "rl.sizes[1]: expected int"),
        ({"inner": {"rate": None}}, "rl.inner.rate: expected float"),
    ],
)
def test_bad_values_name_the_field(values, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_config(Outer, values, "rl")
