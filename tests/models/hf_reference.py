"""Tiny random Hugging Face Qwen2 models (PyTorch, float32): the reference our model is checked against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import Qwen2Config as HFQwen2Config
from transformers import Qwen2ForCausalLM as HFQwen2ForCausalLM

# Tied and untied, GQA ratios 1, 2 and 4, an odd hidden size, rope theta 1e4 and 1e6.
TINY_CONFIGS = {
    "tied_gqa2_theta1e6": dict(
        hidden_size=64, num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True, rope_theta=1e6
    ),
    "untied_mha_theta1e4": dict(
        hidden_size=48, num_attention_heads=3, num_key_value_heads=3, tie_word_embeddings=False, rope_theta=1e4
    ),
    "untied_gqa4_theta1e6": dict(
        hidden_size=64, num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=False, rope_theta=1e6
    ),
    "tied_odd_hidden_theta1e4": dict(
        hidden_size=45,
        num_attention_heads=5,
        num_key_value_heads=5,
        head_dim=10,
        tie_word_embeddings=True,
        rope_theta=1e4,
    ),
}


def build_hf_model(name: str, seed: int = 0, vocab_size: int = 101, layers: int = 2) -> HFQwen2ForCausalLM:
    """A float32 model whose every tensor is random, biases and norm scales included (HF initialises those to
    zeros and ones, which would hide bias and norm bugs)."""
    overrides = dict(TINY_CONFIGS[name])
    rope_theta = overrides.pop("rope_theta")
    config = HFQwen2Config(
        vocab_size=vocab_size,
        intermediate_size=80,
        num_hidden_layers=layers,
        max_position_embeddings=256,
        rope_parameters={"rope_type": "default", "rope_theta": rope_theta},
        attn_implementation="eager",
        **overrides,
    )
    torch.manual_seed(seed)
    model = HFQwen2ForCausalLM(config).eval()
    with torch.no_grad():
        for param_name, param in model.named_parameters():
            if param_name.endswith("norm.weight"):
                param.copy_(1.0 + 0.3 * torch.randn_like(param))
            else:
                param.copy_(0.15 * torch.randn_like(param))
    return model


def save_hf_model(model: HFQwen2ForCausalLM, folder: Path, **kwargs) -> Path:
    model.save_pretrained(folder, **kwargs)
    return folder


def hf_logits(model: HFQwen2ForCausalLM, input_ids: np.ndarray, attention_mask: np.ndarray | None = None) -> np.ndarray:
    """Reference logits; with a mask, positions count real tokens only (as generation does with left padding)."""
    ids = torch.as_tensor(input_ids)
    kwargs = {}
    if attention_mask is not None:
        mask = torch.as_tensor(attention_mask)
        kwargs = dict(attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0))
    with torch.no_grad():
        return model(ids, **kwargs).logits.float().numpy()


def left_padded_batch(rng: np.random.Generator, vocab_size: int, lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    width = max(lengths)
    ids = np.zeros((len(lengths), width), np.int64)
    mask = np.zeros((len(lengths), width), np.int64)
    for row, n in enumerate(lengths):
        ids[row, width - n :] = rng.integers(0, vocab_size, n)
        mask[row, width - n :] = 1
    return ids, mask
