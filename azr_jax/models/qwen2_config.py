"""The Qwen2 / Qwen2.5 architecture: published presets and Hugging Face `config.json` in both directions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class UnsupportedConfigError(ValueError):
    """A Hugging Face config asks for something this implementation does not compute."""


@dataclasses.dataclass(frozen=True)
class Qwen2Config:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int | None = None  # hidden_size // num_attention_heads unless a config says otherwise
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1_000_000.0
    max_position_embeddings: int = 32768
    tie_word_embeddings: bool = False
    bos_token_id: int | None = 151643
    eos_token_id: int | tuple[int, ...] | None = 151643

    def __post_init__(self):
        if self.head_dim is None:
            if self.hidden_size % self.num_attention_heads:
                raise UnsupportedConfigError(
                    f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads "
                    f"{self.num_attention_heads} and no head_dim is given"
                )
            object.__setattr__(self, "head_dim", self.hidden_size // self.num_attention_heads)
        if self.num_attention_heads % self.num_key_value_heads:
            raise UnsupportedConfigError(
                f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads {self.num_key_value_heads}"
            )
        if self.head_dim % 2:
            raise UnsupportedConfigError(f"rotary embeddings need an even head_dim, got {self.head_dim}")

    @property
    def num_query_groups(self) -> int:
        return self.num_attention_heads // self.num_key_value_heads

    # ---- Hugging Face config.json ----

    @classmethod
    def from_hf_dict(cls, hf: Mapping[str, Any], source: str = "config.json") -> Qwen2Config:
        """Reads a transformers 4.x or 5.x Qwen2 config; rejects what we would silently compute differently."""

        def reject(why: str):
            raise UnsupportedConfigError(f"{source}: {why}")

        architectures = hf.get("architectures") or []
        if hf.get("model_type") != "qwen2" or (architectures and "Qwen2ForCausalLM" not in architectures):
            reject(
                f"unsupported architecture (model_type={hf.get('model_type')!r}, architectures={architectures}); "
                "azr_jax implements Qwen2ForCausalLM (model_type 'qwen2': Qwen2 and Qwen2.5, coder or not)"
            )
        if hf.get("hidden_act", "silu") != "silu":
            reject(f"hidden_act {hf['hidden_act']!r} is not supported (only 'silu')")
        if hf.get("use_sliding_window", False):
            reject("use_sliding_window=true is not supported (Qwen2.5 checkpoints ship it false)")
        layer_types = hf.get("layer_types")
        if layer_types and any(t != "full_attention" for t in layer_types):
            reject(f"layer_types other than full_attention are not supported: {sorted(set(layer_types))}")
        rope_theta = hf.get("rope_theta")
        # transformers 5 moved rope_theta into rope_parameters; 4.x keeps it top level with rope_scaling beside it.
        rope_parameters = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        rope_type = rope_parameters.get("rope_type", rope_parameters.get("type", "default"))
        if rope_type != "default":
            reject(f"rope scaling {rope_type!r} is not supported (only the default rotary embedding)")
        rope_theta = rope_parameters.get("rope_theta", rope_theta)
        if rope_theta is None:
            reject("no rope_theta (neither top level nor in rope_parameters)")
        if hf.get("attention_dropout", 0.0):
            reject("attention_dropout must be 0 (RL sampling and training assume a deterministic model)")
        eos = hf.get("eos_token_id", 151643)
        try:
            return cls(
                vocab_size=int(hf["vocab_size"]),
                hidden_size=int(hf["hidden_size"]),
                intermediate_size=int(hf["intermediate_size"]),
                num_hidden_layers=int(hf["num_hidden_layers"]),
                num_attention_heads=int(hf["num_attention_heads"]),
                num_key_value_heads=int(hf.get("num_key_value_heads") or hf["num_attention_heads"]),
                head_dim=hf.get("head_dim"),
                rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
                rope_theta=float(rope_theta),
                max_position_embeddings=int(hf.get("max_position_embeddings", 32768)),
                tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
                bos_token_id=hf.get("bos_token_id"),
                eos_token_id=tuple(eos) if isinstance(eos, list) else eos,
            )
        except KeyError as e:
            reject(f"missing field {e.args[0]!r}")
        except UnsupportedConfigError as e:
            reject(str(e))

    @classmethod
    def from_json_file(cls, path: str | Path) -> Qwen2Config:
        path = Path(path)
        try:
            hf = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise UnsupportedConfigError(f"{path}: not valid JSON ({e})") from e
        return cls.from_hf_dict(hf, source=str(path))

    def to_hf_dict(self, torch_dtype: str = "float32") -> dict[str, Any]:
        """A config.json that transformers 4.x and 5.x and vLLM read as this architecture."""
        eos = list(self.eos_token_id) if isinstance(self.eos_token_id, tuple) else self.eos_token_id
        return {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_parameters": {"rope_type": "default", "rope_theta": self.rope_theta},
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "use_sliding_window": False,
            "attention_dropout": 0.0,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": eos,
            "torch_dtype": torch_dtype,
            "dtype": torch_dtype,
        }


def _coder(hidden, intermediate, layers, heads, kv_heads, vocab, tied) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        rms_norm_eps=1e-6,
        rope_theta=1_000_000.0,
        max_position_embeddings=32768,
        tie_word_embeddings=tied,
        bos_token_id=151643,
        eos_token_id=151643,
    )


# The published Qwen2.5-Coder shapes (Hugging Face config.json of each base model). The non-coder Qwen2.5
# models of the same sizes share them except for max_position_embeddings; load those from their folder.
PRESETS: dict[str, Qwen2Config] = {
    "qwen2.5-coder-0.5b": _coder(896, 4864, 24, 14, 2, 151936, tied=True),
    "qwen2.5-coder-1.5b": _coder(1536, 8960, 28, 12, 2, 151936, tied=True),
    "qwen2.5-coder-3b": _coder(2048, 11008, 36, 16, 2, 151936, tied=True),
    "qwen2.5-coder-7b": _coder(3584, 18944, 28, 28, 4, 152064, tied=False),
    "qwen2.5-coder-14b": _coder(5120, 13824, 48, 40, 8, 152064, tied=False),
}


def preset(name: str) -> Qwen2Config:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise KeyError(f"no preset named {name!r}; presets: {', '.join(PRESETS)}") from None
