"""Absolute Zero with Qwen2.5-Coder-7B: the 3B settings with the 7B model (untied embeddings, 4 KV heads).

    python train.py --config configs/azr_7b.py --config.model.path=/path/to/Qwen2.5-Coder-7B --workdir runs/azr_7b

The public 7B script (scripts/selfplay/coder7b.sh) differs from the 3B one only in the model, the seed files
(data/7b_coder_*) and its parallelism (4 GPUs, sequence parallel 4): the training settings are the 3B ones, and
configs/azr_3b_public.py's switches apply unchanged.

Needs about 4x the 3B memory for weights and AdamW state (see `python -m azr_jax.models.info qwen2.5-coder-7b`):
shard over 8 or more devices (FSDP by default; tensor parallelism up to 4 with --config.parallel.tensor).
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("azr_3b", Path(__file__).with_name("azr_3b.py"))
_azr_3b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_azr_3b)


def get_config():
    config = _azr_3b.get_config()
    config.model.path = ""  # required: a local Hugging Face folder of Qwen/Qwen2.5-Coder-7B
    config.rollout.max_prompts_per_call = 8
    config.rl.micro_batch_size = 4
    return config
