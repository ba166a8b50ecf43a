"""One self-play step of Absolute Zero (Algorithm 1), host side: the model proposes, the sandbox validates,
the model solves, the sandbox grades, and six (task type, role) groups of rewarded responses come out.

Order and overlap (the device is the sampler, the host is the sandbox):
1. propose B tasks of each type (one sampler call) -> validate them in the sandbox -> add valid ones to buffers;
2. n solver rollouts per valid proposal (one call, n samples share each prompt's prefill);
3. while the sandbox grades those rollouts in a background thread, the solver batches are drawn and answered;
4. the solver answers are graded; proposer rewards come from the rollouts' solve rates.

With several processes each one sends the sandbox its share of every batch of jobs and all of them get every
verdict (`process_share`), so their host state stays identical; the exchange happens on the main thread, in the
same order on every process, since it is a device collective.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from azr_jax.sampling import Sampler, end_of_sequence_ids
from azr_jax.selfplay.batches import (
    fit_solver_batch,
    parse_proposals,
    parse_solutions,
    proposal_requests,
    solve_requests,
)
from azr_jax.selfplay.buffer import TaskBuffers
from azr_jax.selfplay.grading import grade
from azr_jax.selfplay.parsing import CandidateInduction, FormatError
from azr_jax.selfplay.prompts import ChatTemplate, PromptLimit, PromptTooLong
from azr_jax.selfplay.rewards import proposer_rewards, solve_rates, solver_rewards
from azr_jax.selfplay.tasks import Role, Task, TaskType
from azr_jax.trainer.process_share import gather_shares, on_shares, this_share
from azr_jax.trainer.run_config import RunConfig
from sandbox.executor import Executor

TASK_TYPES = (TaskType.ABDUCTION, TaskType.DEDUCTION, TaskType.INDUCTION)
log = logging.getLogger(__name__)


@dataclasses.dataclass
class Completion:
    prompt: str
    prompt_ids: list[int]
    token_ids: np.ndarray
    log_probs: np.ndarray
    text: str
    prompt_index: int  # the prompt's position in its generate call; the n samples of one prompt share it


@dataclasses.dataclass
class GroupResult:
    """The trainable responses of one (task type, role) group and what scoring them found."""

    task_type: TaskType
    role: Role
    completions: list[Completion]
    rewards: np.ndarray
    format_ok: np.ndarray
    # What the sandbox said of each response. Proposer: the proposal is a valid task (0/1). Solver: the answer is
    # correct (0/1, or for induction the fraction of held-out pairs, as rewards.induction_correctness says).
    passed: np.ndarray
    solve_rates: np.ndarray | None = None  # proposer: per response, NaN where invalid
    programs: list[str] = dataclasses.field(default_factory=list)  # proposer: valid programs


@dataclasses.dataclass
class StepResult:
    groups: list[GroupResult]
    seconds: dict[str, float]
    generated_tokens: int
    # Prompts over rollout.max_prompt_tokens left out, by kind: proposer drafts rebuilt on other references,
    # learnability rollouts not sampled (solve rate 0), solver-batch prompts replaced by another of the batch.
    dropped_prompts: dict[str, int] = dataclasses.field(default_factory=dict)


class SelfPlayStep:
    def __init__(
        self,
        config: RunConfig,
        sampler: Sampler,
        tokenizer: Any,
        executor: Executor,
        buffers: TaskBuffers,
        chat_template: ChatTemplate | None = None,
    ):
        self.config = config
        self.sampler = sampler
        self.tokenizer = tokenizer
        self.executor = executor
        self.buffers = buffers
        self.chat_template = chat_template
        self.banned_words = config.sandbox.policy.banned_words()
        self.eos_ids = end_of_sequence_ids(sampler.model_config, tokenizer)
        overflow = config.rollout.prompt_overflow
        self.prompt_limit = (
            None if overflow == "truncate_start" else PromptLimit(self._fits, overflow == "fewer_references")
        )
        self._background = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox")

    def close(self) -> None:
        self._background.shutdown(wait=True)

    def run(self, step: int, params, key: jax.Array, rng: np.random.Generator) -> StepResult:
        cfg = self.config
        B = cfg.rollout.batch_size
        k = cfg.rollout.samples_per_prompt  # trained responses per proposer prompt and per solver task
        seconds = {"sample": 0.0, "sandbox": 0.0, "host": 0.0}
        keys = jax.random.split(key, 3)
        clock = functools.partial(_timed, seconds)

        # 1. Propose.
        with clock("host"):
            requests = {
                t: proposal_requests(
                    t, self.buffers, B // k, rng, cfg.selfplay, self.banned_words, self.chat_template, self.prompt_limit
                )
                for t in TASK_TYPES
            }
            dropped = {"proposer": sum(r.dropped for t in TASK_TYPES for r in requests[t])}
        with clock("sample"):
            flat = self.generate([r.prompt for t in TASK_TYPES for r in requests[t]], k, keys[0], params)
        requests = {t: [r for r in requests[t] for _ in range(k)] for t in TASK_TYPES}  # one per response
        proposals = {t: flat[i * B : (i + 1) * B] for i, t in enumerate(TASK_TYPES)}
        with clock("host"):
            candidates = {
                t: parse_proposals(requests[t], [c.text for c in proposals[t]], cfg.selfplay) for t in TASK_TYPES
            }
        with clock("sandbox"):
            flat_tasks = self.validate([c for t in TASK_TYPES for c in candidates[t]])
            tasks = {t: flat_tasks[i * B : (i + 1) * B] for i, t in enumerate(TASK_TYPES)}
        with clock("host"):
            if cfg.selfplay.buffer.draws_before_adding:  # the public order: this step's tasks are not drawn
                batches = self._solver_batches(step, rng)
            for t in TASK_TYPES:
                self.buffers[t].add([task for task in tasks[t] if task is not None], step)

        # 2. n rollouts per valid proposal estimate its solve rate.
        n = cfg.selfplay.rewards.n_solver_rollouts
        valid = [(t, i, task) for t in TASK_TYPES for i, task in enumerate(tasks[t]) if task is not None]
        rollout_requests = [solve_requests(t, [task], cfg.selfplay, self.chat_template)[0] for t, _, task in valid]
        # A rollout prompt over the limit is not sampled: its task's solve rate is 0, as the public code scores it.
        fits = [self.prompt_limit is None or self.prompt_limit.fits(r.prompt) for r in rollout_requests]
        unsampled = [v for v, ok in zip(valid, fits) if not ok]
        valid = [v for v, ok in zip(valid, fits) if ok]
        rollout_requests = [r for r, ok in zip(rollout_requests, fits) if ok]
        dropped["rollout"] = len(unsampled)
        with clock("sample"):
            rollouts = self.generate([r.prompt for r in rollout_requests], n, keys[1], params) if valid else []
        # Each process grades its share of the rollouts in the background; the exchange waits for the main thread.
        rollout_rows = [(t, task, request) for (t, _, task), request in zip(valid, rollout_requests) for _ in range(n)]
        rollout_items = list(zip(rollout_rows, [c.text for c in rollouts]))
        grading = self._background.submit(self._grade_rollouts, this_share(rollout_items))

        # 3. Solver batches (newest tasks first), answered while the rollouts are graded.
        with clock("host"):
            if not cfg.selfplay.buffer.draws_before_adding:
                batches = self._solver_batches(step, rng)
            solve = {t: solve_requests(t, batches[t], cfg.selfplay, self.chat_template) for t in TASK_TYPES}
            fitted = {t: fit_solver_batch(solve[t], self.prompt_limit, rng) for t in TASK_TYPES}
            solve = {t: fitted[t][0] for t in TASK_TYPES}
            batches = {t: [r.task for r in solve[t]] for t in TASK_TYPES}
            dropped["solver"] = sum(n for _, n in fitted.values())
        with clock("sample"):
            flat = self.generate([r.prompt for t in TASK_TYPES for r in solve[t]], k, keys[2], params)
        batches = {t: [task for task in batches[t] for _ in range(k)] for t in TASK_TYPES}  # one per response
        solve = {t: [request for request in solve[t] for _ in range(k)] for t in TASK_TYPES}
        answers = {t: flat[i * B : (i + 1) * B] for i, t in enumerate(TASK_TYPES)}
        with clock("sandbox"):
            correct = np.array(gather_shares(grading.result(), len(rollout_items)), dtype=np.float64)
            rollout_correct = [correct[k * n : (k + 1) * n] for k in range(len(valid))]
            solver_groups = [self._solver_group(t, solve[t], answers[t], batches[t]) for t in TASK_TYPES]

        # 4. Proposer rewards from the solve rates.
        with clock("host"):
            rates = {t: np.full(B, np.nan) for t in TASK_TYPES}
            for (t, i, _), correct in zip(valid, rollout_correct):
                rates[t][i] = solve_rates(correct[None, :])[0]
            for t, i, _ in unsampled:
                rates[t][i] = 0.0
            proposer_groups = []
            for t in TASK_TYPES:
                format_ok = np.array([not isinstance(c, FormatError) for c in candidates[t]])
                is_valid = np.array([task is not None for task in tasks[t]])
                rewards = proposer_rewards(format_ok, is_valid, np.nan_to_num(rates[t]), cfg.selfplay.rewards)
                programs = [task.program for task in tasks[t] if task is not None]
                proposer_groups.append(
                    GroupResult(t, Role.PROPOSE, proposals[t], rewards, format_ok, is_valid, rates[t], programs)
                )
        generated = sum(len(c.token_ids) for g in proposer_groups + solver_groups for c in g.completions)
        generated += sum(len(c.token_ids) for c in rollouts)
        if any(dropped.values()):
            log.info("step %d: prompts over rollout.max_prompt_tokens left out: %s", step, dropped)
        return StepResult(proposer_groups + solver_groups, seconds, generated, dropped)

    def _solver_batches(self, step: int, rng: np.random.Generator) -> dict[TaskType, list[Task]]:
        """One solver batch per task type (tasks, one per prompt) from the buffers as they are now."""
        size = self.config.rollout.batch_size // self.config.rollout.samples_per_prompt
        return {t: self.buffers[t].sample_solver_batch(size, rng, current_step=step) for t in TASK_TYPES}

    # ---- the model ----

    def generate(
        self, prompts: Sequence[str], n: int, key: jax.Array, params, temperature: float | None = None
    ) -> list[Completion]:
        """n completions per prompt (adjacent), in chunks the device can hold; at rollout.temperature unless
        `temperature` is given (0: greedy)."""
        cfg = self.config.rollout
        ids = [self._prompt_ids(p) for p in prompts]
        completions: list[Completion] = []
        for start in range(0, len(ids), cfg.max_prompts_per_call):
            chunk = ids[start : start + cfg.max_prompts_per_call]
            out = self.sampler.generate(
                chunk,
                key=jax.random.fold_in(key, start),
                max_new_tokens=cfg.max_response_tokens,
                temperature=cfg.temperature if temperature is None else temperature,
                top_p=cfg.top_p,
                top_k=cfg.top_k,
                n=n,
                stop=cfg.stop,
                eos_ids=self.eos_ids,
                state=params,
            )
            for row in range(len(chunk) * n):
                length = out.lengths[row]
                prompt_index = start + row // n
                completions.append(
                    Completion(
                        prompts[prompt_index],
                        chunk[row // n],
                        out.token_ids[row, :length],
                        out.log_probs[row, :length],
                        out.texts[row],
                        prompt_index,
                    )
                )
        return completions

    def _prompt_ids(self, prompt: str) -> list[int]:
        ids = list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        limit = self.config.rollout.max_prompt_tokens
        if len(ids) > limit and self.prompt_limit is not None:  # the requests were fitted: this is a bug
            raise PromptTooLong(
                f"a prompt of {len(ids)} tokens reached the sampler; rollout.max_prompt_tokens is {limit}"
            )
        # rollout.prompt_overflow="truncate_start" keeps the end (configs/tiny.py: its model learnt on such prompts).
        return ids[-limit:]

    def _fits(self, prompt: str) -> bool:
        return (
            len(self.tokenizer(prompt, add_special_tokens=False)["input_ids"]) <= self.config.rollout.max_prompt_tokens
        )

    # ---- the sandbox ----

    def validate(self, candidates: Sequence) -> list[Task | None]:
        return validate_candidates(self.executor, candidates)

    def _grade_rollouts(self, items: list[tuple[tuple[TaskType, Task, Any], str]]) -> list[float]:
        """Correctness of (row, rollout text) items, row = (task type, task, request); a response off the
        think/answer format is still graded unless `rewards.rollout_format="required"` (then it counts as wrong);
        one executor call per type. Runs in the background thread: no device work, no exchange here."""
        rows = [row for row, _ in items]
        required = self.config.selfplay.rewards.rollout_format == "required"
        answers = parse_solutions(
            [request for _, _, request in rows],
            [text for _, text in items],
            self.config.selfplay,
            require_format=required,
        )
        correct = np.zeros(len(rows))
        for t in TASK_TYPES:
            index = [i for i, row in enumerate(rows) if row[0] is t]
            if index:
                correct[index] = self.correctness(t, [rows[i][1] for i in index], [answers[i] for i in index])
        return correct.tolist()

    def _solver_group(self, t: TaskType, requests, completions: list[Completion], batch: list[Task]) -> GroupResult:
        answers = parse_solutions(requests, [c.text for c in completions], self.config.selfplay)
        format_ok = np.array([not isinstance(a, FormatError) for a in answers])
        correctness = np.array(
            on_shares(lambda share: self.correctness(t, *zip(*share)).tolist(), list(zip(batch, answers))), np.float64
        )
        rewards = solver_rewards(format_ok, correctness, self.config.selfplay.rewards)
        return GroupResult(t, Role.SOLVE, completions, rewards, format_ok, correctness)

    def correctness(self, t: TaskType, tasks: Sequence[Task], answers: Sequence) -> np.ndarray:
        """Executor verdicts for well-formatted answers; 0 for format errors. This process's executor only."""
        return grade(self.executor, t, tasks, answers, self.config.selfplay.rewards)


def validate_candidates(executor: Executor, candidates: Sequence) -> list[Task | None]:
    """Each candidate as a task with its gold output(s) if the sandbox accepts it (every input of an
    induction candidate must pass), else None; format errors are None. One executor call for all, each
    process running its share. The tiny coder's corpus (azr_jax/tinycoder) validates its tasks with this too."""
    jobs, owners = [], []
    for i, c in enumerate(candidates):
        if isinstance(c, FormatError):
            continue
        for text in c.inputs if isinstance(c, CandidateInduction) else (c.input,):
            jobs.append((c.program, text))
            owners.append(i)
    verdicts = on_shares(lambda share: [(r.ok, r.output) for r in executor.validate(share)], jobs)
    results: dict[int, list] = {}
    for owner, verdict in zip(owners, verdicts):
        results.setdefault(owner, []).append(verdict)
    tasks: list[Task | None] = [None] * len(candidates)
    for i, results_i in results.items():
        if all(ok for ok, _ in results_i):
            outputs = [output for _, output in results_i]
            c = candidates[i]
            tasks[i] = c.complete(outputs) if isinstance(c, CandidateInduction) else c.complete(outputs[0])
    return tasks


@contextlib.contextmanager
def _timed(seconds: dict[str, float], phase: str):
    """Adds the wall time of the block to seconds[phase]."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] += time.perf_counter() - start
