"""Command line: `python -m sandbox run FILE.jsonl [--no-policy]`, `python -m sandbox check`,
`python -m sandbox bench`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from sandbox.config import SandboxConfig


def _config(args: argparse.Namespace, **overrides) -> SandboxConfig:
    return SandboxConfig(backend=args.backend, workers=args.workers, timeout_s=args.timeout, **overrides)


def run_file(args: argparse.Namespace) -> int:
    """Validates each program of a JSONL file as a proposal would be; one JSON result per line, in order."""
    from sandbox.executor import Executor

    records = []
    with open(args.file) as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records.append((record.get("id", number), record["program"], record.get("input", "")))
            except (ValueError, KeyError, AttributeError) as err:
                print(f"{args.file}:{number}: expected {{\"id\", \"program\", \"input\"}}: {err}", file=sys.stderr)
                return 2
    config = _config(args, check_policy=not args.no_policy, allow_helpers=args.allow_helpers)
    with Executor(config) as executor:
        results = executor.validate([(program, text) for _, program, text in records])
    for (record_id, _, _), result in zip(records, results):
        print(json.dumps({"id": record_id, "status": result.status.value, "output": result.output,
                          "error": result.error, "seconds": round(result.seconds, 6)}))  # fmt: skip
    return 0


def check(args: argparse.Namespace) -> int:
    from sandbox.probes import report

    holds, text = report(_config(args))
    print(text)
    return 0 if holds else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--backend", choices=("auto", "nsjail", "process"), default="auto")
    parser.add_argument("--workers", type=int, default=0, help="0 = one per CPU core (at least 2)")
    parser.add_argument("--timeout", type=float, default=SandboxConfig.timeout_s, help="seconds per execution")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="validate the programs of a JSONL file ({id, program, input} per line)")
    run.add_argument("file")
    run.add_argument("--no-policy", action="store_true", help="skip the import/call policy (isolation tests)")
    run.add_argument("--allow-helpers", action="store_true", help="allow top-level definitions besides f")
    commands.add_parser("check", help="verify every protection of the backend on this machine")
    commands.add_parser("bench", help="run the benchmark (see benchmarks/sandbox_bench.py)", add_help=False)
    args, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.command == "bench":
        from sandbox.bench import main as bench_main

        if args.workers and "--workers" not in rest:
            rest += ["--workers", str(args.workers)]
        return bench_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return run_file(args) if args.command == "run" else check(args)



