"""The RL update's settings in one frozen object: objective, optimizer, batch hierarchy and memory knobs."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True)
class RLConfig:
    # ---- optimizer: optax AdamW on float32 master weights, the paper's settings ----
    learning_rate: float = 1e-6
    warmup_steps: int = 0  # optimizer updates of linear warmup from 0 to learning_rate, then constant
    adam_b1: float = 0.9
    adam_b2: float = 0.999
    adam_eps: float = 1e-8
    weight_decay: float = 0.01  # decoupled, on every parameter (as torch AdamW without parameter groups)
    max_grad_norm: float | None = 1.0  # global-norm clipping before AdamW; None switches it off

    # ---- objective: PPO clipped surrogate on (TRR++) advantages ----
    clip_eps: float = 0.2  # ratio clipped to [1 - clip_eps, 1 + clip_eps_high]
    clip_eps_high: float | None = None  # None: symmetric (clip_eps); e.g. 0.28 for DAPO's clip-higher
    # Dual clip (Ye et al. 2020): for negative advantages the loss is capped at -A * dual_clip, so a token whose
    # ratio has exploded cannot dominate the update. None: off (the paper). veRL's usual value is 3.0.
    dual_clip: float | None = None
    # |log ratio| is clamped before exp so a stale or mismatched log-prob cannot overflow; None: no clamp.
    log_ratio_clamp: float | None = 20.0
    # "token_mean": every response token of the mini-batch weighs the same; "sequence_mean": each response's
    # token mean, averaged over responses.
    loss_aggregation: Literal["token_mean", "sequence_mean"] = "token_mean"
    entropy_coeff: float = 0.001  # the loss subtracts entropy_coeff * entropy
    # KL to a frozen reference policy (the batch's ref_logprobs); 0 switches it off (the paper).
    kl_coeff: float = 0.0
    # "k3": exp(ref - logp) - (ref - logp) - 1, Schulman's low-variance non-negative estimator (veRL's
    # "low_var_kl"); "k1": logp - ref.
    kl_estimator: Literal["k1", "k3"] = "k3"
    # Where old log-probs come from: "recompute" with the trainer's parameters before the update (exact PPO
    # ratio 1 at the first micro-batch), or the "sampler"'s (saves a forward pass; sampler numerics leak in).
    old_logprobs: Literal["recompute", "sampler"] = "recompute"

    # ---- batch hierarchy: global batch > mini-batches (one optimizer update each) > micro-batches (memory) ----
    num_mini_batches: int = 1  # optimizer updates per epoch; 1 = one update per step (the paper)
    num_epochs: int = 1  # passes over the global batch per step
    micro_batch_size: int | None = None  # sequences per forward/backward pass; None: the whole mini-batch
    shuffle: bool = True  # new random mini-batch assignment each epoch (matters only with num_mini_batches > 1)
    seed: int = 0  # of the shuffles

    # ---- memory and numerics ----
    logprob_chunk_size: int = 256  # sequence positions whose logits exist at once (per micro-batch)
    remat: bool = True  # recompute each decoder layer's activations in the backward pass
    compute_dtype: Literal["bfloat16", "float32"] = "bfloat16"  # activations; parameters stay float32

    def __post_init__(self):
        positive = {
            "learning_rate": self.learning_rate,
            "clip_eps": self.clip_eps,
            "adam_eps": self.adam_eps,
            "num_mini_batches": self.num_mini_batches,
            "num_epochs": self.num_epochs,
            "logprob_chunk_size": self.logprob_chunk_size,
        }
        optional_positive = {
            "clip_eps_high": self.clip_eps_high,
            "max_grad_norm": self.max_grad_norm,
            "log_ratio_clamp": self.log_ratio_clamp,
            "micro_batch_size": self.micro_batch_size,
        }
        for name, value in {**positive, **{k: v for k, v in optional_positive.items() if v is not None}}.items():
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        non_negative = {
            "warmup_steps": self.warmup_steps,
            "weight_decay": self.weight_decay,
            "entropy_coeff": self.entropy_coeff,
            "kl_coeff": self.kl_coeff,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        if self.clip_eps >= 1:
            raise ValueError(f"clip_eps must be < 1 (the ratio's lower bound is 1 - clip_eps), got {self.clip_eps}")
        for name in ("adam_b1", "adam_b2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.dual_clip is not None and self.dual_clip <= 1:
            raise ValueError(f"dual_clip must be > 1 (a cap on -A * ratio for A < 0), got {self.dual_clip}")

    @property
    def clip_high(self) -> float:
        return self.clip_eps if self.clip_eps_high is None else self.clip_eps_high
