"""Absolute Zero self-play training.

    python train.py --config configs/azr_3b.py --config.model.path=/models/Qwen2.5-Coder-3B --workdir runs/azr_3b
    python train.py --config configs/tiny.py --config.trainer.steps=2 --workdir /tmp/tiny

Any field can be overridden as --config.SECTION.FIELD=VALUE; a run resumes from its workdir's latest checkpoint.
The console shows the progress bar, one line per logged step and warnings; the INFO log (a resume, the memory
plan, the libraries' messages) goes to WORKDIR/train.log (one file per process in a multi-host run), and
--verbosity=0 shows it on the console as well.
"""

import os
import socket
import sys
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from azr_jax.config import ConfigError
from azr_jax.console import configure_logging

config_flags.DEFINE_config_file("config", "configs/tiny.py", "A configs/*.py file (get_config() -> ConfigDict).")
flags.DEFINE_string("workdir", "runs/default", "Checkpoints, metrics and buffers go here; an existing run resumes.")


def log_file(workdir: Path, distributed: bool) -> Path:
    # Processes of a multi-host run share the workdir; each keeps its own log.
    return workdir / (f"train.{socket.gethostname()}.{os.getpid()}.log" if distributed else "train.log")


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    verbosity = flags.FLAGS["verbosity"]  # absl's own flag
    # A bucket workdir is refused by train(), naming it; no local folder of that name is made for the log first.
    log = None if "://" in workdir else log_file(Path(workdir), bool(config.parallel.distributed))
    configure_logging(log, verbosity.value if verbosity.present else None)
    from azr_jax.trainer import train
    from azr_jax.trainer.guard import Divergence

    try:
        train(config, workdir)
    except (ConfigError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")
    except Divergence as e:
        sys.exit(f"stopped by the divergence guard: {e}")


if __name__ == "__main__":
    app.run(main)
