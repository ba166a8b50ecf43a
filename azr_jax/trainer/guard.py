"""The divergence guard: after every step, the signs of a run going wrong checked against the bounds of
GuardConfig, reported as guard/* metrics and console warnings, and acted on after `patience` alarmed steps in a
row (halve the learning rate, or stop with a checkpoint).

The signs, each measured on the step just taken:
    entropy            rl/entropy: the policy's mean entropy per response token during the update; a run whose
                       learning rate is too high turns to noise before its rewards show it
    format_error_rate  the share of the step's responses (six groups pooled) that broke the answer format
    logprob_gap        rl/logprob_gap_mean_abs: the sampler's log-probs against the trainer's on the same
                       tokens; a gap means the PPO ratio is no longer about the policy's change
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from azr_jax.selfplay.tasks import Role, TaskType
from azr_jax.trainer.run_config import GuardConfig


class Divergence(RuntimeError):
    """The guard stopped the run (guard.action="stop"); the message names the alarms and the checkpoint."""


def format_error_rate(metrics: Mapping[str, float]) -> float:
    """The step's format-error rate over all six groups (equal-sized groups: rollout.batch_size each)."""
    rates = [metrics.get(f"{t.value}/{r.value}/format_error_rate", math.nan) for t in TaskType for r in Role]
    rates = [v for v in rates if not math.isnan(v)]
    return sum(rates) / len(rates) if rates else math.nan


class DivergenceGuard:
    def __init__(self, config: GuardConfig, streak: int = 0):
        self.config = config
        self.streak = streak  # consecutive alarmed steps so far (checkpointed with the host state)

    def check(self, metrics: Mapping[str, float]) -> tuple[dict[str, float], list[str]]:
        """(guard metrics, alarm messages) for one step's metrics; advances the streak of alarmed steps."""
        observed = {
            "entropy": (metrics.get("rl/entropy", math.nan), self.config.max_entropy),
            "format_error_rate": (format_error_rate(metrics), self.config.max_format_error_rate),
            "logprob_gap": (metrics.get("rl/logprob_gap_mean_abs", math.nan), self.config.max_logprob_gap),
        }
        out: dict[str, float] = {}
        alarms = []
        for name, (value, bound) in observed.items():
            alarmed = bound is not None and not math.isnan(value) and value > bound
            out[f"guard/{name}_alarm"] = float(alarmed)
            if alarmed:
                alarms.append(f"{name} {value:.4g} > {bound:g}")
        self.streak = self.streak + 1 if alarms else 0
        out["guard/alarms"] = float(len(alarms))
        out["guard/streak"] = float(self.streak)
        return out, alarms

    def should_act(self) -> bool:
        """Whether the configured action is due now (after `patience` alarmed steps in a row); the streak then
        starts again, so a halved learning rate gets `patience` steps to take effect."""
        if self.config.action == "warn" or self.streak < self.config.patience:
            return False
        self.streak = 0
        return True
