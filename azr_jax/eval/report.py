"""What an evaluation writes: a Markdown table, results.json, and one JSONL of verdicts per benchmark.

OUT/results.md              the table: each benchmark, code average, math average, overall (pass@k in %)
OUT/results.json            the same numbers, the model, the settings, the time
OUT/samples/<name>.jsonl    one line per (problem, sample): completion, program or answer, verdict, error
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

from azr_jax.eval.config import EvalConfig
from azr_jax.eval.harness import BenchmarkResult, averages


def summary(results: Sequence[BenchmarkResult], config: EvalConfig, model: str) -> dict:
    metrics = [f"pass@{k}" for k in config.ks]
    return {
        "model": model,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": dataclasses.asdict(config),
        "benchmarks": {
            r.name: {
                "title": r.title,
                "kind": r.kind,
                "problems": len({rec["task_id"] for rec in r.records}),
                **r.scores,
            }
            for r in results
        },
        "averages": {metric: averages(results, metric) for metric in metrics},
    }


def markdown_table(summary_: dict) -> str:
    metrics = list(summary_["averages"])
    lines = [
        f"Model: {summary_['model']}",
        "",
        "| Benchmark | Kind | Problems | " + " | ".join(metrics) + " |",
        "|---|---|---:|" + "---:|" * len(metrics),
    ]
    for entry in summary_["benchmarks"].values():
        cells = [_percent(entry.get(m)) for m in metrics]
        lines.append(f"| {entry['title']} | {entry['kind']} | {entry['problems']} | " + " | ".join(cells) + " |")
    for key, label in (("code_average", "Code average"), ("math_average", "Math average"), ("overall", "Overall")):
        cells = [_percent(summary_["averages"][m][key]) for m in metrics]
        lines.append(f"| **{label}** | | | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def write_report(out: str | Path, results: Sequence[BenchmarkResult], config: EvalConfig, model: str) -> dict:
    """Writes the three outputs to `out`; returns the summary (results.json's content)."""
    out = Path(out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    data = summary(results, config, model)
    (out / "results.json").write_text(json.dumps(data, indent=2) + "\n")
    (out / "results.md").write_text(markdown_table(data))
    for result in results:
        with open(out / "samples" / f"{result.name}.jsonl", "w", encoding="utf-8") as handle:
            for record in result.records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return data


def flat_metrics(results: Sequence[BenchmarkResult], prefix: str = "eval/") -> dict[str, float]:
    """Scores as flat metric names for the trainer's writer: eval/<benchmark>/pass@1, eval/overall/pass@1..."""
    metrics = {f"{prefix}{r.name}/{m}": v for r in results for m, v in r.scores.items()}
    for metric in {m for r in results for m in r.scores}:
        for key, value in averages(results, metric).items():
            if value is not None:
                metrics[f"{prefix}{key}/{metric}"] = value
    return metrics
