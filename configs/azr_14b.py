"""Absolute Zero with Qwen2.5-Coder-14B: the 3B settings with the 14B model (48 layers, 40 query / 8 KV heads).

    python train.py --config configs/azr_14b.py --config.model.path=/path/to/Qwen2.5-Coder-14B --workdir runs/azr_14b

The public 14B script (scripts/selfplay/coder14b.sh) differs from the 3B one only in the model, the seed files
(data/14b_coder_*) and its parallelism (8 GPUs, sequence parallel 8, vLLM tensor parallel 4): the training
settings are the 3B ones, and configs/azr_3b_public.py's switches apply unchanged. About 4.8x the 3B memory for weights and AdamW state (`python -m azr_jax.models.info
qwen2.5-coder-14b`): shard over 16 or more devices (FSDP by default; tensor parallelism up to 8, the KV heads).
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("azr_3b", Path(__file__).with_name("azr_3b.py"))
_azr_3b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_azr_3b)


def get_config():
    config = _azr_3b.get_config()
    config.model.path = ""  # required: a local Hugging Face folder of Qwen/Qwen2.5-Coder-14B
    config.rollout.max_prompts_per_call = 4
    config.rl.micro_batch_size = 2
    return config
