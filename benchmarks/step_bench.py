"""Time per phase of a training step: runs the trainer for a few steps and tabulates what metrics.jsonl says.

    python benchmarks/step_bench.py [--config configs/tiny.py] [--steps 4] [overrides as --config.X=Y ...]

The first step compiles (sampler buckets, the update), so it is shown apart; the table's mean covers the
steps after it. Phases: sample (device: proposals, rollouts, answers), sandbox (host: validation and grading
not hidden behind sampling), host (prompts, parsing, rewards), update (device: old log-probs and the PPO
update). host share = (sandbox + host) / step: the time the device waits for the host. Also: the device's peak
memory against the trainer's memory plan (`python -m azr_jax.models.info`), and with --json a file of it all.
"""

import json
import sys
import tempfile
from pathlib import Path

import jax
from absl import app, flags
from ml_collections import config_flags

REPO = Path(__file__).resolve().parents[1]
config_flags.DEFINE_config_file("config", str(REPO / "configs" / "tiny.py"), "run config file")
flags.DEFINE_integer("steps", 4, "steps to run (the first one compiles)")
flags.DEFINE_string("json", None, "also write the steps, means and memory to this file")

PHASES = ("sample", "sandbox", "host", "update", "step")


def main(argv):
    del argv
    from azr_jax.trainer import train

    config = flags.FLAGS.config
    config.trainer.steps = flags.FLAGS.steps
    config.trainer.tensorboard = False
    config.checkpoint.every_steps = 10**9  # the final checkpoint only
    with tempfile.TemporaryDirectory() as workdir:
        train(config, workdir)
        records = [json.loads(line) for line in (Path(workdir) / "metrics.jsonl").read_text().splitlines()]
    print(f"{len(records)} steps")
    print("| step | " + " | ".join(f"{p} s" for p in PHASES) + " | host share | generated tok/s |")
    print("|---" * (len(PHASES) + 3) + "|")
    for r in records:
        print(
            f"| {r['step']} | "
            + " | ".join(f"{r[f'time/{p}_s']:.2f}" for p in PHASES)
            + f" | {r['time/host_share']:.3f} | {r['time/generated_tokens_per_s']:.0f} |"
        )
    later = records[1:] or records
    mean = {p: sum(r[f"time/{p}_s"] for r in later) / len(later) for p in PHASES}
    share = sum(r["time/host_share"] for r in later) / len(later)
    print("| mean of steps 2+ | " + " | ".join(f"{mean[p]:.2f}" for p in PHASES) + f" | {share:.3f} | |")
    memory = _memory(config)
    print(", ".join(f"{k}: {v:.2f}" for k, v in memory.items()))
    if flags.FLAGS.json:
        with open(flags.FLAGS.json, "w") as f:
            json.dump(
                {
                    "device": jax.devices()[0].device_kind,
                    "steps": records,
                    "mean_after_first": mean,
                    "host_share_after_first": share,
                    **memory,
                },
                f,
                indent=2,
            )


def _memory(config) -> dict[str, float]:
    """The device's peak so far and the trainer's plan for this run (GiB per device)."""
    from azr_jax.models.info import memory_plan
    from azr_jax.models.qwen2 import attention_implementation
    from azr_jax.models.qwen2_config import Qwen2Config
    from azr_jax.rl import mesh_from_config
    from azr_jax.trainer.run_config import load_run_config

    run = load_run_config(config)
    model = Qwen2Config.from_json_file(Path(run.model.path) / "config.json")
    attention = attention_implementation(jax.numpy.dtype(run.rl.compute_dtype))
    plan = memory_plan(model, run, dict(mesh_from_config(run.parallel).shape), attention)
    stats = jax.devices()[0].memory_stats() or {}
    return {
        "peak_GiB": stats.get("peak_bytes_in_use", float("nan")) / 2**30,
        "planned_sampling_peak_GiB": plan.sampling_peak / 2**30,
        "planned_update_peak_GiB": plan.update_peak / 2**30,
    }


if __name__ == "__main__":
    app.run(main, argv=sys.argv)
