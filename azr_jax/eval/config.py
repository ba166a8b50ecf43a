"""The evaluation's settings: one frozen dataclass for the command line and the trainer's periodic eval."""

from __future__ import annotations

import dataclasses
from typing import Literal

from azr_jax.eval.benchmarks import BENCHMARKS, LCB_RELEASE_WINDOW


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    benchmarks: tuple[str, ...] = ("humaneval",)  # names from azr_jax.eval.benchmarks.BENCHMARKS
    # Where benchmark files are looked up as <name>.jsonl (humaneval needs none); "" = $AZR_EVAL_DATA.
    data_dir: str = ""
    limit: int = 0  # the first `limit` problems of each benchmark (0: all); a small set for the trainer
    # LiveCodeBench problems whose contest date is in [since, until) (ISO dates, "" for open); the default is the
    # paper's release_v5 window.
    lcb_since: str = LCB_RELEASE_WINDOW[0]
    lcb_until: str = LCB_RELEASE_WINDOW[1]
    template: Literal["base", "chat"] = "base"  # the AZR base-model conversation or the tokenizer's chat template
    n: int = 1  # samples per problem (generated: needs temperature > 0 when > 1; a samples file sets its own)
    temperature: float = 0.0  # 0 is greedy (the paper's pass@1)
    top_p: float = 1.0
    ks: tuple[int, ...] = (1,)  # pass@k reported for each k <= n (unbiased estimator)
    # Response length cap: 0 gives each benchmark its length in the paper's protocol (Benchmark.max_new_tokens:
    # 768 evalplus, 8096 LiveCodeBench and the training-time validation sets, 16000 math); > 0, one cap for all.
    max_new_tokens: int = 0
    prompts_per_call: int = 16  # prompts per sampler call (device memory for the KV cache)
    timeout_s: float = 10.0  # wall clock of one test script: one problem's tests, or one math answer check
    # One test case inside its problem's script (LiveCodeBench cases, evalplus inputs): its own timer. A
    # LiveCodeBench script gets case_timeout_s per case (+1 s) in all when that exceeds timeout_s.
    case_timeout_s: float = 6.0
    memory_mb: int = 1024  # address space of one test script
    seed: int = 0
    every_steps: int = 0  # trainer only: evaluate every this many steps (0: never)

    def __post_init__(self):
        checks = {
            "benchmarks": bool(self.benchmarks),
            "limit": self.limit >= 0,
            "template": self.template in ("base", "chat"),
            "n": self.n >= 1,
            "temperature": self.temperature >= 0,
            "top_p": 0 < self.top_p <= 1,
            "max_new_tokens": self.max_new_tokens >= 0,
            "prompts_per_call": self.prompts_per_call >= 1,
            "timeout_s": self.timeout_s > 0,
            "case_timeout_s": self.case_timeout_s > 0,
            "memory_mb": self.memory_mb >= 64,
            "every_steps": self.every_steps >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"eval.{name}: invalid value {getattr(self, name)!r}")
        if not self.ks or not all(1 <= k <= self.n for k in self.ks):
            raise ValueError(f"eval.ks: {self.ks}: pass@k needs 1 <= k <= n, the samples per problem (n = {self.n})")
        unknown = [b for b in self.benchmarks if b not in BENCHMARKS]
        if unknown:
            raise ValueError(f"eval.benchmarks: unknown {unknown}; known: {', '.join(BENCHMARKS)}")

    def generation_length(self, benchmark: str) -> int:
        return self.max_new_tokens or BENCHMARKS[benchmark].max_new_tokens

    @property
    def longest_generation(self) -> int:
        return max(self.generation_length(b) for b in self.benchmarks)
