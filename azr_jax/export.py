"""`python -m azr_jax.export --workdir W [--step S] --out DIR`: a training checkpoint as a Hugging Face folder.

The workdir contract (the trainer writes both at start-up):

    W/model/config.json      the Hugging Face config of the model being trained
    W/model/<tokenizer>      tokenizer.json, tokenizer_config.json, ... (those the base model has)
    W/checkpoints/<step>/    the Checkpointer's checkpoints

Only the parameters of the checkpoint are read (the optimizer state, twice their size, is never loaded). They are
placed across the local devices by the model's sharding rules (an fsdp mesh; `JAX_PLATFORMS=cpu` keeps them in host
memory instead) and written as safetensors, one shard at a time, with config.json and the tokenizer files beside:
transformers, vLLM and `python -m azr_jax.generate --model DIR` load the folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from azr_jax.checkpoint import Checkpointer, CheckpointMismatchError, as_directory
from azr_jax.models import Qwen2Config, Qwen2ForCausalLM, UnsupportedConfigError, make_mesh, state_shardings
from azr_jax.models.hf_io import copy_tokenizer_files

EXPORT_DTYPES = {"bfloat16": jnp.bfloat16, "float32": jnp.float32}
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors")


def export(
    workdir: str | Path, out: str | Path, step: int | None = None, dtype: str = "bfloat16", overwrite: bool = False
) -> int:
    """Writes checkpoint `step` (None: the latest) of `workdir` to the folder `out`; returns the step exported."""
    if dtype not in EXPORT_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(EXPORT_DTYPES)}, got {dtype!r}")
    workdir = as_directory(workdir)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} is not empty; pass --overwrite to replace the model files in it")

    model, step = load_checkpoint_model(workdir, step)
    if overwrite:
        for pattern in _WEIGHT_FILES:
            for stale in out.glob(pattern):
                stale.unlink()  # a shard count that changed would leave a mixed folder
    model.save_pretrained(out, dtype=EXPORT_DTYPES[dtype])
    copy_tokenizer_files(workdir / "model", out)
    return step


def load_checkpoint_model(
    workdir: str | Path, step: int | None = None, dtype: Any = jnp.float32
) -> tuple[Qwen2ForCausalLM, int]:
    """The model of checkpoint `step` (None: the latest) of a training workdir, with float32 parameters and
    `dtype` activations, and the step; the optimizer state is never read."""
    workdir = as_directory(workdir)
    config_file = workdir / "model" / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(
            f"{config_file} does not exist: is {workdir} a training workdir? (the trainer writes the model's "
            "config.json and tokenizer files to W/model/ when it starts)"
        )
    config = Qwen2Config.from_hf_dict(json.loads(config_file.read_text()), source=str(config_file))
    graphdef, abstract_params = nnx.split(
        nnx.eval_shape(lambda: Qwen2ForCausalLM(config, dtype=dtype, param_dtype=jnp.float32, rngs=nnx.Rngs(0)))
    )
    with Checkpointer(workdir / "checkpoints", read_only=True) as checkpointer:
        step = checkpointer.latest_step() if step is None else step
        params = checkpointer.restore_params(step, _on_local_devices(abstract_params))
    return nnx.merge(graphdef, params), step


def _on_local_devices(abstract_params: nnx.State) -> nnx.State:
    """The abstract parameters, each with its sharding over an fsdp mesh of this process's devices."""
    mesh = make_mesh(fsdp=-1, devices=jax.local_devices())
    sharding_of = dict(nnx.to_flat_state(state_shardings(abstract_params, mesh)))

    def place(path, variable):
        shape = variable.get_value()
        sharding = sharding_of[path]
        sharding = sharding.get_value() if isinstance(sharding, nnx.Variable) else sharding
        return variable.replace(jax.ShapeDtypeStruct(shape.shape, shape.dtype, sharding=sharding))

    return nnx.map_state(place, abstract_params)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True, help="the training run's workdir (holds model/ and checkpoints/)")
    parser.add_argument("--step", type=int, default=None, help="the checkpoint to export (default: the latest)")
    parser.add_argument("--out", required=True, help="the Hugging Face folder to write")
    parser.add_argument("--dtype", default="bfloat16", choices=sorted(EXPORT_DTYPES), help="stored weight dtype")
    parser.add_argument("--overwrite", action="store_true", help="replace the model files of a non-empty --out")
    args = parser.parse_args(argv)
    try:
        step = export(args.workdir, args.out, args.step, args.dtype, args.overwrite)
    # FileNotFoundError covers CheckpointNotFoundError (no checkpoint, or not that step).
    except (FileNotFoundError, FileExistsError, UnsupportedConfigError, CheckpointMismatchError) as e:
        sys.exit(f"error: {e}")
    print(f"exported step {step} of {args.workdir} to {args.out} ({args.dtype})")


if __name__ == "__main__":
    main()
