"""One evaluation: problems -> responses (generated, or read from a samples file) -> sandbox verdicts -> pass@k.

Responses come in as n per problem; code responses become programs checked against the benchmark's tests,
math responses give a final answer checked for equivalence with the gold one; both in the jailed workers.
Results keep the input order of the problems and of their samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from azr_jax.eval import code_check, execution_check, math_check
from azr_jax.eval.benchmarks import BENCHMARKS, CodeProblem, ExecutionProblem, MathProblem, Problem, load_benchmark
from azr_jax.eval.config import EvalConfig
from azr_jax.eval.pass_at_k import mean_pass_at_k
from azr_jax.selfplay.prompts import PromptConfig
from sandbox import Executor, SandboxConfig

CHECK_CHUNK = 256  # scripts per sandbox call: enough to keep every worker busy, few enough for the progress bar


@dataclasses.dataclass(frozen=True)
class BenchmarkResult:
    name: str
    kind: str
    title: str
    scores: dict[str, float]  # "pass@k" -> fraction of problems
    records: list[dict]  # one per (problem, sample), problems in input order


def load_problems(config: EvalConfig, files: Mapping[str, str] | None = None) -> dict[str, list[Problem]]:
    """The configured benchmarks' problems, by name in the configured order."""
    dates = (config.lcb_since, config.lcb_until)
    return {name: load_benchmark(name, files, config.data_dir, config.limit, dates) for name in config.benchmarks}


def eval_sandbox_config(config: EvalConfig, base: SandboxConfig) -> SandboxConfig:
    """The jail for benchmark tests: `base` (the run's or the CLI's sandbox settings) with the venv's packages
    readable (numpy for evalplus' tests, math_verify for answers, preloaded), the eval's time and memory limits,
    room for LiveCodeBench's stdin files, and top-level helpers allowed beside `f` (benchmark programs are given,
    not proposed: the one-function rule is a rule for proposals)."""
    return dataclasses.replace(
        base,
        timeout_s=config.timeout_s,
        memory_mb=config.memory_mb,
        site_packages=True,
        preload_modules=math_check.PRELOAD,
        file_size_mb=64,
        tmpfs_mb=128,
        allow_helpers=True,
    )


def score_benchmark(
    name: str,
    problems: Sequence[Problem],
    responses: Sequence[Sequence[dict]],
    executor: Executor,
    config: EvalConfig,
    progress=None,
) -> BenchmarkResult:
    """`responses[i]` holds problem i's samples, each {"completion": text} (a model response or a samples-file
    completion, `from_samples` marks the latter) or {"solution": program} (evalplus samples)."""
    if len(responses) != len(problems):
        raise ValueError(f"{name}: {len(problems)} problems but responses for {len(responses)}")
    counts = {len(samples) for samples in responses}
    if len(counts) != 1:
        raise ValueError(f"{name}: every problem needs the same number of samples, got {sorted(counts)}")
    n = counts.pop()
    flat = [(problem, sample) for problem, samples in zip(problems, responses) for sample in samples]
    records = []
    for start in range(0, len(flat), CHECK_CHUNK):
        chunk = flat[start : start + CHECK_CHUNK]
        records += _check(chunk, executor, config)
        if progress is not None:
            progress.update(len(chunk))
    for index, record in enumerate(records):
        record["sample"] = index % n
    correct = [sum(r["passed"] for r in records[i * n : (i + 1) * n]) for i in range(len(problems))]
    scores = {f"pass@{k}": mean_pass_at_k(correct, n, k) for k in config.ks if k <= n}
    benchmark = BENCHMARKS[name]
    return BenchmarkResult(name, benchmark.kind, benchmark.title, scores, records)


def _check(chunk: list[tuple[Problem, dict]], executor: Executor, config: EvalConfig) -> list[dict]:
    if isinstance(chunk[0][0], ExecutionProblem):
        prompts = PromptConfig(template=config.template)  # the format the prompts asked for (eval.prompts)
        answers = [execution_check.extract_answer(p, _text(s), prompts, bool(s.get("from_samples"))) for p, s in chunk]
        verdicts = execution_check.check_answers(executor, [p for p, _ in chunk], answers)
        return [
            {
                "benchmark": p.benchmark,
                "task_id": p.task_id,
                "completion": s.get("completion"),
                "answer": a,
                "gold": p.output if p.task_type == "deduction" else p.input,
                **v,
            }
            for (p, s), a, v in zip(chunk, answers, verdicts)
        ]
    if isinstance(chunk[0][0], MathProblem):
        answers = [_answer(sample) for _, sample in chunk]
        verdicts = math_check.check_answers(executor, [p.answer for p, _ in chunk], answers, config.timeout_s)
        return [
            {
                "benchmark": p.benchmark,
                "task_id": p.task_id,
                "completion": s.get("completion"),
                "answer": a,
                "gold": p.answer,
                **v,
            }
            for (p, s), a, v in zip(chunk, answers, verdicts)
        ]
    problems: list[CodeProblem] = [p for p, _ in chunk]  # type: ignore[misc]
    programs = [_program(p, s) for p, s in chunk]
    verdicts = code_check.check_programs(executor, problems, programs, config.timeout_s, config.case_timeout_s)
    return [
        {"benchmark": p.benchmark, "task_id": p.task_id, "completion": s.get("completion"), "program": program, **v}
        for (p, s), program, v in zip(chunk, programs, verdicts)
    ]


def _text(sample: dict) -> str:
    return sample.get("completion", sample.get("solution", ""))


def _answer(sample: dict) -> str | None:
    text = _text(sample)
    answer = math_check.extract_answer(text)
    if answer is None and sample.get("from_samples"):
        answer = text.strip() or None  # a samples file may hold bare answers
    return answer


def _program(problem: CodeProblem, sample: dict) -> str:
    if sample.get("from_samples") or "solution" in sample:
        return code_check.program_from_sample(problem, sample)
    return code_check.program_from_response(problem, sample["completion"])


def averages(results: Sequence[BenchmarkResult], metric: str = "pass@1") -> dict[str, float | None]:
    """The paper's summary: the mean over code benchmarks, over math benchmarks, and the mean of the two
    (just the one present when only one kind ran). Benchmarks outside the paper's averages are left out."""
    averaged = [r for r in results if metric in r.scores and BENCHMARKS[r.name].averaged]
    by_kind = {kind: [r.scores[metric] for r in averaged if r.kind == kind] for kind in ("code", "math")}
    code = sum(by_kind["code"]) / len(by_kind["code"]) if by_kind["code"] else None
    math = sum(by_kind["math"]) / len(by_kind["math"]) if by_kind["math"] else None
    present = [v for v in (code, math) if v is not None]
    return {"code_average": code, "math_average": math, "overall": sum(present) / len(present) if present else None}
