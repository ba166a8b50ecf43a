"""Two training steps of the tiny config with the public run's switches (configs/azr_3b_public.py against
configs/azr_3b.py) and with the paper's, through train.py: every switch of the preset works in a real step."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Machinery, not learning: the random 0.2M-parameter model, short responses.
FAST = [
    "--config.rollout.max_response_tokens=24",
    "--config.sampler.max_new_tokens_cap=24",
    "--config.checkpoint.every_steps=2",
    f"--config.model.path={REPO / 'assets' / 'tiny-random'}",
    "--config.trainer.steps=2",
]


def config_leaves(name: str) -> dict:
    spec = importlib.util.spec_from_file_location(f"config_{name}", REPO / "configs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def leaves(section, prefix=""):
        out = {}
        for key, value in section.items():
            out.update(leaves(value, f"{prefix}{key}.") if hasattr(value, "items") else {f"{prefix}{key}": value})
        return out

    return leaves(module.get_config())


def public_switches() -> dict:
    """The preset's switches but the step count and the validation (its benchmark files are not bundled; the
    tiny run's periodic eval is tested with the evaluation)."""
    paper, public = config_leaves("azr_3b"), config_leaves("azr_3b_public")
    return {
        path: public[path]
        for path in paper
        if public[path] != paper[path] and path != "trainer.steps" and not path.startswith("eval.")
    }


def preset_file(tmp_path: Path, switches: dict) -> Path:
    """configs/tiny.py with `switches` set on top."""
    path = tmp_path / "tiny_preset.py"
    path.write_text(
        "import importlib.util\n"
        f"_spec = importlib.util.spec_from_file_location('tiny', {str(REPO / 'configs' / 'tiny.py')!r})\n"
        "_tiny = importlib.util.module_from_spec(_spec)\n_spec.loader.exec_module(_tiny)\n\n\n"
        "def get_config():\n    config = _tiny.get_config()\n"
        f"    for path, value in {switches!r}.items():\n"
        "        *sections, name = path.split('.')\n        section = config\n"
        "        for s in sections:\n            section = section[s]\n        section[name] = value\n"
        "    return config\n"
    )
    return path


@pytest.mark.parametrize("preset", ["public", "paper"])
def test_two_tiny_steps_run_with_the_presets_switches(preset, tmp_path):
    switches = public_switches() if preset == "public" else {}
    if preset == "public":
        assert len(switches) >= 10 and switches["selfplay.buffer.solver_sampling"] == "public_max_new"
    workdir = tmp_path / "run"
    command = [
        sys.executable,
        str(REPO / "train.py"),
        f"--config={preset_file(tmp_path, switches)}",
        f"--workdir={workdir}",
        *FAST,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-4000:]
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert all(f"{t}/solve/reward_mean" in records[-1] for t in ("abduction", "deduction", "induction"))
    assert records[-1]["prompts/dropped_proposer"] == 0  # tiny.py keeps its prompts' ends (truncate_start)
    recorded = json.loads((workdir / "run_config.json").read_text())
    for path, value in switches.items():
        node = recorded
        for key in path.split("."):
            node = node[key]
        expected = list(value) if isinstance(value, tuple) else value
        assert node == expected, path
