"""Command line: `python -m sandbox run FILE.jsonl`, `python -m sandbox grade FILE.jsonl`, `python -m sandbox check`,
`python -m sandbox bench`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from sandbox.config import SandboxConfig


def _config(args: argparse.Namespace, **overrides) -> SandboxConfig:
    return SandboxConfig(backend=args.backend, workers=args.workers, timeout_s=args.timeout, **overrides)


def _read_jsonl(path: str, parse_line) -> list:
    """`parse_line(number, record)` for each non-blank line; a bad line raises ValueError naming file and line."""
    items = []
    try:
        with open(path) as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    items.append(parse_line(number, json.loads(line)))
                except (ValueError, KeyError, AttributeError, TypeError) as err:
                    raise ValueError(f"{path}:{number}: {err}") from None
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror}") from None
    return items


def run_file(args: argparse.Namespace) -> int:
    """Validates each program of a JSONL file as a proposal would be; one JSON result per line, in order."""
    from sandbox.executor import Executor

    def parse_line(number: int, record: dict):
        if not isinstance(record.get("program"), str):
            raise ValueError('expected {"id", "program", "input"}')
        return record.get("id", number), record["program"], record.get("input", "")

    try:
        records = _read_jsonl(args.file, parse_line)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    config = _config(
        args, check_policy=not args.no_policy, allow_helpers=args.allow_helpers, site_packages=args.site_packages
    )
    with Executor(config) as executor:
        results = executor.validate([(program, text) for _, program, text in records])
    for (record_id, _, _), result in zip(records, results):
        print(
            json.dumps(
                {
                    "id": record_id,
                    "status": result.status.value,
                    "output": result.output,
                    "error": result.error,
                    "seconds": round(result.seconds, 6),
                }
            )
        )
    return 0


_GRADE_FIELDS = {
    "deduction": ("program", "input", "output", "answer"),
    "abduction": ("program", "output", "answer"),
    "induction": ("inputs", "outputs", "answer"),
}


def _grade_line(number: int, record: dict) -> dict:
    task = record.get("task")
    if task not in _GRADE_FIELDS:
        raise ValueError(f"'task' must be one of {sorted(_GRADE_FIELDS)}, got {task!r}")
    for field in _GRADE_FIELDS[task]:
        value = record.get(field)
        text_list = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not (text_list if field in ("inputs", "outputs") else isinstance(value, str)):
            kind = "a list of strings" if field in ("inputs", "outputs") else "a string"
            raise ValueError(f"a {task} line needs {field!r} as {kind}")
    if task == "induction" and not 0 < len(record["inputs"]) == len(record["outputs"]):
        raise ValueError(
            f"an induction line needs as many outputs as inputs, at least one: got "
            f"{len(record['inputs'])} inputs and {len(record['outputs'])} outputs"
        )
    return {"id": record.get("id", number), **record}


def grade_file(args: argparse.Namespace) -> int:
    """Grades each answer of a JSONL file as the trainer does; one {"id", "correct", "status", "error"} per line."""
    from sandbox.executor import Executor

    try:
        records = _read_jsonl(args.file, _grade_line)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    config = _config(
        args,
        allow_helpers=args.allow_helpers,
        site_packages=args.site_packages,
        answer_values=args.answer_values,
        float_rel_tol=args.float_rel_tol,
    )
    verdicts: list[dict | None] = [None] * len(records)
    with Executor(config) as executor:
        for task in _GRADE_FIELDS:
            index = [i for i, r in enumerate(records) if r["task"] == task]
            rows = [records[i] for i in index]
            if task == "deduction":
                results = executor.check_deduction([(r["program"], r["output"], r["answer"]) for r in rows])
            elif task == "abduction":
                results = executor.check_abduction([(r["program"], r["answer"], r["output"]) for r in rows])
            else:
                checks = executor.check_induction([(r["answer"], r["inputs"], r["outputs"]) for r in rows])
                # An induction verdict: the first held-out pair that was not matched tells why.
                results = [next((c for c in r.cases if not c.correct), r.cases[0]) for r in checks]
            for i, result in zip(index, results):
                verdicts[i] = {"correct": result.correct, "status": result.status.value, "error": result.error}
    for record, verdict in zip(records, verdicts):
        print(json.dumps({"id": record["id"], **verdict}))
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
    grade = commands.add_parser(
        "grade",
        help="grade solver answers: {id, task, program, input, output, answer} "
        "per line (induction: inputs, outputs, answer)",
    )
    grade.add_argument("file")
    grade.add_argument(
        "--answer-values",
        choices=("data", "expressions"),
        default=SandboxConfig.answer_values,
        help="read predicted outputs and abduction inputs as plain data (default) or evaluate them",
    )
    grade.add_argument("--float-rel-tol", type=float, default=SandboxConfig.float_rel_tol)
    for command in (run, grade):
        command.add_argument("--allow-helpers", action="store_true", help="allow top-level definitions besides f")
        command.add_argument(
            "--site-packages",
            action="store_true",
            help="let programs import this interpreter's installed packages (numpy, sympy)",
        )
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
    try:
        _config(args).validated()
    except ValueError as err:
        parser.error(str(err))
    return {"run": run_file, "grade": grade_file, "check": check}[args.command](args)
