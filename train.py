"""Absolute Zero self-play training.

    python train.py --config configs/azr_3b.py --config.model.path=/models/Qwen2.5-Coder-3B --workdir runs/azr_3b
    python train.py --config configs/tiny.py --config.trainer.steps=2 --workdir /tmp/tiny

Any field can be overridden as --config.SECTION.FIELD=VALUE; a run resumes from its workdir's latest checkpoint.
"""

import logging
import sys

from absl import app, flags
from ml_collections import config_flags

from azr_jax.config import ConfigError

config_flags.DEFINE_config_file("config", "configs/tiny.py", "A configs/*.py file (get_config() -> ConfigDict).")
flags.DEFINE_string("workdir", "runs/default", "Checkpoints, metrics and buffers go here; an existing run resumes.")


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from azr_jax.trainer import train

    try:
        train(flags.FLAGS.config, flags.FLAGS.workdir)
    except (ConfigError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    app.run(main)
