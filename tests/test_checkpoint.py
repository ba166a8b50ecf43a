"""Checkpointer: round trip onto given shardings, keep-last-k, errors, and atomicity under SIGKILL.

Run as a script (`python test_checkpoint.py DIR MODE ASYNC`), this file is the child process the atomicity tests
kill: it saves step 1, then starts saving step 2 and blocks at a chosen point of that save.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from process_group import run_with_devices
from tiny_models import random_model, tiny_config

from azr_jax.checkpoint import (
    CheckpointConfig,
    Checkpointer,
    CheckpointMismatchError,
    CheckpointNotFoundError,
    abstract_train_state,
)
from azr_jax.config import ConfigError, from_config
from azr_jax.models import Qwen2Config, Qwen2ForCausalLM
from azr_jax.rl import TrainState

TINY = tiny_config(tied=False)


def tiny_model(config: Qwen2Config = TINY, seed: int = 0, **options) -> Qwen2ForCausalLM:
    """A random model, float32 unless `options` say otherwise."""
    return random_model(config, seed, **{"dtype": jnp.float32, "param_dtype": jnp.float32, **options})


def tiny_train_state(model: Qwen2ForCausalLM, step: int = 7) -> TrainState:
    """A TrainState as the learner makes it, with AdamW moments that are not zero (two updates applied)."""
    optimizer = optax.adamw(1e-3)

    @jax.jit  # one compilation instead of one per eager op
    def two_updates(params):
        opt_state = optimizer.init(params)
        for i in range(2):
            grads = jax.tree.map(lambda p: jnp.full_like(p, 0.01 * (i + 1)), params)
            _, opt_state = optimizer.update(grads, opt_state, params)
        return opt_state

    params = jax.device_put(nnx.state(model, nnx.Param))
    return TrainState(step=jnp.asarray(step, jnp.int32), params=params, opt_state=two_updates(params))


def host_state(step: int) -> dict:
    rng = np.random.default_rng(1234)
    rng.random(step)  # the generator has advanced, so its state is not the seed's
    return {
        "rng": rng.bit_generator.state,
        "buffers": {"deduction": [{"program": "def f(x):\n    return x", "input": repr([step])}]},
        "counters": {"trainer_step": step, "tokens": 10**12 + step},
        "config": {"checkpoint": {"every_steps": 2, "keep": 2}, "model": {"path": "/m"}},
    }


def to_numpy(tree):
    return jax.tree.map(np.asarray, tree)


def assert_trees_equal(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(e))


@pytest.fixture(scope="module")
def state() -> TrainState:
    return tiny_train_state(tiny_model())


def test_round_trip_restores_arrays_host_state_and_generator(tmp_path, state):
    expected = to_numpy(state)
    with Checkpointer(tmp_path, CheckpointConfig(every_steps=2, keep=3)) as checkpointer:
        checkpointer.save(4, state, host_state(4))
        restored, host = checkpointer.restore(None, abstract_train_state(state))
    assert_trees_equal(restored, expected)
    assert isinstance(restored, TrainState) and isinstance(restored.params, nnx.State)
    assert host == host_state(4)
    generator = np.random.default_rng()
    generator.bit_generator.state = host["rng"]
    reference = np.random.default_rng(1234)
    reference.random(4)
    np.testing.assert_array_equal(generator.random(5), reference.random(5))


def test_restore_places_arrays_on_the_learners_shardings(tmp_path):
    result = run_with_devices([__file__, "shardings", str(tmp_path)], devices=4)
    assert result == {"restored": ["fsdp=2 x tensor=2", "1 device"]}


def _check_shardings(directory: str) -> None:
    """Saves a Learner's state on a (fsdp=2, tensor=2) mesh; restores it onto that mesh and onto one device."""
    from azr_jax.models import make_mesh
    from azr_jax.rl import Learner, RLConfig, model_options

    config = RLConfig(compute_dtype="float32")
    meshes = {"sharded": make_mesh(data=1, fsdp=2, tensor=2), "single": make_mesh(devices=jax.devices()[:1])}
    learners = {}
    for name, mesh in meshes.items():
        model = tiny_model(**model_options(config, mesh))
        learners[name] = (Learner(model, config, mesh), model)
    learner, model = learners["sharded"]
    state = learner.init_state(model)
    expected = to_numpy(state)
    with Checkpointer(directory) as checkpointer:
        checkpointer.save(3, state, {"step": 3})
        for name, (learner, _) in learners.items():
            abstract = learner.abstract_state()
            restored, _ = checkpointer.restore(3, abstract)
            assert_trees_equal(restored, expected)
            for array, target in zip(jax.tree.leaves(restored), jax.tree.leaves(abstract)):
                assert array.sharding.is_equivalent_to(target.sharding, array.ndim), (name, array.sharding)
            # [embed=32, mlp=48]: split over fsdp and tensor on the mesh, whole on one device.
            kernel = restored.params["layers"][0]["mlp"]["up_kernel"].get_value()
            shard_shape = kernel.addressable_shards[0].data.shape
            assert shard_shape == ((16, 24) if name == "sharded" else (32, 48)), (name, shard_shape)
    print(json.dumps({"restored": ["fsdp=2 x tensor=2", "1 device"]}))


def test_keeps_the_last_k_and_should_save_every_n(tmp_path, state):
    config = CheckpointConfig(every_steps=3, keep=2)
    with Checkpointer(tmp_path, config) as checkpointer:
        assert checkpointer.latest_step() is None
        due = [step for step in range(1, 10) if checkpointer.should_save(step)]
        assert due == [3, 6, 9]
        for step in due:
            checkpointer.save(step, state, host_state(step))
        assert checkpointer.all_steps() == [6, 9]
        assert checkpointer.latest_step() == 9
        assert not checkpointer.should_save(9) and not checkpointer.should_save(9, last=True)
        assert checkpointer.should_save(10, last=True) and not checkpointer.should_save(10)
        with pytest.raises(ValueError, match="checkpoint 9 already exists"):
            checkpointer.save(9, state, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["6", "9"]
    # A new Checkpointer (a resumed run) sees the same steps.
    with Checkpointer(tmp_path, config) as checkpointer:
        assert checkpointer.latest_step() == 9
        _, host = checkpointer.restore(6, abstract_train_state(state))
        assert host == host_state(6)


def test_async_save_is_safe_to_donate_and_commits_on_close(tmp_path, state):
    copy = jax.tree.map(jnp.copy, state)
    expected = to_numpy(state)
    abstract = abstract_train_state(copy)
    checkpointer = Checkpointer(tmp_path, CheckpointConfig(async_save=True))
    checkpointer.save(5, copy, host_state(5))
    jax.tree.map(lambda x: x.delete(), copy)  # what donating the state to the next update does
    checkpointer.close()
    with Checkpointer(tmp_path, CheckpointConfig(async_save=True)) as checkpointer:
        restored, host = checkpointer.restore(None, abstract)
    assert_trees_equal(restored, expected)
    assert host == host_state(5)


def test_missing_checkpoints_name_the_directory_and_the_steps(tmp_path, state):
    with Checkpointer(tmp_path) as checkpointer:
        with pytest.raises(CheckpointNotFoundError, match=f"no checkpoint in {tmp_path}"):
            checkpointer.restore(None, abstract_train_state(state))
        checkpointer.save(2, state, {})
        checkpointer.save(4, state, {})
        with pytest.raises(CheckpointNotFoundError, match=rf"step 3 in {tmp_path} \(available steps: 2, 4\)"):
            checkpointer.restore(3, abstract_train_state(state))
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        Checkpointer(tmp_path / "nowhere", read_only=True)


def test_another_model_is_a_clear_mismatch(tmp_path, state):
    with Checkpointer(tmp_path) as checkpointer:
        checkpointer.save(1, state, {})
        wider = tiny_train_state(tiny_model(dataclasses.replace(TINY, hidden_size=2 * TINY.hidden_size, head_dim=None)))
        with pytest.raises(
            CheckpointMismatchError,
            match=rf"checkpoint {tmp_path}/1 does not fit the train state asked for .*"
            r"params.embed_tokens.value: shape \(98, 64\) asked for, \(98, 32\) stored",
        ):
            checkpointer.restore(1, abstract_train_state(wider))
        deeper = tiny_train_state(tiny_model(dataclasses.replace(TINY, num_hidden_layers=3)))
        with pytest.raises(CheckpointMismatchError, match=r"params.layers.2.attn.k_bias.value: not in the checkpoint"):
            checkpointer.restore(1, abstract_train_state(deeper))
        shallower = tiny_train_state(tiny_model(dataclasses.replace(TINY, num_hidden_layers=1)))
        with pytest.raises(CheckpointMismatchError, match=r"params.layers.1.attn.k_bias.value: stored, not asked for"):
            checkpointer.restore(1, abstract_train_state(shallower))
        sgd = dataclasses.replace(state, opt_state=optax.sgd(0.1, momentum=0.9).init(state.params))
        with pytest.raises(CheckpointMismatchError, match=r"optimizer.opt_state.0.trace.embed_tokens.value: not in"):
            checkpointer.restore(1, abstract_train_state(sgd))
        # The good request still restores after the refusals.
        restored, _ = checkpointer.restore(1, abstract_train_state(state))
        assert_trees_equal(restored, to_numpy(state))


def test_host_state_must_be_json(tmp_path, state):
    with Checkpointer(tmp_path) as checkpointer:
        with pytest.raises(TypeError, match="host_state for checkpoint 1 is not JSON-able"):
            checkpointer.save(1, state, {"rng": np.random.default_rng(0)})
        with pytest.raises(TypeError, match="not JSON-able"):
            checkpointer.save(1, state, {"loss": float("nan")})
        assert checkpointer.all_steps() == []


def test_config_validation():
    config = from_config(CheckpointConfig, {"every_steps": 10, "keep": None}, "checkpoint")
    assert config == CheckpointConfig(every_steps=10, keep=None)
    with pytest.raises(ConfigError, match="checkpoint.every_steps"):
        from_config(CheckpointConfig, {"every_steps": "10"}, "checkpoint")
    with pytest.raises(ConfigError, match="keep must be >= 1"):
        from_config(CheckpointConfig, {"keep": 0}, "checkpoint")


# ---- atomicity: a save killed with SIGKILL leaves the previous checkpoint as the latest ----

READY = "ready"


def _child(directory: str, mode: str, async_save: bool) -> None:
    """Saves step 1, then blocks inside the save of step 2 (writes READY first) until killed."""
    from orbax.checkpoint._src.handlers import json_checkpoint_handler
    from orbax.checkpoint._src.path import atomicity

    def block():
        (Path(directory).parent / READY).write_text(mode)
        time.sleep(600)

    if mode == "writing":
        # The host JSON is one of three items written side by side: block there, mid-way through the step.
        original_save = json_checkpoint_handler.JsonCheckpointHandler._save_fn

        async def save_fn(self, x, item_directory):
            if x["step"] == 2:
                block()
            await original_save(self, x, item_directory)

        json_checkpoint_handler.JsonCheckpointHandler._save_fn = save_fn
    else:
        # Every item is written; block just before the step folder's rename (the commit).
        original_finalize = atomicity.AtomicRenameTemporaryPath.finalize

        async def finalize(self):
            if self.get_final().name == "2":
                block()
            await original_finalize(self)

        atomicity.AtomicRenameTemporaryPath.finalize = finalize

    state = tiny_train_state(tiny_model(), step=1)
    checkpointer = Checkpointer(directory, CheckpointConfig(every_steps=1, async_save=async_save))
    checkpointer.save(1, state, {"step": 1})
    checkpointer.wait_until_finished()
    bumped = jax.tree.map(lambda x: x + 1, state)
    checkpointer.save(2, bumped, {"step": 2})
    time.sleep(600)  # async: the save goes on in the background until the kill


@pytest.mark.parametrize("mode,async_save", [("writing", False), ("commit", False), ("commit", True)])
def test_a_save_killed_mid_way_is_never_restored(tmp_path, mode, async_save):
    directory = tmp_path / "checkpoints"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    child = subprocess.Popen(
        [sys.executable, __file__, str(directory), mode, str(async_save)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "child.log", "w"),
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / READY).exists():
            assert child.poll() is None, (tmp_path / "child.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the child never reached the save of step 2"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith("2.")]
    assert leftovers and ".orbax-checkpoint-tmp" in leftovers[0]  # the kill did land inside step 2's save

    state = tiny_train_state(tiny_model(), step=1)
    with Checkpointer(directory, CheckpointConfig(every_steps=1)) as checkpointer:
        assert checkpointer.all_steps() == [1]
        restored, host = checkpointer.restore(None, abstract_train_state(state))
        assert host == {"step": 1}
        assert_trees_equal(restored, to_numpy(state))
        # Step 2 can be saved again; the half-written folder was deleted (in the background, before any save).
        checkpointer.save(2, state, {"step": 2})
        assert checkpointer.latest_step() == 2
    assert sorted(p.name for p in directory.iterdir()) == ["1", "2"]


if __name__ == "__main__":
    if sys.argv[1] == "shardings":
        _check_shardings(sys.argv[2])
    else:
        _child(sys.argv[1], sys.argv[2], sys.argv[3] == "True")
