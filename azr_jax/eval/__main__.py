"""`python -m azr_jax.eval --model PATH_OR_WORKDIR --benchmarks humaneval,math500 --out DIR`: evaluate a model.

PATH_OR_WORKDIR is a Hugging Face folder (or a cached hub id) or a training workdir (its latest checkpoint, or
--step). With --samples FILE.jsonl no model is loaded: the lines ({"task_id", "completion"} or evalplus'
{"task_id", "solution"}, optionally "benchmark") are scored instead. See docs/eval.md.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import sys
from pathlib import Path

from tqdm import tqdm

from azr_jax.config import ConfigError
from azr_jax.console import configure_logging
from azr_jax.eval.benchmarks import BENCHMARKS, FILE_NAMES
from azr_jax.eval.config import EvalConfig
from azr_jax.eval.harness import eval_sandbox_config, load_problems, score_benchmark
from azr_jax.eval.report import markdown_table, write_report
from sandbox import Executor, SandboxConfig


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m azr_jax.eval", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a Hugging Face folder, a cached hub id, or a training workdir")
    source.add_argument("--samples", help="a JSONL of completions to score without a model")
    parser.add_argument("--step", type=int, default=None, help="the workdir's checkpoint (default: the latest)")
    parser.add_argument("--benchmarks", default="humaneval", help=f"comma-separated, from: {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", required=True, help="the folder for results.md, results.json, samples/")
    parser.add_argument("--data-dir", default="", help="folder of <benchmark>.jsonl files (default: $AZR_EVAL_DATA)")
    parser.add_argument(
        "--file", action="append", default=[], metavar="NAME=PATH", help="one benchmark's file (repeatable)"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N problems of each benchmark")
    parser.add_argument(
        "--lcb-since",
        default=EvalConfig.lcb_since,
        help="LiveCodeBench problems dated on or after (ISO date; '' for open)",
    )
    parser.add_argument(
        "--lcb-until", default=EvalConfig.lcb_until, help="LiveCodeBench problems dated before (ISO date; '' for open)"
    )
    parser.add_argument(
        "--template",
        choices=("base", "chat"),
        default="base",
        help="AZR base template or the tokenizer's chat template",
    )
    parser.add_argument("-n", type=int, default=1, help="samples per problem (with --samples: as many as the file has)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 is greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--k", default="1", help="comma-separated k of pass@k (each <= n)")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=EvalConfig.max_new_tokens,
        help="0: each benchmark's length in the paper's protocol",
    )
    parser.add_argument("--prompts-per-call", type=int, default=EvalConfig.prompts_per_call)
    parser.add_argument("--timeout", type=float, default=EvalConfig.timeout_s, help="seconds per test script")
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=EvalConfig.case_timeout_s,
        help="seconds per test case (LiveCodeBench cases, evalplus inputs)",
    )
    parser.add_argument("--memory-mb", type=int, default=EvalConfig.memory_mb, help="address space of one test script")
    parser.add_argument("--workers", type=int, default=0, help="sandbox workers (0: one per core)")
    parser.add_argument("--dtype", choices=("bfloat16", "float32"), default="bfloat16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--verbosity",
        type=int,
        default=None,
        help="show every library's messages at this level too (absl's scale: 0 info, 1 debug); OUT/eval.log has them",
    )
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EvalConfig:
    try:
        ks = tuple(int(k) for k in args.k.split(","))
    except ValueError:
        raise ValueError(f"--k {args.k!r}: expected comma-separated integers, e.g. 1,5") from None
    # With --samples, n is the file's number of samples per problem (set once it is read).
    n = max(ks) if args.samples else args.n
    return EvalConfig(
        benchmarks=tuple(b.strip() for b in args.benchmarks.split(",") if b.strip()),
        data_dir=args.data_dir,
        limit=args.limit,
        lcb_since=args.lcb_since,
        lcb_until=args.lcb_until,
        template=args.template,
        n=n,
        temperature=args.temperature,
        top_p=args.top_p,
        ks=ks,
        max_new_tokens=args.max_new_tokens,
        prompts_per_call=args.prompts_per_call,
        timeout_s=args.timeout,
        case_timeout_s=args.case_timeout,
        memory_mb=args.memory_mb,
        seed=args.seed,
    )


def _files(pairs: list[str]) -> dict[str, str]:
    files = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or name not in FILE_NAMES:
            raise ValueError(f"--file {pair!r}: expected NAME=PATH with NAME one of {', '.join(FILE_NAMES)}")
        files[name] = path
    return files


def read_samples(path: str, problems: dict[str, list]) -> dict[str, list[list[dict]]]:
    """Samples per benchmark, per problem in problem order; a line may name its benchmark, else it applies to
    every selected benchmark holding its task_id (HumanEval and HumanEval+ share ids)."""
    by_key: dict[tuple[str | None, str], list[dict]] = collections.defaultdict(list)
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{number}: not JSON ({e})") from None
            if not isinstance(row, dict) or "task_id" not in row or not ("completion" in row or "solution" in row):
                raise ValueError(f"{path}:{number}: a sample needs task_id and completion (or solution)")
            sample = {k: row[k] for k in ("completion", "solution") if k in row} | {"from_samples": True}
            by_key[(row.get("benchmark"), str(row["task_id"]))].append(sample)
    samples = {}
    for name, items in problems.items():
        rows = [by_key.get((name, p.task_id)) or by_key.get((None, p.task_id)) for p in items]
        missing = [p.task_id for p, r in zip(items, rows) if not r]
        if missing:
            raise ValueError(f"{path}: no sample for {len(missing)} {name} problems, e.g. {missing[:3]}")
        samples[name] = rows
    return samples


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging(Path(args.out) / "eval.log", args.verbosity)
    try:
        config = config_from_args(args)
        files = _files(args.file)
        problems = load_problems(config, files)
        samples = read_samples(args.samples, problems) if args.samples else None
        if samples is not None:
            counts = {len(rows) for per_problem in samples.values() for rows in per_problem}
            if len(counts) != 1:
                raise ValueError(
                    f"{args.samples}: every problem needs the same number of samples, got {sorted(counts)}"
                )
            config = dataclasses.replace(config, n=counts.pop())  # also checks --k against it
    except (ValueError, FileNotFoundError, ConfigError) as e:
        sys.exit(f"error: {e}")

    if samples is None:
        try:
            samples, model_name = _generate(args, config, problems)
        except (ValueError, FileNotFoundError) as e:
            sys.exit(f"error: {e}")
    else:
        model_name = f"samples {args.samples}"
    total = sum(len(s) for rows in samples.values() for s in rows)
    results = []
    with (
        Executor(eval_sandbox_config(config, SandboxConfig(workers=args.workers))) as executor,
        tqdm(total=total, desc="testing", unit="sample") as bar,
    ):
        for name, items in problems.items():
            results.append(score_benchmark(name, items, samples[name], executor, config, progress=bar))
    summary = write_report(args.out, results, config, model_name)
    print(markdown_table(summary), end="")
    print(f"wrote {Path(args.out) / 'results.md'}, results.json and samples/")


def _generate(args: argparse.Namespace, config: EvalConfig, problems: dict[str, list]):
    """Responses of the model to every problem's prompt (n each), as samples per benchmark."""
    import jax  # only when a model is loaded: scoring a samples file needs no JAX
    from transformers import AutoTokenizer

    from azr_jax.eval.generation import Generator, chat_template_of, load_model, sampler_for
    from azr_jax.eval.prompts import prompt
    from azr_jax.sampling import end_of_sequence_ids

    model, tokenizer_folder, model_name = load_model(args.model, args.step, args.dtype)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder)
    chat = chat_template_of(tokenizer) if config.template == "chat" else None
    generator = Generator(
        sampler_for(model, tokenizer, config, args.dtype), config, end_of_sequence_ids(model.config, tokenizer)
    )
    key = jax.random.key(config.seed)
    samples = {}
    total = sum(len(items) for items in problems.values())
    with tqdm(total=total, desc="generating", unit="problem") as bar:
        for name, items in problems.items():
            key, benchmark_key = jax.random.split(key)
            prompts = [prompt(p, config.template, chat) for p in items]
            responses = generator(prompts, benchmark_key, config.generation_length(name), progress=bar)
            samples[name] = [[{"completion": text} for text in texts] for texts in responses]
    return samples, model_name


if __name__ == "__main__":
    main()
