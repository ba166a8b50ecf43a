"""`python -m azr_jax.generate --model PATH --prompt TEXT`: sample completions from a Hugging Face folder.

With --json, one JSON object per sample: {"completion": text, "token_ids": [...]}, for scripts. A sample ends at
--max-new-tokens, a --stop string, or an end-of-sequence id of the model's config.json or of its tokenizer.
"""

from __future__ import annotations

import argparse
import json
import sys

import jax
import jax.numpy as jnp

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.models.hf_io import resolve_model_folder
from azr_jax.sampling import Sampler, SamplerConfig, end_of_sequence_ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a Hugging Face folder (config.json, safetensors, tokenizer)")
    parser.add_argument("--prompt", required=True, action="append", help="repeat for a batch of prompts")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--temperature", type=float, default=1.0, help="0 is greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0, help="0 disables top-k")
    parser.add_argument("-n", type=int, default=1, help="samples per prompt")
    parser.add_argument("--stop", action="append", default=[], help="a stop string (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    parser.add_argument("--json", action="store_true", help="one JSON object per sample")
    args = parser.parse_args(argv)

    from transformers import AutoTokenizer

    try:
        folder = resolve_model_folder(args.model)
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = Qwen2ForCausalLM.from_pretrained(folder, dtype=jnp.dtype(args.dtype), param_dtype=jnp.dtype(args.dtype))
    cap = max(args.max_new_tokens, 1)
    sampler = Sampler(model, tokenizer, SamplerConfig(max_new_tokens_cap=cap, cache_dtype=args.dtype))
    out = sampler.generate(
        args.prompt,
        key=jax.random.key(args.seed),
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        n=args.n,
        stop=args.stop,
        eos_ids=end_of_sequence_ids(model.config, tokenizer),
    )
    for row, text in enumerate(out.texts):
        ids = out.token_ids[row, : out.lengths[row]].tolist()
        if args.json:
            print(json.dumps({"completion": text, "token_ids": ids}))
        else:
            prompt = args.prompt[row // args.n]
            print(f"--- prompt {row // args.n}, sample {row % args.n} ({out.finish_reasons[row]}, {len(ids)} tokens)")
            print(prompt + text)


if __name__ == "__main__":
    main()
