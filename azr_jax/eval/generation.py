"""Responses from a model: a Hugging Face folder or a training workdir's checkpoint, through our sampler."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from azr_jax.eval.config import EvalConfig
from azr_jax.eval.prompts import STOP
from azr_jax.export import load_checkpoint_model
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.models.hf_io import resolve_model_folder
from azr_jax.sampling import Sampler, SamplerConfig


def is_workdir(path: str | Path) -> bool:
    path = Path(path)
    return (path / "checkpoints").is_dir() and (path / "model" / "config.json").is_file()


def load_model(path: str, step: int | None = None, dtype: str = "bfloat16") -> tuple[Qwen2ForCausalLM, Path, str]:
    """The model at `path`: a training workdir (its checkpoint `step`, default the latest; the optimizer
    state is never read) or a Hugging Face folder / cached hub id. Returns the model, the folder holding
    its tokenizer, and a description for the report."""
    compute = jnp.dtype(dtype)
    if is_workdir(path):
        model, step = load_checkpoint_model(path, step, compute)
        return model, Path(path) / "model", f"{path} (step {step})"
    if step is not None:
        raise ValueError(f"--step applies to a training workdir; {path} is a model folder")
    folder = resolve_model_folder(path)
    return Qwen2ForCausalLM.from_pretrained(folder, dtype=compute, param_dtype=compute), folder, str(path)


def chat_template_of(tokenizer: Any):
    """The tokenizer's chat template as azr_jax.selfplay.prompts.ChatTemplate."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("eval template 'chat': the tokenizer has no chat template")
    return functools.partial(tokenizer.apply_chat_template, tokenize=False, add_generation_prompt=True)


def sampler_for(model: Qwen2ForCausalLM, tokenizer: Any, config: EvalConfig, cache_dtype: str) -> Sampler:
    return Sampler(
        model, tokenizer, SamplerConfig(max_new_tokens_cap=config.longest_generation, cache_dtype=cache_dtype)
    )


class Generator:
    """n responses per prompt, `prompts_per_call` prompts at a time; `params` overrides the sampler's model
    (the trainer passes its current parameters)."""

    def __init__(self, sampler: Sampler, config: EvalConfig, eos: Sequence[int]):
        if config.temperature == 0 and config.n > 1:
            raise ValueError(f"eval.n: {config.n} greedy samples would all be identical; set eval.temperature > 0")
        self.sampler = sampler
        self.config = config
        self.eos = list(eos)

    def __call__(
        self, prompts: Sequence[str], key: jax.Array, max_new_tokens: int, params=None, progress=None
    ) -> list[list[str]]:
        c = self.config
        responses: list[list[str]] = []
        for start in range(0, len(prompts), c.prompts_per_call):
            batch = list(prompts[start : start + c.prompts_per_call])
            key, call_key = jax.random.split(key)
            out = self.sampler.generate(
                batch,
                key=call_key,
                max_new_tokens=max_new_tokens,
                temperature=c.temperature,
                top_p=c.top_p,
                n=c.n,
                stop=STOP,
                eos_ids=self.eos,
                state=params,
            )
            responses += [out.texts[i * c.n : (i + 1) * c.n] for i in range(len(batch))]
            if progress is not None:
                progress.update(len(batch))
        return responses
