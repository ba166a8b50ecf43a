"""Absolute Zero with Qwen2.5-Coder-3B as the public code runs it (LeapLabTHU/Absolute-Zero-Reasoner, branch
`paper`, scripts/selfplay/coder3b.sh with absolute_zero_reasoner/configs/azr_ppo_trainer.yaml): the paper's
settings (configs/azr_3b.py) with every switch where the public run differs.

    python train.py --config configs/azr_3b_public.py --config.model.path=/path/to/Qwen2.5-Coder-3B \\
        --config.trainer.seed_triplets_path=.../3b_coder_seed_io.jsonl \\
        --config.trainer.seed_induction_path=.../3b_coder_code_f_seed_io.jsonl --workdir runs/azr_3b_public

tests/test_config.py lists each difference from configs/azr_3b.py and fails when a new switch appears without a
decision here; docs/deviations.md says what each one does.
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("azr_3b", Path(__file__).with_name("azr_3b.py"))
_azr_3b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_azr_3b)


def get_config():
    config = _azr_3b.get_config()
    # total_training_steps = 32 batches of the 2,079-row validation parquet x total_epochs 30 = 960; the loop
    # runs global steps 1 to 959 (`while self.global_steps < self.total_training_steps`).
    config.trainer.steps = 959
    config.rollout.stop = ()  # vLLM samples to EOS or the length cap: no stop strings
    # Rewards (rewards/reward_managers.py): an unlearnable valid proposal scores like a wrong answer.
    config.selfplay.rewards.unlearnable_proposal = "wrong"
    # veRL's reinforce_plus_plus whitening per (task, role) batch: token-weighted, rsqrt(var + 1e-8).
    config.selfplay.advantages.weighting = "token"
    config.selfplay.advantages.epsilon = 1e-8
    # Buffers (trainer/ppo/azr_ray_trainer.py, DatasetManager): duplicates kept, 16384 kept per buffer, the
    # `max_new` solver batch drawn before the step's proposals with past_epoch_window = update_iteration = 1.
    config.selfplay.buffer.dedup = "off"
    config.selfplay.buffer.max_tasks = 16384
    config.selfplay.buffer.solver_sampling = "public_max_new"
    config.selfplay.buffer.new_task_window = 1
    config.selfplay.seeding.dedup = "exact"
    # Proposals (rewards/code_reward.py, parse_code_input_output): reject_multiple_functions=True counts every
    # `def`, nested ones included.
    config.selfplay.prompts.reject_multiple_defs = True
    # Executor (utils/code_utils/python_executor.py): answers evaluated as expressions, every proposal run twice.
    config.sandbox.answer_values = "expressions"
    config.sandbox.determinism = "always"
    # ... and every stored output cut to its first and last 200 characters (PythonExecutor.truncate).
    config.sandbox.truncate_outputs = 400
    # Validation every 10 steps (`test_freq=10`) on CRUXEval-I/O and LiveCodeBench execution as input prediction
    # (the public `data/code_reason/test_answer.parquet`): pass the files' folder with --config.eval.data_dir.
    config.eval.every_steps = 10
    config.eval.benchmarks = ("cruxeval_i", "cruxeval_o", "lcb_execution_i")
    return config
