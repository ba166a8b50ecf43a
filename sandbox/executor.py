"""The executor the trainer holds: batch methods for the Absolute Zero task types over a warm jailed pool.

    with Executor(SandboxConfig()) as executor:
        gold = executor.validate([(program, input_text), ...])          # proposals: policy, determinism, output
        outs = executor.run([(program, input_text), ...])               # one execution each (induction inputs)
        tests = executor.run_scripts([source, ...], timeout_s=10.0)     # whole benchmark test scripts, no policy
        ded = executor.check_deduction([(program, gold_output, predicted_output), ...])
        abd = executor.check_abduction([(program, model_input, gold_output), ...])
        ind = executor.check_induction([(model_program, inputs, outputs), ...])

Every method takes a whole batch, keeps every worker busy, and returns one result per item in input order.
Model output is only ever evaluated inside the jail; the host reads plain data with sandbox.values.parse at most.
Every verdict compares plain data in trusted code (the host or a worker), never in the answer's process.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from sandbox import values
from sandbox.config import SandboxConfig
from sandbox.determinism import shows_address
from sandbox.jail import make_backend
from sandbox.pool import WorkerPool
from sandbox.results import CheckResult, ExecResult, InductionResult, Status

log = logging.getLogger(__name__)

# Failures that say "this run could not finish" rather than "the program behaves differently each time".
_RESOURCE_STATUSES = (Status.TIMEOUT, Status.MEMORY, Status.OUTPUT_TOO_LARGE, Status.SANDBOX_ERROR)


class Executor:
    """A pool of warm sandboxed workers; use as a context manager (or call close())."""

    def __init__(self, config: SandboxConfig | None = None):
        self.config = (config or SandboxConfig()).validated()
        backend, fallback_reason = make_backend(self.config)
        try:
            self._pool = WorkerPool(self.config, backend)
        except BaseException:
            backend.close()
            raise
        self.backend: str = backend.name
        # nsjail's come from its flags (it refuses to start when one cannot be applied); the process
        # backend's are what each worker reports it applied to itself.
        self.protections: tuple[str, ...] = backend.protections() or self._pool.applied_protections
        if self.config.backend == "auto":
            level = logging.WARNING if fallback_reason else logging.INFO
            why = f" ({fallback_reason})" if fallback_reason else ""
            log.log(level, "sandbox backend: %s%s; active: %s", self.backend, why, "; ".join(self.protections))

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._pool.close()

    @property
    def worker_restarts(self) -> int:
        return self._pool.restarts

    def run(self, items: Sequence[tuple[str, str]]) -> list[ExecResult]:
        """One execution of each (program, input): repr(f(input)) or a failure status."""
        jobs = [{"kind": "run", "program": program, "input": text} for program, text in items]
        return [self._stored(_exec_result(r)) for r in self._pool.run(jobs, [None] * len(jobs))]

    def run_inputs(self, program: str, inputs: Sequence[str]) -> list[ExecResult]:
        """One program on many inputs (e.g. the inputs an induction proposer wrote)."""
        return self.run([(program, text) for text in inputs])

    def run_scripts(self, sources: Sequence[str], timeout_s: float | Sequence[float] | None = None) -> list[ExecResult]:
        """Runs each whole script (a benchmark's program and tests) as `__main__` in a fresh jailed child.

        Not an Absolute Zero task: the proposal policy does not apply (the jail does). `ok` when the script
        ran to its end; a failed assertion is `runtime_error` with error_type AssertionError; exceeding its
        wall clock is `timeout`. `timeout_s`: one for all, one per script, or None for the config's.
        See sandbox/scripts.py.
        """
        limits = list(timeout_s) if isinstance(timeout_s, Sequence) else [timeout_s] * len(sources)
        if len(limits) != len(sources):
            raise ValueError(f"run_scripts: {len(sources)} scripts but {len(limits)} timeouts")
        if any(limit is not None and not limit > 0 for limit in limits):
            raise ValueError(f"run_scripts: every timeout must be > 0, got {timeout_s}")
        jobs = [{"kind": "script", "source": source, "timeout_s": limit} for source, limit in zip(sources, limits)]
        return [_exec_result(r) for r in self._pool.run(jobs, [None] * len(jobs))]

    def validate(self, proposals: Sequence[tuple[str, str]]) -> list[ExecResult]:
        """Validates proposals (program, input) and computes their gold output.

        A proposal is ok when it passes the policy, runs, and is deterministic: two runs, each in a fresh
        process, one in each worker group (different PYTHONHASHSEED, address-space layout and clock),
        must give the same repr. With `determinism="screened"` the second run happens only when the
        program could vary between processes (sandbox/determinism.py); see docs/sandbox.md.
        """
        jobs = [{"kind": "run", "program": program, "input": text} for program, text in proposals]
        n = len(jobs)
        if self.config.determinism == "always":
            records = self._pool.run(jobs + jobs, [0] * n + [1] * n)
            return [
                self._stored(_deterministic(_exec_result(a), _exec_result(b))) for a, b in zip(records[:n], records[n:])
            ]
        second_of: dict[int, int] = {}

        def second_run(index: int, record: dict):
            if index < n and record["status"] == Status.OK.value and record.get("second_run"):
                second_of[index] = n + len(second_of)
                return jobs[index], 1 - record["group"]
            return None

        records = self._pool.run(jobs, [None] * n, follow_up=second_run)
        results = []
        for i in range(n):
            first = _exec_result(records[i])
            if i in second_of:
                results.append(_deterministic(first, _exec_result(records[second_of[i]])))
            elif first.ok and shows_address(first.output):
                error = f"the repr holds an address: {_clip(first.output)}"
                results.append(ExecResult(Status.NONDETERMINISTIC, error=error, seconds=first.seconds))
            else:
                results.append(first)
        return [self._stored(r) for r in results]

    def _stored(self, result: ExecResult) -> ExecResult:
        """The output as it is kept: cut around "..." past `truncate_outputs` characters (the public executor)."""
        limit = self.config.truncate_outputs
        if not (limit and result.ok and len(result.output) > limit):
            return result
        half = limit // 2
        return dataclasses.replace(result, output=result.output[:half] + "..." + result.output[-half:])

    def check_deduction(self, answers: Sequence[tuple[str, str, str]]) -> list[CheckResult]:
        """(program, gold_output, predicted_output): does the predicted output equal the gold one by value?

        Identical texts match. Otherwise both texts are read as plain data here (sandbox.values.parse: no code
        runs) and compared with values_equal; a prediction that is not plain data is `bad_input`. With
        `answer_values="expressions"` the prediction is evaluated in the jail instead, in the program's
        namespace, and the value it gives is compared as plain data.
        """
        results: list[CheckResult | None] = [None] * len(answers)
        jobs, where = [], []
        for i, (program, gold, predicted) in enumerate(answers):
            if len(predicted) > 4 * self.config.output_cap + 1000:
                results[i] = CheckResult(Status.OUTPUT_TOO_LARGE, False, error="predicted output is too long")
            elif predicted.strip() == gold.strip():
                # Also covers gold outputs that are not plain data (a class with its own repr).
                results[i] = CheckResult(Status.OK, True, output=predicted)
            elif self.config.answer_values == "expressions":
                jobs.append({"kind": "compare", "program": program, "predicted": predicted, "expected": gold})
                where.append(i)
            else:
                results[i] = self._compare_texts(gold, predicted)
        for i, record in zip(where, self._pool.run(jobs, [None] * len(jobs))):
            results[i] = _check_result(record)
        return results  # type: ignore[return-value]

    def _compare_texts(self, gold: str, predicted: str) -> CheckResult:
        gold_value, value = values.parse(gold), values.parse(predicted)
        if gold_value is values.NOT_DATA:
            return CheckResult(Status.OK, False, output=predicted, error="the gold output is not plain data")
        if value is values.NOT_DATA:
            return CheckResult(Status.BAD_INPUT, False, error="the predicted output is not plain data")
        return CheckResult(
            Status.OK, values.values_equal(value, gold_value, self.config.float_rel_tol), output=predicted
        )

    def check_abduction(self, answers: Sequence[tuple[str, str, str]]) -> list[CheckResult]:
        """(program, model_input, gold_output): does f(model_input) equal the gold output? Any input counts.

        The input is read as plain data (`answer_values="data"`) or evaluated in the jail ("expressions");
        the child reports f's value as plain data and the worker compares it with the gold value.
        """
        as_data = self.config.answer_values == "data"
        jobs = [
            {"kind": "match", "program": p, "input": i, "expected": o, "input_is_data": as_data} for p, i, o in answers
        ]
        return [_check_result(r) for r in self._pool.run(jobs, [None] * len(jobs))]

    def check_induction(
        self, answers: Sequence[tuple[str, Sequence[str], Sequence[str]]], allow_helpers: bool | None = None
    ) -> list[InductionResult]:
        """(model_program, held_out_inputs, held_out_outputs): must reproduce every output; also the fraction.

        The inputs are the proposer's (validated expressions); each output the program gives is compared as
        plain data with the gold one. `allow_helpers` overrides the config's rule for these programs.
        """
        override = {} if allow_helpers is None else {"allow_helpers": allow_helpers}
        jobs, spans = [], []
        for program, inputs, outputs in answers:
            if len(inputs) != len(outputs):
                raise ValueError(f"check_induction: {len(inputs)} inputs but {len(outputs)} outputs")
            spans.append((len(jobs), len(jobs) + len(inputs)))
            jobs += [
                {"kind": "match", "program": program, "input": i, "expected": o, **override}
                for i, o in zip(inputs, outputs)
            ]
        checks = [_check_result(r) for r in self._pool.run(jobs, [None] * len(jobs))]
        results = []
        for start, end in spans:
            cases = tuple(checks[start:end])
            correct = sum(c.correct for c in cases)
            results.append(InductionResult(bool(cases) and correct == len(cases), correct / max(1, len(cases)), cases))
        return results


def _exec_result(record: dict) -> ExecResult:
    return ExecResult(
        status=Status(record["status"]),
        output=record.get("output"),
        error_type=record.get("error_type"),
        error=record.get("error"),
        seconds=record.get("seconds", 0.0),
    )


def _check_result(record: dict) -> CheckResult:
    status = Status(record["status"])
    return CheckResult(
        status=status,
        correct=status is Status.OK and record.get("match") is True,
        output=record.get("output"),
        error_type=record.get("error_type"),
        error=record.get("error"),
        seconds=record.get("seconds", 0.0),
    )


def _deterministic(first: ExecResult, second: ExecResult) -> ExecResult:
    """One validation result from two runs under different hash seeds."""
    seconds = first.seconds + second.seconds
    if first.ok and second.ok:
        if first.output == second.output:
            return ExecResult(Status.OK, first.output, seconds=seconds)
        error = f"run 1 gave {_clip(first.output)}, run 2 gave {_clip(second.output)}"
        return ExecResult(Status.NONDETERMINISTIC, error=error, seconds=seconds)
    failed = second if first.ok else first
    for status in _RESOURCE_STATUSES:
        if status in (first.status, second.status):
            failed = first if first.status is status else second
            return ExecResult(failed.status, None, failed.error_type, failed.error, seconds)
    if first.status is second.status:
        return ExecResult(first.status, None, first.error_type, first.error, seconds)
    return ExecResult(
        Status.NONDETERMINISTIC,
        error_type=failed.error_type,
        error=f"run 1 ended {first.status.value}, run 2 ended {second.status.value}: {failed.error}",
        seconds=seconds,
    )


def _clip(text: str | None, limit: int = 200) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + "..."
