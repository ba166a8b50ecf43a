"""The CPU default: every part of Absolute Zero at toy scale, a few steps in minutes on a 2-core machine.

The model is `assets/tinycoder/`, a 3.9M-parameter Qwen2 pretrained on generated Absolute Zero transcripts in
these very prompt formats (scripts/make_tinycoder.py, about 42 minutes on 2 cores; see docs/tiny_selfplay.md).
Some of its proposals pass the sandbox and some of those are learnable (its solver gets them right in some of the
rollouts, not all) from the first step; it solves about 7 to 10% of held-out tasks greedily.
`assets/tiny-random/` (random weights, scripts/make_tiny_random_model.py) is faster for machinery tests:
`--config.model.path=assets/tiny-random`.
"""

from pathlib import Path

from azr_jax.trainer.run_config import default_run_config

REPO = Path(__file__).resolve().parents[1]


def get_config():
    config = default_run_config()
    config.model.path = str(REPO / "assets" / "tinycoder")
    config.trainer.steps = 4
    config.trainer.text_samples = 1
    config.trainer.seeding = "off"  # the buffers start from the identity task alone (seeding would take minutes)
    config.rollout.batch_size = 4  # per (task type, role): 24 trained responses per step
    # Short prompts keep a 2-core CPU fast: 2 references per proposer prompt, 6 induction inputs (3 shown, 3 held
    # out), and prompts cut to their last 384 tokens (the end holds the references and the answer format; a
    # proposer prompt loses the start of its rules, which is why the paper configs never cut). The tiny coder is
    # pretrained on prompts built and cut with these very settings (scripts/make_tinycoder.py reads this file);
    # its proposer prompts are 600 tokens and more, so dropping them ("redraw") would leave none.
    config.selfplay.prompts.num_references = 2
    config.selfplay.prompts.induction_num_inputs = 6
    config.rollout.max_prompt_tokens = 384
    config.rollout.prompt_overflow = "truncate_start"
    config.rollout.max_response_tokens = 208  # an induction proposal (6 inputs and a message) takes up to ~200
    config.rollout.max_prompts_per_call = 12
    # Few shapes, few compilations: 12 proposals or answers per call, up to 12 x 8 rollouts.
    config.sampler.prompt_buckets = (128, 256, 384)
    config.sampler.batch_buckets = (12, 24, 48, 96)
    config.sampler.max_new_tokens_cap = 208
    config.sampler.cache_dtype = "float32"
    config.rl.compute_dtype = "float32"
    config.rl.learning_rate = 1e-4
    config.rl.remat = False
    config.rl.logprob_chunk_size = 64
    config.checkpoint.every_steps = 2
    config.checkpoint.keep = 2
    config.sandbox.workers = 2
    return config
