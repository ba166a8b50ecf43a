"""The tiny coder's tokenizer: byte-level BPE trained on the corpus, GPT-2 style pre-tokenization.

Byte-level, so any text the model writes or reads (programs, reprs, unicode) has a tokenization. The format tags
of our prompts are added tokens, so `<think>`, `</think>`, `<answer>` and `</answer>` are always one token each
and never merge with their neighbours; `<|endoftext|>` is the end-of-sequence and padding token, as in
scripts/make_tiny_random_model.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"
FORMAT_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE with `vocab_size` entries (EOS and the format tags included), trained on `texts`."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(FORMAT_TAGS),
        special_tokens=[EOS],
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    # Not special: decoding keeps them, and the parser needs them in the text.
    tokenizer.add_tokens([AddedToken(tag, normalized=False) for tag in FORMAT_TAGS])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS)
