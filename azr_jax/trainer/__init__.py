"""The Absolute Zero training run: configuration, one self-play step, metrics, and the loop."""

from azr_jax.trainer.loop import train
from azr_jax.trainer.run_config import RunConfig, default_run_config, load_run_config

__all__ = ["RunConfig", "default_run_config", "load_run_config", "train"]
