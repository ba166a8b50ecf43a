"""Generation throughput: our jit sampler against transformers' `generate`, same random weights, same run.

    python benchmarks/sampling_bench.py --preset qwen2.5-coder-0.5b --batch 8 32 --prompt-len 128 --new-tokens 128

Fixed-length generation (EOS ignored), greedy on both sides, --dtype on both sides. Our model is initialised
randomly, saved as a Hugging Face folder and loaded by transformers, so both compute the same function.
Prefill time is measured with a one-token generation; decode tokens/s = batch * (new_tokens - 1) / (total -
prefill). Compile time (our first call) is reported apart. With --roofline-gbps, decode is also reported as a
fraction of the memory-bandwidth roofline: per step the weights and the valid KV cache must be read once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from random_qwen_folder import tiny

from azr_jax.models import Qwen2ForCausalLM, preset
from azr_jax.sampling import Sampler, SamplerConfig


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_ours(model, prompts, new_tokens: int, cache_dtype: str, decode_segments: int) -> dict:
    sampler = Sampler(
        model,
        config=SamplerConfig(
            prompt_buckets=(len(prompts[0]),),
            batch_buckets=(len(prompts),),
            max_new_tokens_cap=new_tokens,
            cache_dtype=cache_dtype,
            decode_segments=decode_segments,
        ),
    )

    def run(n):
        out = sampler.generate(prompts, key=jax.random.key(0), max_new_tokens=n, temperature=0.0, eos_ids=[])
        assert out.lengths.min() == n
        return out

    compile_s = _timed(lambda: run(new_tokens))
    prefill_s = min(_timed(lambda: run(1)) for _ in range(2))
    start = time.perf_counter()
    tokens = run(new_tokens).token_ids
    total_s = time.perf_counter() - start
    return {"compile_s": compile_s, "prefill_s": prefill_s, "total_s": total_s, "tokens": tokens}


def bench_transformers(folder, prompts, new_tokens: int, dtype: str) -> dict:
    import torch
    from transformers import Qwen2ForCausalLM as HFModel

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = HFModel.from_pretrained(folder, dtype=getattr(torch, dtype)).to(device).eval()
    ids = torch.as_tensor(np.asarray(prompts), device=device)

    def run(n):
        with torch.no_grad():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=n,
                min_new_tokens=n,
                eos_token_id=None,
                pad_token_id=0,
            )
        if device == "cuda":
            torch.cuda.synchronize()
        return out[:, ids.shape[1] :].cpu().numpy()

    run(2)  # warm-up
    prefill_s = _timed(lambda: run(1))
    start = time.perf_counter()
    tokens = run(new_tokens)
    total_s = time.perf_counter() - start
    return {"prefill_s": prefill_s, "total_s": total_s, "tokens": tokens}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-coder-0.5b")
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--decode-segments", type=int, default=SamplerConfig.decode_segments)
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument(
        "--roofline-gbps",
        type=float,
        default=None,
        help="measured read bandwidth of the device (benchmarks/device_bandwidth.py)",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="a 2-layer model with the preset's vocabulary (a CPU smoke run)"
    )
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    config = tiny(preset(args.preset)) if args.tiny else preset(args.preset)
    dtype = jnp.dtype(args.dtype)
    model = nnx.jit(lambda: Qwen2ForCausalLM(config, dtype=dtype, param_dtype=dtype, rngs=nnx.Rngs(0)))()
    param_bytes = sum(v.get_value().nbytes for _, v in nnx.to_flat_state(nnx.state(model, nnx.Param)))
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
    print(
        f"{args.preset}, {args.dtype}, prompt {args.prompt_len}, {args.new_tokens} new tokens, greedy, EOS ignored, "
        f"{args.decode_segments} decode segments"
    )
    with tempfile.TemporaryDirectory() as folder:
        if not args.skip_transformers:
            model.save_pretrained(folder)
        rows = []
        for batch in args.batch:
            rng = np.random.default_rng(batch)
            prompts = rng.integers(0, config.vocab_size, (batch, args.prompt_len)).tolist()
            decoded = batch * (args.new_tokens - 1)
            ours = bench_ours(model, prompts, args.new_tokens, args.dtype, args.decode_segments)
            row = {
                "batch": batch,
                "ours_prefill_tok_s": batch * args.prompt_len / ours["prefill_s"],
                "ours_decode_tok_s": decoded / (ours["total_s"] - ours["prefill_s"]),
                "ours_total_tok_s": batch * args.new_tokens / ours["total_s"],
                "ours_compile_s": ours["compile_s"],
            }
            if args.roofline_gbps:
                kv_bytes = 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * dtype.itemsize
                # What a decode step must read: all weights and the valid part of the cache (on average the
                # prompt plus half the new tokens), whatever our implementation reads beyond that.
                mean_slots = args.prompt_len + args.new_tokens / 2
                step_bytes = param_bytes + batch * mean_slots * kv_bytes
                step_s = (ours["total_s"] - ours["prefill_s"]) / (args.new_tokens - 1)
                row["roofline_fraction"] = step_bytes / step_s / (args.roofline_gbps * 1e9)
            if not args.skip_transformers:
                theirs = bench_transformers(folder, prompts, args.new_tokens, args.dtype)
                row["hf_prefill_tok_s"] = batch * args.prompt_len / theirs["prefill_s"]
                row["hf_decode_tok_s"] = decoded / (theirs["total_s"] - theirs["prefill_s"])
                row["hf_total_tok_s"] = batch * args.new_tokens / theirs["total_s"]
                row["speedup_decode"] = row["ours_decode_tok_s"] / row["hf_decode_tok_s"]
                row["speedup_total"] = row["ours_total_tok_s"] / row["hf_total_tok_s"]
                row["same_greedy_tokens"] = float((ours["tokens"] == theirs["tokens"]).mean())
            rows.append(row)
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    for row in rows:
        print("| " + " | ".join(f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")
    if args.json:
        meta = {
            "preset": args.preset,
            "tiny": args.tiny,
            "dtype": args.dtype,
            "prompt_len": args.prompt_len,
            "new_tokens": args.new_tokens,
            "device": jax.devices()[0].device_kind,
            "jax": jax.__version__,
        }
        with open(args.json, "w") as f:
            json.dump({**meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
