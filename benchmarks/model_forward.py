"""One forward pass of a Qwen2.5 preset with random weights: our Flax model against transformers' PyTorch model.

    python benchmarks/model_forward.py --preset qwen2.5-coder-3b --batch 8 --length 1024

Both run in bfloat16 (weights and activations) on the default device, on the same token ids; PyTorch uses its
default attention (sdpa). Prints a table: parameter memory, compile time, and median forward time over
--repeats runs for (a) full float32 logits and (b) final hidden states only (what training and sampling use,
applying the LM head to a subset of positions). PyTorch is skipped when it is not installed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from azr_jax.models import Qwen2ForCausalLM, preset


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_ours(config, ids: np.ndarray, repeats: int) -> dict:
    make = nnx.jit(lambda: Qwen2ForCausalLM(config, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0)))
    model = make()
    graphdef, state = nnx.split(model)
    param_bytes = sum(v.get_value().nbytes for _, v in nnx.to_flat_state(state))
    logits_fn = jax.jit(lambda state, ids: nnx.merge(graphdef, state)(ids))
    hidden_fn = jax.jit(lambda state, ids: nnx.merge(graphdef, state).hidden_states(ids)[0])
    ids = jnp.asarray(ids)
    row = {"param_GiB": param_bytes / 2**30}
    for name, fn in (("logits", logits_fn), ("hidden", hidden_fn)):
        start = time.perf_counter()
        fn(state, ids).block_until_ready()
        row[f"{name}_first_call_s"] = time.perf_counter() - start
        row[f"{name}_s"] = _median_seconds(lambda: fn(state, ids).block_until_ready(), repeats)
    stats = jax.devices()[0].memory_stats() or {}
    row["peak_device_GiB"] = stats.get("peak_bytes_in_use", float("nan")) / 2**30
    return row


def bench_torch(config, ids: np.ndarray, repeats: int) -> dict | None:
    try:
        import torch
        from transformers import Qwen2Config as HFConfig
        from transformers import Qwen2ForCausalLM as HFModel
    except ImportError:
        return None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    hf_config = HFConfig(**{k: v for k, v in config.to_hf_dict("bfloat16").items() if k not in ("architectures",)})
    with torch.device(device):
        model = HFModel(hf_config).to(torch.bfloat16).eval()
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    ids_t = torch.as_tensor(ids, device=device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    row = {"param_GiB": param_bytes / 2**30}
    with torch.no_grad():
        for name, run in (
            ("logits", lambda: model(ids_t).logits.float()),
            ("hidden", lambda: model.model(ids_t).last_hidden_state),
        ):
            start = time.perf_counter()
            run()
            sync()
            row[f"{name}_first_call_s"] = time.perf_counter() - start
            row[f"{name}_s"] = _median_seconds(lambda: (run(), sync()), repeats)
    if device == "cuda":
        row["peak_device_GiB"] = torch.cuda.max_memory_allocated() / 2**30
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-coder-3b")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    config = preset(args.preset)
    ids = np.random.default_rng(0).integers(0, config.vocab_size, (args.batch, args.length)).astype(np.int32)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
    print(f"{args.preset}: batch {args.batch} x {args.length} tokens, bfloat16 weights and activations")
    rows = {"azr_jax (Flax NNX, jit)": bench_ours(config, ids, args.repeats)}
    if not args.skip_torch:
        torch_row = bench_torch(config, ids, args.repeats)
        if torch_row is not None:
            rows["transformers (PyTorch, eager)"] = torch_row
    columns = ["param_GiB", "logits_first_call_s", "logits_s", "hidden_first_call_s", "hidden_s", "peak_device_GiB"]
    print("| implementation | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row.get(c, float('nan')):.3f}" for c in columns) + " |")
    if len(rows) == 2:
        ours, theirs = rows.values()
        tokens = args.batch * args.length
        print(
            f"speed-up (PyTorch time / ours): logits {theirs['logits_s'] / ours['logits_s']:.2f}x, "
            f"hidden {theirs['hidden_s'] / ours['hidden_s']:.2f}x; "
            f"ours: {tokens / ours['hidden_s']:.0f} tokens/s (hidden), {tokens / ours['logits_s']:.0f} tokens/s (logits)"
        )


if __name__ == "__main__":
    main()
