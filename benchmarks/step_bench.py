"""Time per phase of a training step: runs the trainer for a few steps and tabulates what metrics.jsonl says.

    python benchmarks/step_bench.py [--config configs/tiny.py] [--steps 4] [overrides as --config.X=Y ...]

The first step compiles (sampler buckets, the update), so it is shown apart; the table's mean covers the
steps after it. Phases: sample (device: proposals, rollouts, answers), sandbox (host: validation and grading
not hidden behind sampling), host (prompts, parsing, rewards), update (device: old log-probs and the PPO
update). host share = (sandbox + host) / step: the time the device waits for the host.
"""

import json
import sys
import tempfile
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

REPO = Path(__file__).resolve().parents[1]
config_flags.DEFINE_config_file("config", str(REPO / "configs" / "tiny.py"), "run config file")
flags.DEFINE_integer("steps", 4, "steps to run (the first one compiles)")

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
        print(f"| {r['step']} | " + " | ".join(f"{r[f'time/{p}_s']:.2f}" for p in PHASES)
              + f" | {r['time/host_share']:.3f} | {r['time/generated_tokens_per_s']:.0f} |")  # fmt: skip
    later = records[1:] or records
    mean = {p: sum(r[f"time/{p}_s"] for r in later) / len(later) for p in PHASES}
    share = sum(r["time/host_share"] for r in later) / len(later)
    print("| mean of steps 2+ | " + " | ".join(f"{mean[p]:.2f}" for p in PHASES) + f" | {share:.3f} | |")


if __name__ == "__main__":
    app.run(main, argv=sys.argv)
