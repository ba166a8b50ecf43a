"""`python -m azr_jax.models.info NAME_OR_PATH`: a preset's or a folder's architecture, parameter count and memory.

The count comes from abstract shapes (`jax.eval_shape`), so even the 14B preset costs no memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path

import jax.numpy as jnp
from flax import nnx

from azr_jax.models.qwen2 import Qwen2ForCausalLM
from azr_jax.models.qwen2_config import PRESETS, Qwen2Config, preset


def load_config(name_or_path: str) -> Qwen2Config:
    if name_or_path.lower() in PRESETS:
        return preset(name_or_path)
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise SystemExit(f"error: {name_or_path!r} is neither a preset ({', '.join(PRESETS)}) nor a folder with config.json")
    return Qwen2Config.from_json_file(path)


def parameter_count(config: Qwen2Config) -> int:
    abstract = nnx.eval_shape(lambda: Qwen2ForCausalLM(config, rngs=nnx.Rngs(0)))
    return sum(math.prod(v.get_value().shape) for _, v in nnx.to_flat_state(nnx.state(abstract, nnx.Param)))


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def describe(config: Qwen2Config, param_bytes: int = 4) -> str:
    n = parameter_count(config)
    lines = [f"{f.name}: {getattr(config, f.name)}" for f in dataclasses.fields(config)]
    lines += [
        f"parameters: {n}",
        f"memory, parameters ({param_bytes} bytes each): {_gib(n * param_bytes)}",
        f"memory, AdamW state (two float32 moments): {_gib(n * 8)}",
        f"memory, bfloat16 copy (sampling weights): {_gib(n * 2)}",
        f"memory, total for training: {_gib(n * (param_bytes + 8 + 2))} plus gradients ({_gib(n * param_bytes)}) "
        "and activations",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=f"a preset ({', '.join(PRESETS)}) or a Hugging Face folder")
    parser.add_argument("--param-dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args(argv)
    print(describe(load_config(args.model), jnp.dtype(args.param_dtype).itemsize))


if __name__ == "__main__":
    main()
