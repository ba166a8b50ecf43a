"""Hugging Face safetensors folders <-> our parameter State, one tensor at a time.

The name table maps each of our parameters to its Hugging Face tensor. Hugging Face stores linear weights as
[out_features, in_features]; ours are [in..., out...] with heads as their own dimensions, so a kernel converts
by a transpose and a reshape, and everything else by a reshape.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh
from safetensors import safe_open
from safetensors.numpy import save_file

from azr_jax.models.qwen2_config import Qwen2Config
from azr_jax.models.sharding import make_mesh, state_shardings

log = logging.getLogger(__name__)

# Layouts: "same" (identical), "flat" (our [heads, head_dim] bias is their [heads * head_dim]), "kernelN" (our
# kernel has N leading input dimensions; theirs is [out_features, in_features]).
_NAME_TABLE: tuple[tuple[str, str, str], ...] = (
    (r"embed_tokens", "model.embed_tokens.weight", "same"),
    (r"final_norm\.scale", "model.norm.weight", "same"),
    (r"lm_head", "lm_head.weight", "kernel1"),
    (r"layers\.(\d+)\.input_norm\.scale", "model.layers.{}.input_layernorm.weight", "same"),
    (r"layers\.(\d+)\.post_attention_norm\.scale", "model.layers.{}.post_attention_layernorm.weight", "same"),
    (r"layers\.(\d+)\.attn\.q_kernel", "model.layers.{}.self_attn.q_proj.weight", "kernel1"),
    (r"layers\.(\d+)\.attn\.k_kernel", "model.layers.{}.self_attn.k_proj.weight", "kernel1"),
    (r"layers\.(\d+)\.attn\.v_kernel", "model.layers.{}.self_attn.v_proj.weight", "kernel1"),
    (r"layers\.(\d+)\.attn\.o_kernel", "model.layers.{}.self_attn.o_proj.weight", "kernel2"),
    (r"layers\.(\d+)\.attn\.q_bias", "model.layers.{}.self_attn.q_proj.bias", "flat"),
    (r"layers\.(\d+)\.attn\.k_bias", "model.layers.{}.self_attn.k_proj.bias", "flat"),
    (r"layers\.(\d+)\.attn\.v_bias", "model.layers.{}.self_attn.v_proj.bias", "flat"),
    (r"layers\.(\d+)\.mlp\.gate_kernel", "model.layers.{}.mlp.gate_proj.weight", "kernel1"),
    (r"layers\.(\d+)\.mlp\.up_kernel", "model.layers.{}.mlp.up_proj.weight", "kernel1"),
    (r"layers\.(\d+)\.mlp\.down_kernel", "model.layers.{}.mlp.down_proj.weight", "kernel1"),
)


def hf_name(path: str) -> tuple[str, str]:
    """The Hugging Face tensor name of our parameter `path` (dotted) and the layout that converts it."""
    for pattern, template, layout in _NAME_TABLE:
        match = re.fullmatch(pattern, path)
        if match:
            return template.format(*match.groups()), layout
    raise KeyError(f"parameter {path!r} has no Hugging Face name in the conversion table")


def to_ours(tensor: np.ndarray, shape: tuple[int, ...], layout: str) -> np.ndarray:
    if layout.startswith("kernel"):
        tensor = tensor.T
    if tensor.size != math.prod(shape):
        raise ValueError(f"tensor of shape {tensor.shape} cannot become {shape}")
    return tensor.reshape(shape)


def to_hf(array: np.ndarray, layout: str) -> np.ndarray:
    if layout == "same":
        return array
    if layout == "flat":
        return array.reshape(-1)
    inputs = math.prod(array.shape[: int(layout.removeprefix("kernel"))])
    return np.ascontiguousarray(array.reshape(inputs, -1).T)


# Files of a Hugging Face folder that belong to the tokenizer (and generation defaults); a model ships a subset.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "generation_config.json",
    "chat_template.jinja",
)


def copy_tokenizer_files(source: Path, destination: Path) -> None:
    """Copies whichever tokenizer files `source` has into `destination`."""
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, destination / name)


# ---- locating a model ----


def resolve_model_folder(path_or_hub_id: str | Path) -> Path:
    """A local folder holding config.json; a hub id is looked up in the local cache, then online if allowed."""
    path = Path(path_or_hub_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model folder {path} has no config.json")
        return path
    text = str(path_or_hub_id)
    looks_like_hub_id = re.fullmatch(r"[\w.-]+/[\w.-]+", text) is not None and not text.startswith((".", "/", "~"))
    if not looks_like_hub_id:
        raise FileNotFoundError(
            f"model path {text!r} does not exist (expected a folder with config.json and *.safetensors)"
        )
    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*"]
    hint = (
        f"model {text!r} is neither a local folder nor in the local Hugging Face cache. On a machine with network "
        f"run `hf download {text} --local-dir DIR` (`huggingface-cli download` with huggingface_hub < 1.0) and pass "
        "DIR as the model path."
    )
    try:
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(text, allow_patterns=patterns, local_files_only=True))
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
                raise FileNotFoundError(hint + " (HF_HUB_OFFLINE is set)") from None
            return Path(snapshot_download(text, allow_patterns=patterns))
    except FileNotFoundError:
        raise
    except Exception as e:
        raise FileNotFoundError(f"{hint} (download failed: {type(e).__name__}: {e})") from None


def _tensor_files(folder: Path) -> dict[str, Path]:
    """Hugging Face tensor name -> the safetensors file holding it."""
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text())["weight_map"]
        return {name: folder / file for name, file in weight_map.items()}
    single = folder / "model.safetensors"
    if not single.is_file():
        raise FileNotFoundError(
            f"model folder {folder} has neither model.safetensors nor model.safetensors.index.json "
            "(PyTorch .bin checkpoints are not read: convert them with transformers' save_pretrained)"
        )
    with safe_open(single, framework="numpy") as f:
        return dict.fromkeys(f.keys(), single)


# ---- loading ----


def load_state(folder: Path, config: Qwen2Config, abstract_state: nnx.State, mesh: Mesh | None) -> nnx.State:
    """Fills an abstract parameter State from the folder's safetensors, each tensor placed on its sharding."""
    files = _tensor_files(folder)
    if mesh is None:  # a model without a mesh computes on one device
        mesh = make_mesh(devices=jax.devices()[:1])
    sharding_of = dict(nnx.to_flat_state(state_shardings(abstract_state, mesh)))
    open_files: dict[Path, Any] = {}
    try:

        def load(path, variable):
            ours = ".".join(str(p) for p in path)
            name, layout = hf_name(ours)
            if name not in files:
                raise KeyError(f"{folder}: tensor {name!r} (for {ours}) is missing from the checkpoint")
            file = files[name]
            if file not in open_files:
                open_files[file] = safe_open(file, framework="numpy")
            tensor = open_files[file].get_tensor(name)
            shape = variable.get_value().shape
            try:
                array = to_ours(tensor, shape, layout).astype(variable.get_value().dtype)
            except ValueError as e:
                raise ValueError(f"{folder}: {name}: {e}") from None
            sharding = sharding_of[path]
            sharding = sharding.get_value() if isinstance(sharding, nnx.Variable) else sharding
            return variable.replace(jax.make_array_from_callback(shape, sharding, lambda index: array[index]))

        return nnx.map_state(load, abstract_state)
    finally:
        for handle in open_files.values():
            handle.__exit__(None, None, None)


# ---- saving ----


def _host_array(x: jax.Array) -> np.ndarray:
    if jax.process_count() > 1 and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(jax.device_get(x))


def save_state(out_dir: str | Path, config: Qwen2Config, params: nnx.State, dtype: Any, max_shard_bytes: int) -> Path:
    """Writes config.json and model.safetensors (or model-0000i-of-0000n.safetensors with an index).

    Shards are planned from shapes first and written one at a time, so host memory peaks near one shard.
    """
    out_dir = Path(out_dir)
    writer = jax.process_index() == 0
    stored_dtype = np.dtype(dtype) if dtype is not None else None
    shards: list[list[tuple[str, str, jax.Array]]] = [[]]
    shard_bytes = total_bytes = 0
    for path, variable in nnx.to_flat_state(params):
        name, layout = hf_name(".".join(str(p) for p in path))
        value = variable.get_value()
        stored_dtype = stored_dtype or np.dtype(value.dtype)
        nbytes = value.size * stored_dtype.itemsize
        if shards[-1] and shard_bytes + nbytes > max_shard_bytes:
            shards.append([])
            shard_bytes = 0
        shards[-1].append((name, layout, value))
        shard_bytes += nbytes
        total_bytes += nbytes
    if writer:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(json.dumps(config.to_hf_dict(str(stored_dtype)), indent=2) + "\n")
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        file = "model.safetensors" if len(shards) == 1 else f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        # Every process joins the gathers; only process 0 writes.
        tensors = {name: to_hf(_host_array(value).astype(stored_dtype), layout) for name, layout, value in shard}
        if writer:
            # transformers refuses safetensors files without the "format" marker.
            save_file(tensors, out_dir / file, metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, file))
        del tensors
    if writer and len(shards) > 1:
        index = {"metadata": {"total_size": total_bytes}, "weight_map": weight_map}
        (out_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return out_dir
