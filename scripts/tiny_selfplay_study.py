"""The toy-scale Absolute Zero study of docs/tiny_selfplay.md: does self-play teach the tiny coder?

For each advantage estimator (TRR++ = "task_relative", the paper's; REINFORCE++ = "global", its ablation) and
each seed, run `train.py --config configs/tiny.py` for --steps self-play steps, then measure the solver's accuracy
per task type on the held-out tasks (assets/tinycoder/heldout.jsonl: generated like the pretraining corpus, with
programs that are not in it, and never put in a self-play buffer), greedy, as the trainer prompts, parses and
grades. The pretrained model is measured once as "before". Writes results.json, results.md (tables) and PNG plots
to --out:

    python scripts/tiny_selfplay_study.py --steps 40 --seeds 0 1 2 --estimators task_relative global

Runs resume: a finished run (its metrics reach --steps) is only evaluated again when its result is missing.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TYPES = ("abduction", "deduction", "induction")


def run(command: list[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=REPO)


def metrics(workdir: Path) -> list[dict]:
    path = workdir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def evaluate(out_file: Path, source: list[str], args) -> dict:
    if not out_file.is_file():
        verbosity = [] if args.verbosity is None else [f"--verbosity={args.verbosity}"]
        run(
            [
                sys.executable,
                "-m",
                "azr_jax.tinycoder.evaluate",
                *source,
                f"--tasks={args.heldout}",
                f"--limit={args.limit}",
                f"--out={out_file}",
                *verbosity,
            ]
        )
    return json.loads(out_file.read_text())


def curve(records: list[dict], key: str) -> np.ndarray:
    return np.array([r.get(key, np.nan) for r in records], dtype=float)


def plot(runs: dict[tuple[str, int], list[dict]], keys: list[tuple[str, str]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    estimators = sorted({e for e, _ in runs})
    for ax, (key, label) in zip(axes[0], keys):
        for color, estimator in zip(("tab:blue", "tab:orange", "tab:green"), estimators):
            curves = [curve(r, key) for (e, _), r in runs.items() if e == estimator and r]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            stacked = np.stack([c[:length] for c in curves])
            steps = np.arange(1, length + 1)
            for c in stacked:
                ax.plot(steps, c, color=color, alpha=0.25, linewidth=0.8)
            ax.plot(
                steps,
                np.nanmean(stacked, axis=0),
                color=color,
                linewidth=2,
                label=f"{estimator} (mean of {len(curves)})",
            )
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("self-play step")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_heldout(before: dict, after: dict[str, dict], estimators: list[str], seeds: list[int], path: Path) -> None:
    """Held-out solver accuracy per task type: before self-play, and after it per estimator (mean, min-max bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    width = 0.8 / (1 + len(estimators))
    x = np.arange(len(TYPES))
    ax.bar(x, [before[f"{t}/accuracy"] for t in TYPES], width, label="before (pretrained)", color="tab:gray")
    for k, estimator in enumerate(estimators, start=1):
        values = np.array([[after[f"{estimator}-seed{s}"][f"{t}/accuracy"] for s in seeds] for t in TYPES])
        mean = values.mean(axis=1)
        ax.bar(
            x + k * width,
            mean,
            width,
            yerr=[mean - values.min(axis=1), values.max(axis=1) - mean],
            capsize=3,
            label=f"after, {estimator} ({len(seeds)} seeds)",
        )
    ax.set_xticks(x + width * len(estimators) / 2, TYPES)
    ax.set_ylabel("held-out accuracy (greedy)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pretraining(log_file: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([r["step"] for r in records], [r["loss"] for r in records])
    ax.set_yscale("log")
    ax.set_xlabel("pretraining step")
    ax.set_ylabel("response-token loss (nats)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def spread(values, digits: int = 3) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ({values.min():.{digits}f}–{values.max():.{digits}f})"


def learnable_counts(records: list[dict], proposals_per_type: int) -> np.ndarray:
    """Learnable proposals (0 < solve rate < 1) per step, all task types together."""
    return np.array(
        [
            sum(r[f"{t}/propose/valid_rate"] * proposals_per_type * r[f"{t}/propose/learnable_fraction"] for t in TYPES)
            for r in records
        ]
    )


def write_tables(results: dict, runs: dict[tuple[str, int], list[dict]], proposals_per_type: int, path: Path) -> None:
    """results.md: held-out accuracy before and after (mean and min–max over seeds), and self-play statistics."""
    estimators, seeds = sorted({e for e, _ in runs}, reverse=True), results["seeds"]
    lines = [
        f"`{results['command']}`",
        "",
        "Held-out accuracy, greedy (mean, min–max over seeds; format-error rate after the slash):",
        "",
        "| model | " + " | ".join(TYPES) + " |",
        "|---" * (1 + len(TYPES)) + "|",
    ]
    before = results["before"]
    lines.append(
        "| pretrained | "
        + " | ".join(f"{before[f'{t}/accuracy']:.3f} / {before[f'{t}/format_error_rate']:.3f}" for t in TYPES)
        + " |"
    )
    for e in estimators:
        after = [results["after"][f"{e}-seed{s}"] for s in seeds]
        cells = [
            f"{spread([a[f'{t}/accuracy'] for a in after])} / {np.mean([a[f'{t}/format_error_rate'] for a in after]):.3f}"
            for t in TYPES
        ]
        lines.append(f"| after {results['steps']} steps, {e} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Self-play, per run of {results['steps']} steps (mean, min–max over seeds):",
        "",
        "| estimator | valid proposals, " + ", ".join(TYPES) + " | learnable proposals per run | first step with one | "
        "solver accuracy in self-play, " + ", ".join(TYPES) + " |",
        "|---|---|---|---|---|",
    ]
    for e in estimators:
        records = [runs[e, s] for s in seeds]
        valid = " / ".join(
            f"{np.mean([np.nanmean(curve(r, f'{t}/propose/valid_rate')) for r in records]):.2f}" for t in TYPES
        )
        counts = [learnable_counts(r, proposals_per_type) for r in records]
        first = ", ".join(str(int(np.argmax(c > 0)) + 1) if c.any() else "none" for c in counts)
        solved = " / ".join(
            f"{np.mean([np.nanmean(curve(r, f'{t}/solve/accuracy')) for r in records]):.3f}" for t in TYPES
        )
        lines.append(f"| {e} | {valid} | {spread([c.sum() for c in counts], digits=1)} | {first} | {solved} |")
    window = min(10, results["steps"] // 3)
    lines += [
        "",
        f"First {window} steps → last {window} steps of each run (seeds {', '.join(map(str, seeds))}):",
        "",
        "| | " + " | ".join(estimators) + " |",
        "|---" * (1 + len(estimators)) + "|",
    ]

    def mean_of(key):
        return lambda records: f"{np.nanmean(curve(records, key)):.2f}"

    rows = [(f"valid {t} proposals", mean_of(f"{t}/propose/valid_rate")) for t in TYPES]
    rows += [(f"{t} proposals with a format error", mean_of(f"{t}/propose/format_error_rate")) for t in TYPES]
    rows += [(f"{t} solver accuracy in self-play", mean_of(f"{t}/solve/accuracy")) for t in TYPES]
    rows.append(
        (
            "learnable proposals (all types)",
            lambda records: f"{learnable_counts(records, proposals_per_type).sum():.0f}",
        )
    )
    for label, summarise in rows:
        cells = [
            ", ".join(f"{summarise(runs[e, s][:window])}→{summarise(runs[e, s][-window:])}" for s in seeds)
            for e in estimators
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--estimators", nargs="+", default=["task_relative", "global"])
    # Paths are relative to the repository (commands run there), so results.json names no machine's folders.
    parser.add_argument("--runs", default="runs/study")
    parser.add_argument("--out", default="docs/tiny_selfplay")
    parser.add_argument("--heldout", default="assets/tinycoder/heldout.jsonl")
    parser.add_argument("--limit", type=int, default=300, help="held-out tasks used (the first N)")
    parser.add_argument("--model", default="assets/tinycoder")
    parser.add_argument("--verbosity", type=int, default=None, help="passed on: libraries' messages on the console too")
    parser.add_argument("overrides", nargs="*", help="extra --config.X=Y flags for train.py (after --)")
    args = parser.parse_args()
    verbosity = [] if args.verbosity is None else [f"--verbosity={args.verbosity}"]
    runs_dir, out = Path(args.runs), REPO / args.out
    out.mkdir(parents=True, exist_ok=True)
    results = {"command": " ".join(["python", *sys.argv]), "steps": args.steps, "seeds": args.seeds}
    results["before"] = evaluate(REPO / runs_dir / "before.json", [f"--model={args.model}"], args)
    runs, after = {}, {}
    for estimator in args.estimators:
        for seed in args.seeds:
            workdir = runs_dir / f"{estimator}-seed{seed}"
            if len(metrics(REPO / workdir)) < args.steps:
                run(
                    [
                        sys.executable,
                        "train.py",
                        "--config=configs/tiny.py",
                        f"--workdir={workdir}",
                        f"--config.trainer.steps={args.steps}",
                        f"--config.trainer.seed={seed}",
                        f"--config.selfplay.advantages.estimator={estimator}",
                        f"--config.model.path={args.model}",
                        *verbosity,
                        *args.overrides,
                    ]
                )
            runs[estimator, seed] = metrics(REPO / workdir)
            after[f"{estimator}-seed{seed}"] = evaluate(
                REPO / workdir / "heldout_eval.json", [f"--workdir={workdir}"], args
            )
    results["after"] = after
    # Training time from the runs' own step timings, so a resumed or re-evaluated study reports the same figure.
    results["train_minutes"] = {
        f"{e}-seed{s}": round(sum(r["time/step_s"] for r in records) / 60, 1) for (e, s), records in runs.items()
    }
    summary = {}
    for estimator in args.estimators:
        for t in TYPES:
            values = [after[f"{estimator}-seed{s}"][f"{t}/accuracy"] for s in args.seeds]
            summary[f"{estimator}/{t}/accuracy"] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values)),
                "min": float(np.min(values)),
                "max": float(np.max(values)),
            }
    results["summary"] = summary
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    proposals_per_type = json.loads(
        (REPO / runs_dir / f"{args.estimators[0]}-seed{args.seeds[0]}" / "run_config.json").read_text()
    )["rollout"]["batch_size"]
    write_tables(results, runs, proposals_per_type, out / "results.md")

    plot(
        runs,
        [(f"{t}/propose/valid_rate", f"{t}: valid proposals") for t in TYPES],
        "Proposal validity",
        out / "validity.png",
    )
    plot(
        runs,
        [(f"{t}/propose/learnable_fraction", f"{t}: fraction with 0 < solve rate < 1") for t in TYPES],
        "Learnable proposals",
        out / "learnability.png",
    )
    plot(
        runs,
        [(f"{t}/solve/accuracy", f"{t}: solver accuracy (self-play batch)") for t in TYPES],
        "Solver accuracy on the tasks self-play proposes",
        out / "solver_accuracy.png",
    )
    plot_heldout(results["before"], after, args.estimators, args.seeds, out / "heldout_accuracy.png")
    plot_pretraining(REPO / args.model / "pretrain_log.jsonl", out / "pretrain_loss.png")
    print(json.dumps(results["summary"], indent=2))


if __name__ == "__main__":
    main()
