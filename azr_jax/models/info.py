"""`python -m azr_jax.models.info`: a model's architecture and parameter count, and a run's device memory plan.

    python -m azr_jax.models.info qwen2.5-coder-3b
    python -m azr_jax.models.info qwen2.5-coder-3b --config configs/azr_3b.py [--devices N] [--device-memory-gib G]
        [--attention cudnn|xla] [--config.SECTION.FIELD=VALUE ...]

With --config it prints, per device, what the run holds: float32 parameters, AdamW moments, the frozen reference
policy (rl.kl_coeff > 0), then for each of its two phases what comes on top: sampling (the weights cast to the
compute dtype, the KV cache and prefill of the largest sampler call) and the update (gradients and the activations
of one micro-batch with remat). The peak is the larger phase; the trainer runs the same plan before it allocates
anything and refuses a run that cannot fit (`check_fits`), naming the settings to change.

Everything comes from abstract shapes (`jax.eval_shape`) and the sharding table, so the 14B preset on 64 devices
costs no memory. Activations are an estimate of what XLA keeps alive (tests/models/test_memory_plan.py holds it
against XLA's own buffer assignment at small shapes); parameters, optimizer state and caches are exact.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import importlib.util
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import jax.numpy as jnp
from flax import nnx
from jax.sharding import AbstractMesh

from azr_jax.config import ConfigError
from azr_jax.models.qwen2 import Qwen2ForCausalLM
from azr_jax.models.qwen2_config import PRESETS, Qwen2Config, preset
from azr_jax.models.sharding import BATCH, MESH_AXES, logical_to_physical, partition_spec

if TYPE_CHECKING:
    from azr_jax.trainer.run_config import RunConfig

GIB = 2**30


def load_config(name_or_path: str) -> Qwen2Config:
    if name_or_path.lower() in PRESETS:
        return preset(name_or_path)
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise SystemExit(
            f"error: {name_or_path!r} is neither a preset ({', '.join(PRESETS)}) nor a folder with config.json"
        )
    return Qwen2Config.from_json_file(path)


@functools.cache
def _abstract_params(config: Qwen2Config) -> tuple[tuple[tuple[int, ...], tuple[str, ...]], ...]:
    """(shape, logical axes) of every parameter."""
    abstract = nnx.eval_shape(lambda: Qwen2ForCausalLM(config, rngs=nnx.Rngs(0)))
    return tuple(
        (tuple(v.get_value().shape), tuple(v.get_metadata()["logical_axes"]))
        for _, v in nnx.to_flat_state(nnx.state(abstract, nnx.Param))
    )


def parameter_count(config: Qwen2Config) -> int:
    return sum(math.prod(shape) for shape, _ in _abstract_params(config))


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.2f} GiB"


def describe(config: Qwen2Config, param_bytes: int = 4) -> str:
    n = parameter_count(config)
    lines = [f"{f.name}: {getattr(config, f.name)}" for f in dataclasses.fields(config)]
    lines += [
        f"parameters: {n}",
        f"memory, parameters ({param_bytes} bytes each): {_gib(n * param_bytes)}",
        f"memory, AdamW state (two float32 moments): {_gib(n * 8)}",
        f"memory, bfloat16 copy (sampling weights): {_gib(n * 2)}",
        f"memory, per token of KV cache (bfloat16): {2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * 2} bytes",
        "a run's whole plan: add --config configs/FILE.py",
    ]
    return "\n".join(lines)


# ---- the memory plan ----


def mesh_axis_sizes(data: int, fsdp: int, tensor: int, devices: int) -> dict[str, int]:
    """The (data, fsdp, tensor) sizes `make_mesh` would build on `devices` devices (one axis may be -1)."""
    sizes = [data, fsdp, tensor]
    if sizes.count(-1) > 1:
        raise ConfigError(f"parallel: at most one mesh axis may be -1, got data={data} fsdp={fsdp} tensor={tensor}")
    if -1 in sizes:
        sizes[sizes.index(-1)] = devices // math.prod(s for s in sizes if s != -1)
    if math.prod(sizes) != devices:
        raise ConfigError(f"parallel: data={data} fsdp={fsdp} tensor={tensor} do not make a mesh of {devices} devices")
    return dict(zip(MESH_AXES, sizes))


def _shards(logical_axes, shape, mesh: AbstractMesh) -> int:
    """How many parts the sharding table splits an array of this shape into on this mesh."""
    spec = partition_spec(logical_axes, shape, mesh)
    axes = [a for entry in spec if entry for a in ((entry,) if isinstance(entry, str) else entry)]
    return math.prod(mesh.shape[a] for a in axes)


def _bucket(value: int, buckets) -> int:
    return min((b for b in buckets if b >= value), default=max(buckets))


@dataclasses.dataclass(frozen=True)
class MemoryPlan:
    """Bytes per device of one training run, by what holds them. Resident all run long: parameters, optimizer,
    reference. Sampling adds sampling_weights, kv_cache and prefill; the update adds gradients, batch and
    activations. The phases never overlap (a step samples, then updates)."""

    parameters: int
    optimizer: int
    reference: int
    sampling_weights: int
    kv_cache: int
    prefill: int
    gradients: int
    batch: int
    activations: int
    # what the numbers were computed for, for the report
    mesh: Mapping[str, int]
    sampler_rows: int  # rows of the largest sampler call (prompts x samples, bucketed)
    sampler_slots: int  # its KV cache slots (prompt bucket + sampler.max_new_tokens_cap)
    update_rows: int  # sequences of one micro-batch on one device
    update_length: int  # tokens per sequence of the longest update batch
    attention: str

    @property
    def resident(self) -> int:
        return self.parameters + self.optimizer + self.reference

    @property
    def sampling_peak(self) -> int:
        return self.resident + self.sampling_weights + self.kv_cache + self.prefill

    @property
    def update_peak(self) -> int:
        return self.resident + self.gradients + self.batch + self.activations

    @property
    def peak(self) -> int:
        return max(self.sampling_peak, self.update_peak)

    def table(self, device_bytes: int | None = None) -> str:
        mesh = " x ".join(f"{a}={s}" for a, s in self.mesh.items())
        rows = [
            ("parameters (float32 master weights)", self.parameters),
            ("AdamW moments (float32)", self.optimizer),
            ("reference policy (rl.kl_coeff > 0)", self.reference),
            ("= resident all run", self.resident),
            ("sampling: weights cast to the compute dtype", self.sampling_weights),
            (f"sampling: KV cache, {self.sampler_rows} rows x {self.sampler_slots} slots", self.kv_cache),
            (f"sampling: prefill activations ({self.attention} attention)", self.prefill),
            ("= sampling peak", self.sampling_peak),
            ("update: gradients, accumulator, AdamW update", self.gradients),
            ("update: the step's batch", self.batch),
            (
                f"update: activations, {self.update_rows} sequences x {self.update_length} tokens, remat",
                self.activations,
            ),
            ("= update peak", self.update_peak),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"memory per device, mesh {mesh}:"]
        lines += [f"  {name:<{width}}  {n / GIB:8.2f} GiB" for name, n in rows]
        if device_bytes is not None:
            verdict = "fits" if self.peak <= device_bytes else "DOES NOT FIT"
            lines.append(f"  peak {self.peak / GIB:.2f} GiB of {device_bytes / GIB:.2f} GiB per device: {verdict}")
        return "\n".join(lines)

    def advice(self, device_bytes: int) -> str:
        """What to change, for the phase(s) over `device_bytes`."""
        over = []
        if self.resident > device_bytes:
            over.append(
                "parameters and AdamW state alone exceed the device: shard them over more devices "
                "(parallel.fsdp, or a larger mesh), or turn the KL reference off (rl.kl_coeff=0)"
            )
        if self.sampling_peak > device_bytes:
            over.append(
                f"sampling needs {_gib(self.sampling_peak)}: lower rollout.max_prompts_per_call (fewer rows per call; "
                "eval.prompts_per_call for evaluation; a call is padded to the next of sampler.batch_buckets, so keep "
                "a bucket that small), or sampler.max_new_tokens_cap / rollout.max_prompt_tokens, or "
                "spread the batch over more devices (parallel.data / parallel.fsdp)"
            )
        if self.update_peak > device_bytes:
            over.append(
                f"the update needs {_gib(self.update_peak)}: lower rl.micro_batch_size (fewer sequences per "
                "forward/backward pass), keep rl.remat=True, or spread the batch over more devices "
                "(parallel.data / parallel.fsdp)"
            )
        return "; ".join(over)


def memory_plan(
    model: Qwen2Config,
    run: RunConfig,
    mesh: Mapping[str, int],
    attention: str = "cudnn",
    num_sequences: int | None = None,
) -> MemoryPlan:
    """The per-device plan of `run` for `model` on a mesh of these axis sizes. attention: "cudnn" (fused, no
    [rows, heads, length, length] scores) or "xla" (the scores exist, one layer at a time). num_sequences: the
    update's global batch (default: 6 x rollout.batch_size, the trainer's)."""
    abstract_mesh = AbstractMesh(tuple(mesh[a] for a in MESH_AXES), MESH_AXES)
    batch_shards = math.prod(mesh[a] for a in logical_to_physical(BATCH)[0])
    local = sum(math.prod(shape) // _shards(axes, shape, abstract_mesh) for shape, axes in _abstract_params(model))
    compute = jnp.dtype(run.rl.compute_dtype).itemsize
    cache_bytes = jnp.dtype(run.sampler.cache_dtype).itemsize
    rollout, sampler, rl = run.rollout, run.sampler, run.rl
    e, m, layers, v = model.hidden_size, model.intermediate_size, model.num_hidden_layers, model.vocab_size
    q_width, kv_width, heads = (
        model.num_attention_heads * model.head_dim,
        model.num_key_value_heads * model.head_dim,
        model.num_attention_heads,
    )
    kv_split = mesh["tensor"] if model.num_key_value_heads % mesh["tensor"] == 0 else 1
    head_split = mesh["tensor"] if heads % mesh["tensor"] == 0 else 1

    # Sampling: the largest call. Prompts per call are bucketed; every prompt's n samples share its prefill.
    width = _bucket(rollout.max_prompt_tokens, sampler.prompt_buckets)
    slots = width + sampler.max_new_tokens_cap
    prompts_per_step = 3 * rollout.batch_size // rollout.samples_per_prompt
    calls = [
        (
            min(rollout.max_prompts_per_call, prompts_per_step),
            max(run.selfplay.rewards.n_solver_rollouts, rollout.samples_per_prompt),
        )
    ]
    if run.eval.every_steps:
        calls.append((run.eval.prompts_per_call, run.eval.n))
    prompts, n = max(((_bucket(p, sampler.batch_buckets), n) for p, n in calls), key=lambda c: c[0] * c[1])
    rows = prompts * n

    def split_rows(count: int) -> int:  # the sampler splits rows over the batch axes only when they divide
        return -(-count // batch_shards) if count % batch_shards == 0 else count

    token_kv = 2 * layers * kv_width * cache_bytes // kv_split
    # The prefill's cache and its n-fold repeat exist together for a moment; decoding then updates the repeat in place.
    kv_cache = (split_rows(prompts) + split_rows(rows)) * slots * token_kv + split_rows(
        rows
    ) * sampler.max_new_tokens_cap * 8
    p = split_rows(prompts)
    prefill = (
        p * width * (3 * e + (q_width // head_split + 2 * kv_width // kv_split) * 2 + 3 * m // head_split) * compute
    )
    prefill += p * width * e * 4 + rows * v * 4 * 2  # float32 norm input; the last position's logits and their softmax
    if attention == "xla":
        prefill += p * (heads // head_split) * width * width * (4 + 4 + compute)

    # The update: one micro-batch per device at a time; remat keeps each layer's input, recomputes the rest.
    length = width + rollout.max_response_tokens
    sequences = num_sequences or 6 * rollout.batch_size
    layout_micro = rl.micro_batch_size or sequences // rl.num_mini_batches
    micro_batches = sequences // rl.num_mini_batches // layout_micro
    r = -(-layout_micro // batch_shards)
    tokens = r * length
    kept = layers * tokens * e * compute
    one_layer = (
        tokens * (4 * e + 2 * (q_width // head_split) + 2 * (kv_width // kv_split) + 4 * m // head_split) * compute
    )
    one_layer += tokens * (2 * e + q_width // head_split + kv_width // kv_split) * 4  # float32 norms and rotary
    scores = r * (heads // head_split) * length * length
    if attention == "xla":
        # XLA keeps about four float32 score-sized tensors per layer from the forward pass to the backward one,
        # remat or not (measured on CPU: tests/models/test_memory_plan.py).
        kept += layers * 4 * scores * 4
    else:
        one_layer += r * (heads // head_split) * length * 4  # the fused kernel's softmax statistics
    head = tokens * e * (compute + 4) + 3 * r * rl.logprob_chunk_size * v * 4  # final hidden; one chunk's logits
    # The weights cast to the compute dtype stay alive through the backward pass (one copy of the parameters).
    weight_copy = local * compute if compute != 4 else 0
    activations = kept + 2 * one_layer + head + weight_copy
    batch = -(-sequences // batch_shards) * length * 4 * (6 if rl.kl_coeff else 5)

    return MemoryPlan(
        parameters=local * 4,
        optimizer=local * 8,
        reference=local * compute if rl.kl_coeff else 0,
        sampling_weights=local * compute if compute != 4 else 0,
        kv_cache=kv_cache,
        prefill=prefill,
        # The micro-batch's gradient, the accumulator (several micro-batches) and AdamW's update tree.
        gradients=local * 4 * (3 if micro_batches > 1 else 2),
        batch=batch,
        activations=activations,
        mesh=dict(mesh),
        sampler_rows=rows,
        sampler_slots=slots,
        update_rows=r,
        update_length=length,
        attention=attention,
    )


def device_memory(device) -> int | None:
    """The bytes one device may allocate, where its runtime says (GPUs, TPUs); None on CPUs."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    return (stats or {}).get("bytes_limit")


def check_fits(plan: MemoryPlan, device_bytes: int | None) -> None:
    """Raises ConfigError naming the settings to change when the plan's peak exceeds the device's memory."""
    if device_bytes is not None and plan.peak > device_bytes:
        raise ConfigError(
            f"this run needs about {_gib(plan.peak)} per device and a device has {_gib(device_bytes)}: "
            f"{plan.advice(device_bytes)}\n{plan.table(device_bytes)}\n"
            "(python -m azr_jax.models.info MODEL --config FILE prints this plan for any mesh and device size)"
        )


# ---- the command line ----


def _load_run_config(path: str, overrides: list[str], model: str) -> RunConfig:
    from azr_jax.trainer.run_config import load_run_config

    spec = importlib.util.spec_from_file_location("run_config_file", path)
    if spec is None or not Path(path).is_file():
        raise SystemExit(f"error: --config {path}: no such file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    values = module.get_config()
    for item in overrides:
        name, _, text = item.removeprefix("--config.").partition("=")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        section = values
        *parents, field = name.split(".")
        for parent in parents:
            section = section[parent]
        section[field] = value
    if not values.model.path:
        values.model.path = model
    return load_run_config(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "model",
        nargs="?",
        help=f"a preset ({', '.join(PRESETS)}) or a Hugging Face folder; default with --config: its model.path",
    )
    parser.add_argument("--param-dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--config", help="a run config (configs/*.py): print its memory plan per device")
    parser.add_argument("--devices", type=int, default=1, help="devices of the mesh (default 1)")
    parser.add_argument("--device-memory-gib", type=float, default=None, help="memory of one device, to say if it fits")
    parser.add_argument(
        "--attention",
        default="cudnn",
        choices=["cudnn", "xla"],
        help="cudnn: GPUs in bfloat16 (fused, no score tensor); xla: CPUs and float32",
    )
    args, overrides = parser.parse_known_args(argv)
    unknown = [o for o in overrides if not o.startswith("--config.") or "=" not in o]
    if unknown or (overrides and not args.config):
        parser.error(
            f"unrecognized arguments: {' '.join(unknown or overrides)} (overrides are --config.SECTION.FIELD=VALUE)"
        )
    if args.config is None:
        if args.model is None:
            parser.error("give a model (preset or folder), --config, or both")
        print(describe(load_config(args.model), jnp.dtype(args.param_dtype).itemsize))
        return
    run = _load_run_config(args.config, overrides, args.model or "")
    model = load_config(args.model or run.model.path)
    p = run.parallel
    try:
        plan = memory_plan(model, run, mesh_axis_sizes(p.data, p.fsdp, p.tensor, args.devices), args.attention)
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None
    device_bytes = None if args.device_memory_gib is None else int(args.device_memory_gib * GIB)
    print(f"{args.model or run.model.path}: {parameter_count(model)} parameters; run config {args.config}")
    print(plan.table(device_bytes))
    if device_bytes is not None and plan.peak > device_bytes:
        print("to fit: " + plan.advice(device_bytes))


if __name__ == "__main__":
    main()
