"""Solver accuracy per task type on a fixed set of tasks, prompted, parsed and graded exactly as the trainer does.

    python -m azr_jax.tinycoder.evaluate --model assets/tinycoder [--tasks assets/tinycoder/heldout.jsonl]
    python -m azr_jax.tinycoder.evaluate --workdir runs/tiny [--step S]   # a training run's checkpoint

The tasks are answered with the trainer's `SelfPlayStep.generate` (its sampler settings and caps from --config,
greedy by default so that two models are compared without sampling noise) and graded with
`SelfPlayStep.correctness`, the trainer's own grading. Prints and optionally writes JSON: accuracy and format-error
rate per task type.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from azr_jax.console import configure_logging
from azr_jax.models import Qwen2ForCausalLM
from azr_jax.sampling import Sampler
from azr_jax.selfplay.batches import parse_solutions, solve_requests
from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.selfplay.parsing import FormatError
from azr_jax.selfplay.tasks import TaskType
from azr_jax.tinycoder.corpus import GeneratedTask, load_tasks
from azr_jax.trainer.run_config import RunConfig, load_run_config
from azr_jax.trainer.selfplay_step import TASK_TYPES, SelfPlayStep
from sandbox.executor import Executor

REPO = Path(__file__).resolve().parents[2]


def load_config_file(path: str | Path) -> RunConfig:
    """The RunConfig of a configs/*.py file."""
    spec = importlib.util.spec_from_file_location("run_config_file", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return load_run_config(module.get_config())


def evaluate_solver(
    model_folder: str | Path,
    tasks: Sequence[GeneratedTask],
    config: RunConfig,
    temperature: float = 0.0,
    samples: int = 1,
    seed: int = 0,
) -> dict[str, float]:
    """`{type}/accuracy` and `{type}/format_error_rate` over `samples` answers to each task, for the 3 types."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = Qwen2ForCausalLM.from_pretrained(model_folder, dtype=jnp.float32)
    config = dataclasses.replace(config, rollout=dataclasses.replace(config.rollout, temperature=temperature))
    sampler = Sampler(model, tokenizer, config.sampler)
    params = nnx.state(model)
    results: dict[str, float] = {}
    with Executor(config.sandbox) as executor:
        step = SelfPlayStep(config, sampler, tokenizer, executor, TaskBuffers())
        try:
            for i, t in enumerate(TASK_TYPES):
                puzzles = [task.induction if t is TaskType.INDUCTION else task.triplet for task in tasks]
                requests = solve_requests(t, puzzles, config.selfplay)
                completions = step.generate([r.prompt for r in requests], samples, jax.random.key(seed + i), params)
                repeated = [r for r in requests for _ in range(samples)]
                answers = parse_solutions(repeated, [c.text for c in completions], config.selfplay)
                correct = step.correctness(t, [r.task for r in repeated], answers)
                results[f"{t.value}/accuracy"] = float(np.mean(correct))
                results[f"{t.value}/format_error_rate"] = float(np.mean([isinstance(a, FormatError) for a in answers]))
        finally:
            step.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a Hugging Face folder")
    source.add_argument("--workdir", help="a training run (its checkpoint is exported to a temporary folder)")
    parser.add_argument("--step", type=int, default=None, help="with --workdir: the checkpoint (default: latest)")
    parser.add_argument("--tasks", default=str(REPO / "assets" / "tinycoder" / "heldout.jsonl"))
    parser.add_argument("--limit", type=int, default=None, help="the first N tasks only")
    parser.add_argument("--config", default=str(REPO / "configs" / "tiny.py"))
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the results here (JSON)")
    parser.add_argument("--verbosity", type=int, default=None, help="show libraries' messages too (0 info, 1 debug)")
    args = parser.parse_args()
    configure_logging(None, args.verbosity)
    tasks = load_tasks(args.tasks)[: args.limit]
    config = load_config_file(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        folder, step = args.model, None
        if args.workdir is not None:
            from azr_jax.export import export

            folder = Path(tmp) / "model"
            step = export(args.workdir, folder, step=args.step, dtype="float32")
        results = evaluate_solver(folder, tasks, config, args.temperature, args.samples, args.seed)
    record = {
        "model": args.model or args.workdir,
        "step": step,
        "tasks": args.tasks,
        "num_tasks": len(tasks),
        "temperature": args.temperature,
        "samples": args.samples,
        **results,
    }
    print(json.dumps(record, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
