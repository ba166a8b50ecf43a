"""A byte-level BPE tokenizer trained in memory, saved as a Hugging Face tokenizer folder (no download)."""

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

CORPUS = [
    "<think> the input is a list </think> <answer> def f(a): return a </answer>",
    "```python\ndef f(x):\n    return x * 2\n```\n```input\n[1, 2, 3]\n```",
    "User: solve it. Assistant: <think> hello world </think> <answer> 42 </answer>",
] * 40


def build_tokenizer(vocab_size: int = 300) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def save_tokenizer(folder: Path, vocab_size: int = 300) -> PreTrainedTokenizerFast:
    tokenizer = build_tokenizer(vocab_size)
    tokenizer.save_pretrained(folder)
    return tokenizer
