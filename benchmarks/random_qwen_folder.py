"""A Hugging Face model folder with random weights and the real Qwen2.5 tokenizer, for benchmarks without a download.

    python benchmarks/random_qwen_folder.py --preset qwen2.5-coder-3b --out DIR [--tiny] [--ranks qwen.tiktoken]

config.json and bfloat16 safetensors of the preset (random, seed 0; --tiny: the same vocabulary on a 2-layer,
64-wide model for CPU smoke runs), tokenizer.json and tokenizer_config.json from scripts/make_qwen_tokenizer.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
from pathlib import Path

import jax.numpy as jnp
from flax import nnx

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM, preset

REPO = Path(__file__).resolve().parents[1]


def tiny(config: Qwen2Config) -> Qwen2Config:
    """The preset's vocabulary and attention layout on a 2-layer, 64-wide model (a CPU smoke run)."""
    return dataclasses.replace(
        config, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, head_dim=16
    )


def write_folder(config: Qwen2Config, out: Path, ranks: str | None = None) -> Path:
    spec = importlib.util.spec_from_file_location("make_qwen_tokenizer", REPO / "scripts" / "make_qwen_tokenizer.py")
    make_qwen_tokenizer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_qwen_tokenizer)
    model = nnx.jit(lambda: Qwen2ForCausalLM(config, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16, rngs=nnx.Rngs(0)))()
    model.save_pretrained(out)
    make_qwen_tokenizer.write_tokenizer_folder(out, ranks)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-coder-3b")
    parser.add_argument("--out", required=True)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--ranks", default=None, help="qwen.tiktoken (default: the installed qwen-tokenizer's)")
    args = parser.parse_args()
    config = tiny(preset(args.preset)) if args.tiny else preset(args.preset)
    print(f"wrote {write_folder(config, Path(args.out), args.ranks)}")


if __name__ == "__main__":
    main()
