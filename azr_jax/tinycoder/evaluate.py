"""The solver's accuracy per task type on a fixed task file, as a training run's held-out evaluation measures it.

    python -m azr_jax.tinycoder.evaluate --model assets/tinycoder [--tasks assets/tinycoder/heldout.jsonl]
    python -m azr_jax.tinycoder.evaluate --workdir runs/tiny [--step S]   # a training run's checkpoint

The same code as `heldout.every_steps` in a run (`azr_jax.trainer.heldout`): the trainer's prompts, sampler
settings (from --config), parsing and grading; --samples answers per task at the training temperature (sampled
pass@1) and one greedy answer; with the same --seed as the run's heldout.seed it draws the same random numbers,
so the pretrained model measured here is a run's step 0. Prints the metrics; --out also writes them with every
task's counts (JSON).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
from pathlib import Path

import jax.numpy as jnp
from flax import nnx

from azr_jax.console import configure_logging
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.sampling import Sampler
from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.trainer.heldout import HeldoutEval
from azr_jax.trainer.run_config import HeldoutConfig, RunConfig, load_run_config
from azr_jax.trainer.selfplay_step import SelfPlayStep
from sandbox.executor import Executor

REPO = Path(__file__).resolve().parents[2]


def load_config_file(path: str | Path) -> RunConfig:
    """The RunConfig of a configs/*.py file."""
    spec = importlib.util.spec_from_file_location("run_config_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return load_run_config(module.get_config())


def evaluate_model(model_folder: str | Path, config: RunConfig, heldout: HeldoutConfig, step: int = 0):
    """(metrics, record) of the model in `model_folder` on heldout.path, as `HeldoutEval.evaluate` gives them."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = Qwen2ForCausalLM.from_pretrained(model_folder, dtype=jnp.float32)
    sampler = Sampler(model, tokenizer, config.sampler)
    with Executor(config.sandbox) as executor:
        selfplay = SelfPlayStep(config, sampler, tokenizer, executor, TaskBuffers())
        try:
            return HeldoutEval(heldout, selfplay, None).evaluate(step, nnx.state(model))
        finally:
            selfplay.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a Hugging Face folder")
    source.add_argument("--workdir", help="a training run (its checkpoint is exported to a temporary folder)")
    parser.add_argument("--step", type=int, default=None, help="with --workdir: the checkpoint (default: latest)")
    parser.add_argument("--tasks", default=str(REPO / "assets" / "tinycoder" / "heldout.jsonl"))
    parser.add_argument("--limit", type=int, default=None, help="the first N tasks only")
    parser.add_argument("--config", default=str(REPO / "configs" / "tiny.py"))
    parser.add_argument("--samples", type=int, default=4, help="sampled answers per task and type (0: none)")
    parser.add_argument("--no-greedy", action="store_true", help="no greedy answers")
    parser.add_argument("--seed", type=int, default=0, help="of the sampled answers (a run's heldout.seed)")
    parser.add_argument("--out", default=None, help="also write the metrics and every task's counts here (JSON)")
    parser.add_argument("--verbosity", type=int, default=None, help="show libraries' messages too (0 info, 1 debug)")
    args = parser.parse_args()
    configure_logging(None, args.verbosity)
    config = load_config_file(args.config)
    heldout = HeldoutConfig(
        path=args.tasks, samples=args.samples, greedy=not args.no_greedy, limit=args.limit, seed=args.seed
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder, step = args.model, 0
        if args.workdir is not None:
            from azr_jax.export import export

            folder = Path(tmp) / "model"
            step = export(args.workdir, folder, step=args.step, dtype="float32")
        metrics, record = evaluate_model(folder, config, heldout, step)
    record = {"model": args.model or args.workdir, **record}
    print(json.dumps(metrics, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
