"""The trainer's periodic evaluation: a fixed (small) problem set scored with the current parameters.

Problems and prompts are prepared once, when training starts, so that a missing file or a prompt longer than
the sampler's largest bucket stops the run before its first step rather than in the middle of it. Each call
samples with a key derived from the eval seed and the step alone, so evaluating never changes the training
run's own random stream (a resumed run stays identical). Every process of a multi-host run takes part (the
sampler is collective) and scores the same samples; process 0 writes the reports.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jax

from azr_jax.config import ConfigError
from azr_jax.eval.config import EvalConfig
from azr_jax.eval.generation import Generator, chat_template_of
from azr_jax.eval.harness import eval_sandbox_config, load_problems, score_benchmark
from azr_jax.eval.prompts import prompt
from azr_jax.eval.report import flat_metrics, write_report
from azr_jax.sampling import Sampler, end_of_sequence_ids
from sandbox import Executor, SandboxConfig


class PeriodicEval:
    def __init__(
        self,
        config: EvalConfig,
        sampler: Sampler,
        tokenizer: Any,
        out_dir: Path | None,
        sandbox: SandboxConfig = SandboxConfig(),  # noqa: B008 - frozen: one shared immutable default
    ):
        self.config = config
        self.out_dir = out_dir
        try:
            self.problems = load_problems(config)
        except (FileNotFoundError, ValueError) as e:
            raise ConfigError(f"eval.benchmarks: {e}") from None
        chat = chat_template_of(tokenizer) if config.template == "chat" else None
        self.prompts = {
            name: [prompt(p, config.template, chat) for p in items] for name, items in self.problems.items()
        }
        longest = max(
            len(tokenizer(text, add_special_tokens=False)["input_ids"])
            for texts in self.prompts.values()
            for text in texts
        )
        if longest > max(sampler.config.prompt_buckets):
            raise ConfigError(
                f"eval.benchmarks: a prompt of {longest} tokens exceeds the largest of sampler.prompt_buckets "
                f"{sampler.config.prompt_buckets}; add a bucket or lower eval.limit"
            )
        try:
            self.generator = Generator(sampler, config, end_of_sequence_ids(sampler.model_config, tokenizer))
        except ValueError as e:
            raise ConfigError(str(e)) from None
        self.executor = Executor(eval_sandbox_config(config, sandbox))

    def __call__(self, step: int, params) -> dict[str, float]:
        """Scores the current parameters; returns eval/<benchmark>/pass@k, the averages and time/eval_s."""
        started = time.perf_counter()
        key = jax.random.fold_in(jax.random.key(self.config.seed), step)
        results = []
        for index, (name, problems) in enumerate(self.problems.items()):
            length = self.config.generation_length(name)
            responses = self.generator(self.prompts[name], jax.random.fold_in(key, index), length, params=params)
            samples = [[{"completion": text} for text in texts] for texts in responses]
            results.append(score_benchmark(name, problems, samples, self.executor, self.config))
        if self.out_dir is not None:
            write_report(self.out_dir / f"step_{step}", results, self.config, f"training step {step}")
        return {**flat_metrics(results), "time/eval_s": time.perf_counter() - started}

    def close(self) -> None:
        self.executor.close()
