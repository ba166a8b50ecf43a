"""Benchmark: proposal validation (policy, determinism, gold output) on real AZR seed programs, jailed pool
versus the naive baseline (one fresh `python -c` subprocess per execution, no jail), in the same run.

Both sides do the same work per program: two executions under different PYTHONHASHSEED values and a
comparison of the reprs. Run: `python -m sandbox bench` or `python benchmarks/sandbox_bench.py`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.determinism import second_run_reason
from sandbox.executor import Executor
from sandbox.policy import DEFAULT_POLICY
from sandbox.results import Status
from sandbox.semantics import JobError, parse_arguments, parse_program

DEFAULT_SEED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "azr_seed"
TRIVIAL = ("def f(a):\n    return a + 1", "1")


def load_seed_programs(seed_dir: Path) -> list[tuple[str, str]]:
    """(program, input) pairs: the 256 deduction seeds and every input of the 256 induction seeds."""
    items = []
    with open(seed_dir / "3b_coder_seed_io.jsonl") as lines:
        items += [(row["snippet"], row["input"]) for row in map(json.loads, lines)]
    with open(seed_dir / "3b_coder_code_f_seed_io.jsonl") as lines:
        items += [(row["snippet"], text) for row in map(json.loads, lines) for text in row["inputs"]]
    return items


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The baseline gets the fastest-starting interpreter at hand (the system python3 starts in ~9 ms here,
# pyenv's build in ~28 ms), so that the ratio flatters nobody.
NAIVE_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def naive_validate(item: tuple[str, str], timeout_s: float, python: str = NAIVE_PYTHON) -> tuple[str, float]:
    """The baseline: each execution is a fresh interpreter (`python3 -c`), two per program, no jail."""
    program, text = item
    source = f"{program}\nprint(repr(f({text})))"
    start = time.perf_counter()
    outputs = []
    for seed in ("1", "2"):
        try:
            env = {"PYTHONHASHSEED": seed, "PATH": os.environ.get("PATH", "")}
            done = subprocess.run([python, "-c", source], capture_output=True, timeout=timeout_s, env=env, check=False)
            outputs.append(done.stdout if done.returncode == 0 else None)
        except subprocess.TimeoutExpired:
            outputs.append(None)
    status = "ok" if outputs[0] is not None and outputs[0] == outputs[1] else "failed"
    return status, time.perf_counter() - start


def run_benchmark(n_programs: int, seed_dir: Path, workers: int, baseline_parallel: int, skip_baseline: bool) -> str:
    seeds = load_seed_programs(seed_dir)
    items = (seeds * (n_programs // len(seeds) + 1))[:n_programs]
    rows, notes, checks = [], [], []
    for mode in ("screened", "always"):
        config = SandboxConfig(workers=workers, allow_helpers=True, determinism=mode)
        with Executor(config) as executor:
            executor.validate(items[:64])  # warm-up: first forks of each worker
            start = time.perf_counter()
            results = executor.validate(items)
            elapsed = time.perf_counter() - start
            ok = sum(r.status is Status.OK for r in results)
            rows.append((f"jailed pool, {mode}", len(items), elapsed, ok, [r.seconds for r in results]))
            trivial = []
            for _ in range(200):
                t0 = time.perf_counter()
                executor.validate([TRIVIAL])
                trivial.append(time.perf_counter() - t0)
            notes.append(
                f"{mode}: trivial program, end-to-end validate() of one item: p50 "
                f"{percentile(trivial, 0.5) * 1e3:.2f} ms, p99 {percentile(trivial, 0.99) * 1e3:.2f} ms; "
                f"worker restarts {executor.worker_restarts}"
            )
            if mode == "screened":
                checks.append(_time_checks(executor, items, results))
            backend, n_workers = executor.backend, executor.config.worker_count
    twice = sum(_needs_second_run(program, text) for program, text in items)
    notes.append(f"screened: {twice} of {len(items)} programs got a second run (always: all of them)")
    if not skip_baseline:
        with concurrent.futures.ThreadPoolExecutor(baseline_parallel) as pool:
            start = time.perf_counter()
            outcomes = list(pool.map(lambda item: naive_validate(item, SandboxConfig.timeout_s), items))
            elapsed = time.perf_counter() - start
        notes.append(
            f"naive: {NAIVE_PYTHON} -c, one fresh process per execution, two executions per program, "
            f"{baseline_parallel} in parallel, no jail, no policy"
        )
        rows.append(
            (
                f"naive python -c x{baseline_parallel}",
                len(items),
                elapsed,
                sum(s == "ok" for s, _ in outcomes),
                [seconds for _, seconds in outcomes],
            )
        )
    rows += checks
    base_rate = rows[-1 - len(checks)][1] / rows[-1 - len(checks)][2]
    lines = [
        f"backend={backend} workers={n_workers} cpus={os.cpu_count()} programs={len(items)} (seed programs repeated; "
        f"latency = both executions of one program)",
        f"{'runner':<26}{'programs/s':>12}{'ratio':>8}{'ok':>7}{'p50 ms':>9}{'p99 ms':>9}",
    ]
    for name, count, seconds, ok_count, lat in rows:
        rate = count / seconds
        lines.append(
            f"{name:<26}{rate:>12.1f}{rate / base_rate:>8.2f}{ok_count:>7}"
            f"{percentile(lat, 0.5) * 1e3:>9.2f}{percentile(lat, 0.99) * 1e3:>9.2f}"
        )
    return "\n".join(lines + notes)


def _time_checks(executor: Executor, items: list[tuple[str, str]], gold: list) -> tuple:
    """A solver-check row: each validated program given as the induction answer to its own (input, output)
    pair, which is the work of every check (run f, report the value as plain data, compare in the worker)."""
    answers = [(program, [text], [result.output]) for (program, text), result in zip(items, gold) if result.ok]
    executor.check_induction(answers[:64])  # warm-up
    start = time.perf_counter()
    results = executor.check_induction(answers)
    elapsed = time.perf_counter() - start
    correct = sum(r.correct for r in results)
    return "jailed pool, checks", len(answers), elapsed, correct, [r.cases[0].seconds for r in results]


def _needs_second_run(program: str, text: str) -> bool:
    try:
        trees = [parse_program(program, DEFAULT_POLICY, True), parse_arguments(text, DEFAULT_POLICY)]
    except JobError:
        return False
    return second_run_reason(trees, True) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox bench", description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=2048, help="programs to validate (>= 1000)")
    parser.add_argument("--seed-dir", type=Path, default=DEFAULT_SEED_DIR)
    parser.add_argument("--workers", type=int, default=0, help="0 = one per CPU core (at least 2)")
    parser.add_argument("--baseline-parallel", type=int, default=2)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    if not (args.seed_dir / "3b_coder_seed_io.jsonl").exists():
        parser.error(f"no seed data in {args.seed_dir} (pass --seed-dir)")
    print(run_benchmark(args.programs, args.seed_dir, args.workers, args.baseline_parallel, args.skip_baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
