"""The controlled study of docs/tiny_selfplay.md: does self-play make the tiny coder's solver better?

Arms (every threshold and setting is written in docs/tiny_selfplay.md before the runs):
    trr      TRR++ (selfplay.advantages.estimator="task_relative", the paper's), seeds --trr-seeds
    global   global REINFORCE++ (one baseline for all six groups, the paper's ablation), seeds --global-seeds
    no RL    the pretrained model, measured with evaluation seeds 0 (the paired baseline: the runs' held-out
             evaluation draws with the same random numbers) and 1 (an independent draw: the evaluation's noise)

Each run is `train.py --config configs/tiny.py` with the study's settings (STUDY_FLAGS) and the trainer's own
held-out evaluation every --eval-every steps (`heldout.*`: 4 sampled answers per task and type at temperature 1
and one greedy answer, on assets/tinycoder/heldout.jsonl). Runs resume from their checkpoints, and a finished
step is never run again, so the command can be repeated until it completes. Then it writes results.json,
results.md and PNG plots to --out:

    python scripts/tiny_selfplay_study.py --runs runs/study60 --out docs/tiny_selfplay
    python scripts/tiny_selfplay_study.py --runs runs/study60 --out docs/tiny_selfplay --analyze-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TYPES = ("abduction", "deduction", "induction")
HELDOUT = "assets/tinycoder/heldout.jsonl"
PRIMARY_TIER = "one_step"

# The study's settings on top of configs/tiny.py (docs/tiny_selfplay.md, "Design").
STUDY_FLAGS = (
    "--config.rollout.batch_size=8",  # responses per (task type, role) per step: 48 a step
    "--config.rl.num_mini_batches=2",  # two optimizer updates per step at the same learning rate (1e-4)
    "--config.trainer.seeding=if_needed",
    "--config.selfplay.seeding.target_size=8",  # a small seed buffer: early batches are not the identity task
    "--config.selfplay.seeding.batch_size=12",
    f"--config.heldout.path={HELDOUT}",
    "--config.heldout.samples=4",
    "--config.heldout.seed=0",
    "--config.checkpoint.every_steps=10",
    "--config.trainer.text_samples=2",
)
ESTIMATORS = {"trr": "task_relative", "global": "global"}


def run(command: list[str], env: dict | None = None) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=REPO, env=env)


def read_metrics(workdir: Path) -> list[dict]:
    path = workdir / "metrics.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    by_step = {r["step"]: r for r in records if r["step"] > 0}  # a resumed run may log a step twice: keep the last
    return [by_step[s] for s in sorted(by_step)]


def train_run(workdir: Path, estimator: str, seed: int, args) -> None:
    if (workdir / "heldout" / f"step_{args.steps}.json").is_file():
        return
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(REPO / args.runs / "compile_cache"))
    run(
        [
            sys.executable,
            "train.py",
            "--config=configs/tiny.py",
            f"--workdir={workdir}",
            f"--config.trainer.steps={args.steps}",
            f"--config.trainer.seed={seed}",
            f"--config.selfplay.advantages.estimator={ESTIMATORS[estimator]}",
            f"--config.heldout.every_steps={args.eval_every}",
            *STUDY_FLAGS,
        ],
        env,
    )


def evaluate_pretrained(path: Path, eval_seed: int) -> None:
    if not path.is_file():
        run(
            [
                sys.executable,
                "-m",
                "azr_jax.tinycoder.evaluate",
                "--model=assets/tinycoder",
                f"--tasks={HELDOUT}",
                "--samples=4",
                f"--seed={eval_seed}",
                f"--out={path}",
            ]
        )


# ---- analysis ----


def scores(record: dict, mode: str, rows: np.ndarray) -> np.ndarray:
    """Per (type, task) score in [0, 1] for the tasks `rows`, types stacked: [3 * len(rows)]."""
    per_type = []
    for t in TYPES:
        counts = record[mode][t]
        per_type.append(np.asarray(counts["correct"], float)[rows] / counts["per_task"])
    return np.concatenate(per_type)


def well_formed_accuracy(record: dict, mode: str, rows: np.ndarray) -> float:
    correct = sum(np.asarray(record[mode][t]["correct"])[rows].sum() for t in TYPES)
    formed = sum(np.asarray(record[mode][t]["well_formed"])[rows].sum() for t in TYPES)
    return float(correct / formed) if formed else 0.0


def format_error_rate(record: dict, mode: str, rows: np.ndarray) -> float:
    formed = sum(np.asarray(record[mode][t]["well_formed"])[rows].sum() for t in TYPES)
    answers = sum(len(rows) * record[mode][t]["per_task"] for t in TYPES)
    return float(1 - formed / answers)


def paired(after: np.ndarray, before: np.ndarray) -> dict:
    """Mean gain (points) and its standard error over paired items."""
    d = 100 * (after - before)
    return {"gain": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d)))}


def summary(values: list[float]) -> dict:
    v = np.asarray(values, float)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return {"mean": float(v.mean()), "se": se, "values": v.tolist()}


def analyse(runs: dict[str, dict], pretrained: dict[int, dict], tiers: list, steps: int) -> dict:
    """Every endpoint of the pre-registered analysis, per run and over each arm's seeds."""
    subsets = {
        "one_step": np.array([i for i, t in enumerate(tiers) if t == PRIMARY_TIER]),
        "all": np.arange(len(tiers)),
    }
    base = pretrained[0]
    out: dict = {"no_rl": {}, "runs": {}, "arms": {}}
    for name, rows in subsets.items():
        out["no_rl"][name] = {
            "sampled_pass@1": {s: float(100 * scores(r, "sampled", rows).mean()) for s, r in pretrained.items()},
            "greedy_accuracy": float(100 * scores(base, "greedy", rows).mean()),
            "well_formed_accuracy": float(100 * well_formed_accuracy(base, "sampled", rows)),
            "format_error_rate": float(100 * format_error_rate(base, "sampled", rows)),
            "per_type_sampled": {
                t: float(100 * scores(base, "sampled", rows)[k * len(rows) : (k + 1) * len(rows)].mean())
                for k, t in enumerate(TYPES)
            },
        }
    for run_name, run in runs.items():
        final = run["heldout"].get(steps)
        if final is None:
            continue
        entry = {}
        for name, rows in subsets.items():
            sampled, greedy = scores(final, "sampled", rows), scores(final, "greedy", rows)
            n = len(rows)
            entry[name] = {
                "sampled_pass@1": float(100 * sampled.mean()),
                "sampled_gain": paired(sampled, scores(base, "sampled", rows)),
                "greedy_accuracy": float(100 * greedy.mean()),
                "greedy_gain": paired(greedy, scores(base, "greedy", rows)),
                "well_formed_accuracy": float(100 * well_formed_accuracy(final, "sampled", rows)),
                "format_error_rate": float(100 * format_error_rate(final, "sampled", rows)),
                "per_type_sampled_gain": {
                    t: paired(sampled[k * n : (k + 1) * n], scores(base, "sampled", rows)[k * n : (k + 1) * n])
                    for k, t in enumerate(TYPES)
                },
            }
        out["runs"][run_name] = entry
    for arm in ESTIMATORS:
        members = [e for name, e in out["runs"].items() if name.startswith(f"{arm}-")]
        if not members:
            continue
        out["arms"][arm] = {
            name: {
                metric: summary([m[name][metric]["gain"] if "gain" in metric else m[name][metric] for m in members])
                for metric in (
                    "sampled_pass@1",
                    "sampled_gain",
                    "greedy_gain",
                    "well_formed_accuracy",
                    "format_error_rate",
                )
            }
            for name in subsets
        }
    out["verdict"] = verdict(out)
    return out


def verdict(out: dict) -> dict:
    """The pre-registered success criteria (docs/tiny_selfplay.md), each True/False, for the TRR++ arm."""
    if "trr" not in out["arms"]:
        return {}
    arm, runs = out["arms"]["trr"], [e for n, e in out["runs"].items() if n.startswith("trr-")]
    one, every = arm["one_step"], arm["all"]
    no_rl = np.mean(list(out["no_rl"]["one_step"]["sampled_pass@1"].values()))
    checks = {
        "gain >= 5 points on the one-step tier, or >= 3 on all tasks": one["sampled_gain"]["mean"] >= 5
        or every["sampled_gain"]["mean"] >= 3,
        "every seed's one-step gain positive": all(r["one_step"]["sampled_gain"]["gain"] > 0 for r in runs),
        "greedy one-step gain agrees in sign": (one["greedy_gain"]["mean"] > 0) == (one["sampled_gain"]["mean"] > 0),
        "well-formed accuracy rises (one-step)": one["well_formed_accuracy"]["mean"]
        > out["no_rl"]["one_step"]["well_formed_accuracy"],
        ">= 4 points over the no-RL arm (one-step sampled pass@1)": one["sampled_pass@1"]["mean"] >= no_rl + 4,
    }
    checks = {k: bool(v) for k, v in checks.items()}
    checks["met"] = all(checks.values())
    return checks


def fmt(s: dict, signed: bool = False) -> str:
    mean = f"{s['mean']:+.1f}" if signed else f"{s['mean']:.1f}"
    return mean if np.isnan(s["se"]) else f"{mean} ± {s['se']:.1f}"


def write_markdown(results: dict, path: Path) -> None:
    a = results["analysis"]
    lines = [f"`{results['command']}`", ""]
    lines += [
        "Held-out solver, after the last step, against the pretrained model (paired task by task; points; "
        "sampled = 4 answers per task at temperature 1; ± one standard error over tasks per run, over seeds "
        "per arm):",
        "",
        "| run | tier | sampled pass@1 | gain | greedy accuracy | greedy gain | well-formed accuracy | format errors "
        "| gain a / d / i |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for tier in ("one_step", "all"):
        n = a["no_rl"][tier]
        seeds = ", ".join(f"{v:.1f}" for v in n["sampled_pass@1"].values())
        lines.append(
            f"| pretrained (eval seeds 0, 1) | {tier} | {seeds} | | {n['greedy_accuracy']:.1f} | | "
            f"{n['well_formed_accuracy']:.1f} | "
            f"{n['format_error_rate']:.1f} | |"
        )
    for name, e in a["runs"].items():
        for tier in ("one_step", "all"):
            r = e[tier]
            per_type = " / ".join(f"{r['per_type_sampled_gain'][t]['gain']:+.1f}" for t in TYPES)
            lines.append(
                f"| {name} | {tier} | {r['sampled_pass@1']:.1f} | {r['sampled_gain']['gain']:+.1f} ± "
                f"{r['sampled_gain']['se']:.1f} | {r['greedy_accuracy']:.1f} | {r['greedy_gain']['gain']:+.1f} ± "
                f"{r['greedy_gain']['se']:.1f} | "
                f"{r['well_formed_accuracy']:.1f} | {r['format_error_rate']:.1f} | {per_type} |"
            )
    lines += ["", "Per arm (mean ± standard error over seeds):", ""]
    lines += ["| arm | tier | sampled pass@1 | gain | greedy gain | well-formed accuracy | format errors |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for arm, tiers in a["arms"].items():
        for tier, m in tiers.items():
            lines.append(
                f"| {arm} ({len(m['sampled_gain']['values'])} seeds) | {tier} | {fmt(m['sampled_pass@1'])} | "
                f"{fmt(m['sampled_gain'], True)} | {fmt(m['greedy_gain'], True)} | {fmt(m['well_formed_accuracy'])} | "
                f"{fmt(m['format_error_rate'])} |"
            )
    lines += ["", "Pre-registered criteria (TRR++):", ""]
    lines += [f"- {k}: **{'yes' if v else 'no'}**" for k, v in a["verdict"].items()]
    lines += ["", "Self-play, first 10 steps → last 10 steps:", ""]
    lines += ["| run | valid proposals a / d / i | learnable proposals | solver accuracy in self-play a / d / i |"]
    lines += ["|---|---|---|---|"]
    for name, curves in results["curves"].items():

        def window(key, part):
            values = np.asarray(curves[key], float)
            return np.nanmean(values[:10] if part == 0 else values[-10:])

        valid = " / ".join(
            f"{window(f'{t}/propose/valid_rate', 0):.2f}→{window(f'{t}/propose/valid_rate', 1):.2f}" for t in TYPES
        )
        learn = f"{window('learnable', 0):.1f}→{window('learnable', 1):.1f} per step"
        solve = " / ".join(
            f"{window(f'{t}/solve/accuracy', 0):.2f}→{window(f'{t}/solve/accuracy', 1):.2f}" for t in TYPES
        )
        lines.append(f"| {name} | {valid} | {learn} | {solve} |")
    lines += ["", "Update health over the run:", ""]
    lines += [
        "| run | steps | minutes | entropy, first → last 10 steps | log-prob gap, max | clip fraction, mean "
        "| steps with a guard alarm |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for name, curves in results["curves"].items():
        entropy = np.asarray(curves["rl/entropy"], float)
        lines.append(
            f"| {name} | {curves['steps_done']} | {curves['minutes']} | {np.nanmean(entropy[:10]):.3f} → "
            f"{np.nanmean(entropy[-10:]):.3f} | {np.nanmax(np.asarray(curves['rl/logprob_gap_mean_abs'], float)):.2e} "
            f"| {np.nanmean(np.asarray(curves['rl/clip_fraction'], float)):.4f} | "
            f"{int(np.sum(np.asarray(curves['guard/alarms'], float) > 0))} |"
        )
    path.write_text("\n".join(lines) + "\n")


def plot_curves(curves: dict[str, dict], keys: list[tuple[str, str]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"trr": "tab:blue", "global": "tab:orange"}
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], keys):
        for name, c in curves.items():
            values = np.asarray(c[key], float)
            color = colors[name.split("-")[0]]
            ax.plot(np.arange(1, len(values) + 1), values, color=color, alpha=0.2, lw=0.8)
            if len(values) >= 5:
                smooth = np.convolve(np.nan_to_num(values), np.ones(5) / 5, mode="valid")
                ax.plot(np.arange(5, len(values) + 1), smooth, color=color, lw=1.6, label=name)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("self-play step")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title + " (thin: per step; thick: 5-step mean)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_heldout(results: dict, path: Path) -> None:
    """Held-out sampled pass@1 over steps (one-step tier and all tasks), every run, with the no-RL arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"trr": "tab:blue", "global": "tab:orange"}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, tier in zip(axes, ("one_step", "all")):
        for name, points in results["heldout_curves"].items():
            steps = sorted(points, key=int)
            ax.plot(
                [int(s) for s in steps],
                [points[s][tier] for s in steps],
                marker="o",
                color=colors[name.split("-")[0]],
                label=name,
            )
        for seed, value in results["analysis"]["no_rl"][tier]["sampled_pass@1"].items():
            ax.axhline(value, color="tab:gray", ls="--", lw=0.8, label=f"no RL (eval seed {seed})")
        ax.set_title(f"held-out sampled pass@1, {tier.replace('_', '-')} tasks (3 types)", fontsize=9)
        ax.set_xlabel("self-play step")
        ax.set_ylabel("points")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--eval-every", type=int, default=30, help="held-out evaluation every N steps")
    parser.add_argument("--trr-seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--global-seeds", type=int, nargs="*", default=[0])
    # Paths are relative to the repository (commands run there), so results.json names no machine's folders.
    parser.add_argument("--runs", default="runs/study60")
    parser.add_argument("--out", default="docs/tiny_selfplay")
    parser.add_argument("--analyze-only", action="store_true", help="no training or evaluation: what exists")
    args = parser.parse_args()
    runs_dir, out = Path(args.runs), REPO / args.out
    out.mkdir(parents=True, exist_ok=True)
    names = [("trr", s) for s in args.trr_seeds] + [("global", s) for s in args.global_seeds]
    if not args.analyze_only:
        for eval_seed in (0, 1):
            evaluate_pretrained(REPO / runs_dir / f"pretrained-eval{eval_seed}.json", eval_seed)
        # One run of each arm before the second TRR++ seed: a study cut short still compares the arms.
        order = sorted(names, key=lambda n: (n[1] != names[0][1], n[0] != "trr"))
        for arm, seed in order:
            train_run(runs_dir / f"{arm}-seed{seed}", arm, seed, args)

    pretrained = {s: json.loads((REPO / runs_dir / f"pretrained-eval{s}.json").read_text()) for s in (0, 1)}
    tiers = pretrained[0]["tiers"]
    runs, curves, heldout_curves = {}, {}, {}
    for arm, seed in names:
        workdir = REPO / runs_dir / f"{arm}-seed{seed}"
        records = read_metrics(workdir)
        if not records:
            continue
        heldout = {
            int(p.stem.split("_")[1]): json.loads(p.read_text()) for p in (workdir / "heldout").glob("step_*.json")
        }
        name = f"{arm}-seed{seed}"
        runs[name] = {"heldout": heldout}
        batch = json.loads((workdir / "run_config.json").read_text())["rollout"]["batch_size"]
        keys = [f"{t}/{r}" for t in TYPES for r in ("propose/valid_rate", "solve/accuracy")]
        keys += ["rl/entropy", "rl/logprob_gap_mean_abs", "rl/clip_fraction", "guard/alarms"]
        curves[name] = {k: [r.get(k) for r in records] for k in keys}
        curves[name]["learnable"] = [
            sum(r[f"{t}/propose/valid_rate"] * batch * r[f"{t}/propose/learnable_fraction"] for t in TYPES)
            for r in records
        ]
        curves[name]["steps_done"] = len(records)
        curves[name]["minutes"] = round(
            sum(r.get("time/step_s", 0) + r.get("time/heldout_s", 0) for r in records) / 60, 1
        )
        one = np.array([i for i, t in enumerate(tiers) if t == PRIMARY_TIER])
        heldout_curves[name] = {
            str(step): {
                "one_step": float(100 * scores(rec, "sampled", one).mean()),
                "all": float(100 * scores(rec, "sampled", np.arange(len(tiers))).mean()),
            }
            for step, rec in {0: pretrained[0], **heldout}.items()
        }
    results = {
        "command": " ".join(["python", *sys.argv]),
        "steps": args.steps,
        "study_flags": list(STUDY_FLAGS),
        "analysis": analyse(runs, pretrained, tiers, args.steps),
        "curves": curves,
        "heldout_curves": heldout_curves,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    write_markdown(results, out / "results.md")
    if curves:
        plot_heldout(results, out / "heldout_pass_at_1.png")
        plot_curves(
            curves,
            [(f"{t}/propose/valid_rate", f"{t}: valid proposals") for t in TYPES] + [("learnable", "learnable / step")],
            "Proposer",
            out / "proposer.png",
        )
        plot_curves(
            curves,
            [(f"{t}/solve/accuracy", f"{t}: solver accuracy (self-play batch)") for t in TYPES],
            "Solver accuracy on the tasks self-play proposes",
            out / "solver_accuracy.png",
        )
    print((out / "results.md").read_text())


if __name__ == "__main__":
    main()
