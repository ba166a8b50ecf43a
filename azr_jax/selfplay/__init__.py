"""The Absolute Zero self-play core: tasks, prompts, parsing, buffers, seeding, rewards and advantages.

Pure Python + numpy (no JAX, no sandbox calls): the trainer runs the model and the executor and hands
their outputs to these functions. `batches` shows the order of one training step.
"""

from azr_jax.selfplay.advantages import AdvantageConfig, compute_advantages
from azr_jax.selfplay.batches import (
    ProposalRequest,
    SolveRequest,
    parse_proposals,
    parse_solutions,
    proposal_requests,
    solve_requests,
)
from azr_jax.selfplay.buffer import BufferConfig, BufferError, TaskBuffer, TaskBuffers, load_seed_file
from azr_jax.selfplay.config import SelfPlayConfig
from azr_jax.selfplay.parsing import (
    CandidateInduction,
    CandidateTriplet,
    FormatError,
    SolverAnswer,
    parse_proposal,
    parse_solution,
    split_response,
)
from azr_jax.selfplay.prompts import PromptConfig, proposer_prompt, render, solver_prompt
from azr_jax.selfplay.rewards import (
    RewardConfig,
    induction_correctness,
    learnability_reward,
    proposer_rewards,
    solve_rates,
    solver_rewards,
)
from azr_jax.selfplay.seeding import SeedingConfig, SeedingError, SeedingReport, load_seed_files, seed_buffers
from azr_jax.selfplay.tasks import GROUPS, InductionTask, Role, TaskType, Triplet, identity_seed

__all__ = [
    "AdvantageConfig",
    "BufferConfig",
    "BufferError",
    "CandidateInduction",
    "CandidateTriplet",
    "FormatError",
    "GROUPS",
    "InductionTask",
    "PromptConfig",
    "ProposalRequest",
    "RewardConfig",
    "Role",
    "SeedingConfig",
    "SeedingError",
    "SeedingReport",
    "SelfPlayConfig",
    "SolveRequest",
    "SolverAnswer",
    "TaskBuffer",
    "TaskBuffers",
    "TaskType",
    "Triplet",
    "compute_advantages",
    "identity_seed",
    "induction_correctness",
    "learnability_reward",
    "load_seed_file",
    "load_seed_files",
    "parse_proposal",
    "parse_proposals",
    "parse_solution",
    "parse_solutions",
    "proposal_requests",
    "proposer_prompt",
    "proposer_rewards",
    "render",
    "seed_buffers",
    "solve_rates",
    "solve_requests",
    "solver_prompt",
    "solver_rewards",
    "split_response",
]
