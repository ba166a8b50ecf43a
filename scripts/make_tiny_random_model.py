"""Writes `assets/tiny-random/`: a randomly initialised Qwen2-architecture model (about 0.2M parameters) with a
byte-level BPE tokenizer trained on our own prompt texts, as a Hugging Face folder.

It lets `configs/tiny.py` run the whole training loop on a CPU in minutes without a download. Being random, it
proposes nothing valid: it exercises the machinery, not learning. Deterministic for a given --seed.

    python scripts/make_tiny_random_model.py [--out assets/tiny-random] [--seed 0]
"""

import argparse
from pathlib import Path

import jax.numpy as jnp
from flax import nnx
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.models.info import parameter_count
from azr_jax.selfplay.config import SelfPlayConfig
from azr_jax.selfplay.prompts import proposer_prompt, render, solver_prompt
from azr_jax.selfplay.tasks import TaskType, identity_seed
from sandbox.policy import DEFAULT_POLICY

VOCAB_SIZE = 1024
EOS = "<|endoftext|>"
CODE = [
    "def f(a):\n    return a",
    "def f(numbers: list):\n    total = 0\n    for n in numbers:\n        if n % 2 == 0:\n            total += n\n    return total",
    "def f(text: str):\n    return text[::-1].upper()",
    "def f(d: dict, key):\n    return sorted(d.get(key, []))",
    "<think> f adds the even numbers </think> <answer>\n```output\n6\n```\n</answer>",
    "<think> a string goes in and comes back </think> <answer>\n```input\n'abc'\n```\n</answer>",
]


def corpus() -> list[str]:
    config = SelfPlayConfig()
    texts = list(CODE)
    words = DEFAULT_POLICY.banned_words()
    for t in TaskType:
        seed = identity_seed(t)
        if t is not TaskType.INDUCTION:
            texts.append(render(proposer_prompt(t, [seed], words, config.prompts), config.prompts))
        texts.append(render(solver_prompt(t, seed), config.prompts))
    return texts * 20


def build_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=[EOS], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="assets/tiny-random")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    tokenizer = build_tokenizer()
    eos_id = tokenizer.convert_tokens_to_ids(EOS)
    config = Qwen2Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
    )
    model = Qwen2ForCausalLM(config, dtype=jnp.float32, rngs=nnx.Rngs(args.seed))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    print(f"wrote {out}: {parameter_count(config)} parameters, vocabulary {VOCAB_SIZE}")


if __name__ == "__main__":
    main()
