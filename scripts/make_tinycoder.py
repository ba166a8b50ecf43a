"""Writes `assets/tinycoder/`: a Qwen2-architecture model of a few million parameters pretrained on generated
Absolute Zero transcripts, with its byte-level BPE tokenizer, as a Hugging Face folder; plus `heldout.jsonl`,
generated tasks whose programs are not in the corpus (for evaluation), and `tinycoder.json`, the run's record.

    python scripts/make_tinycoder.py [--out assets/tinycoder] [--workdir runs/tinycoder] [--seed 0]

The prompts are built with the settings of `--config` (configs/tiny.py: references per proposer prompt, induction
inputs, prompt cap, banned words), so the model is pretrained on exactly what that config's trainer shows it.
Deterministic for a given seed on a given machine. The work folder keeps the corpus, the tokenizer and
checkpoints: an interrupted run started again with the same arguments resumes where it stopped.
"""

import argparse
import json
import logging
import platform
import shutil
import sys
import time
from pathlib import Path

import jax
from transformers import AutoTokenizer

from azr_jax.console import configure_logging
from azr_jax.models import Qwen2Config
from azr_jax.models.info import parameter_count
from azr_jax.selfplay.tasks import normalize_program
from azr_jax.tinycoder.corpus import generate_tasks, load_tasks, save_tasks, transcripts
from azr_jax.tinycoder.evaluate import load_config_file
from azr_jax.tinycoder.pretrain import PretrainConfig, pretrain, tokenize
from azr_jax.tinycoder.tokenizer import train_tokenizer
from sandbox.executor import Executor

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]


def model_config(vocab_size: int, eos_id: int) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        rope_theta=10_000.0,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "assets" / "tinycoder"))
    parser.add_argument("--workdir", default=str(REPO / "runs" / "tinycoder"))
    parser.add_argument("--config", default=str(REPO / "configs" / "tiny.py"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=4000, help="generated tasks in the corpus (6 transcripts each)")
    parser.add_argument(
        "--max-per-program", type=int, default=3, help="corpus tasks sharing one program (other inputs)"
    )
    parser.add_argument("--heldout", type=int, default=300, help="held-out tasks written for evaluation")
    parser.add_argument("--vocab", type=int, default=3072)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--tokens-per-batch", type=int, default=4096)
    parser.add_argument("--learning-rate", type=float, default=1.5e-3)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (checkpointed, no asset) after this long")
    parser.add_argument("--verbosity", type=int, default=None, help="show libraries' messages too (0 info, 1 debug)")
    args = parser.parse_args()
    # Its own progress and the pretraining's loss every few steps stay on the console.
    configure_logging(Path(args.workdir) / "make_tinycoder.log", args.verbosity, ("__main__", "azr_jax.tinycoder"))
    started = time.time()
    config = load_config_file(args.config)
    prompts, max_prompt_tokens = config.selfplay.prompts, config.rollout.max_prompt_tokens
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    corpus_file, heldout_file = workdir / "tasks.jsonl", workdir / "heldout.jsonl"
    if not heldout_file.is_file():
        with Executor(config.sandbox) as executor:
            tasks = generate_tasks(args.tasks, args.seed, executor, prompts, max_per_program=args.max_per_program)
            used = frozenset(normalize_program(t.triplet.program) for t in tasks)
            heldout = generate_tasks(args.heldout, args.seed + 1_000_003, executor, prompts, exclude_programs=used)
        save_tasks(corpus_file, tasks)
        save_tasks(heldout_file, heldout)
    tasks = load_tasks(corpus_file)
    corpus = transcripts(tasks, prompts, config.sandbox.policy.banned_words(), args.seed)
    log.info("corpus: %d tasks, %d transcripts (%.0f s)", len(tasks), len(corpus), time.time() - started)

    tokenizer_dir = workdir / "tokenizer"
    if not (tokenizer_dir / "tokenizer.json").is_file():
        train_tokenizer([t.prompt for t in corpus] + [t.response for t in corpus], args.vocab).save_pretrained(
            tokenizer_dir
        )
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    examples = tokenize([t.prompt for t in corpus], [t.response for t in corpus], tokenizer, max_prompt_tokens)
    log.info(
        "tokenizer: %d tokens; examples: %d tokens in all (%.0f s)",
        len(tokenizer),
        sum(len(e.prompt_ids) + len(e.response_ids) for e in examples),
        time.time() - started,
    )

    pretrain_config = PretrainConfig(
        steps=args.steps,
        tokens_per_batch=args.tokens_per_batch,
        length_buckets=(256, 384, 448, 512, 576),
        response_buckets=(64, 128, 208),
        learning_rate=args.learning_rate,
        warmup_steps=min(100, args.steps // 10),
        seed=args.seed,
    )
    mc = model_config(len(tokenizer), tokenizer.eos_token_id)
    max_seconds = None if args.max_minutes is None else 60 * args.max_minutes
    model, records = pretrain(mc, examples, tokenizer.pad_token_id, pretrain_config, workdir, max_seconds)
    all_records = [json.loads(line) for line in (workdir / "log.jsonl").read_text().splitlines()]
    if not all_records or all_records[-1]["step"] < args.steps:
        sys.exit(f"stopped before step {args.steps}; run again with the same arguments to resume")

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    shutil.copyfile(heldout_file, out / "heldout.jsonl")
    shutil.copyfile(workdir / "log.jsonl", out / "pretrain_log.jsonl")
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seed": args.seed,
        "parameters": parameter_count(model.config),
        "model": mc.to_hf_dict(),
        "pretrain": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(pretrain_config).items()},
        "corpus_tasks": len(tasks),
        "transcripts": len(corpus),
        "heldout_tasks": sum(1 for _ in open(heldout_file)),
        "final_loss": all_records[-1]["loss"],
        "tokens_seen": int(sum(r["tokens"] for r in all_records)),
        "pretrain_seconds": all_records[-1]["seconds"],  # summed over resumed runs
        "this_invocation_seconds": round(time.time() - started, 1),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {jax.local_device_count()} JAX device(s) "
        f"({jax.devices()[0].platform})",
    }
    (out / "tinycoder.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("wrote %s: %d parameters, final loss %.4f", out, record["parameters"], record["final_loss"])


if __name__ == "__main__":
    main()
