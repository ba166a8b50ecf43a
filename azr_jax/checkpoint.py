"""Training checkpoints: the sharded train state and the host's JSON state, saved atomically by orbax.

A checkpoint of step S is the folder `<directory>/<S>/` with three items:

    params/      the TrainState's parameters (orbax arrays; export restores only this item)
    optimizer/   {"step": TrainState.step, "opt_state": ...} (orbax arrays)
    host/        the host state as JSON (numpy Generator state, buffer state_dict, counters, the run config)

Orbax writes a step into `<S>.orbax-checkpoint-tmp-*` and renames it to `<S>` only when every item is written
(on GCS, where renames are not atomic, it writes a commit_success.txt marker last instead), so a save killed at any
moment leaves no folder that `latest_step`/`restore` take for a checkpoint; the leftover temporary folder is
deleted when the next Checkpointer opens the directory.

Multi-host: every process calls `save` and `restore` (the arrays are written and read shard by shard, each by the
process holding it); the JSON host state is written by process 0 only (orbax's primary host), so it must be
process 0's, and every process reads it back.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint import checkpoint_managers

from azr_jax.rl import TrainState

PARAMS, OPTIMIZER, HOST = "params", "optimizer", "host"


@dataclasses.dataclass(frozen=True)
class CheckpointConfig:
    every_steps: int = 50  # save after every N-th trainer step (and at the end: should_save(step, last=True))
    keep: int | None = 3  # the newest k checkpoints survive; None keeps all
    # Write the arrays in a background thread after copying them to host memory: the next step starts sooner.
    # Still atomic: the step folder appears only when the background write has finished.
    async_save: bool = False

    def __post_init__(self):
        if self.every_steps < 1:
            raise ValueError(f"every_steps must be >= 1, got {self.every_steps}")
        if self.keep is not None and self.keep < 1:
            raise ValueError(f"keep must be >= 1 or None (keep all), got {self.keep}")


class CheckpointNotFoundError(FileNotFoundError):
    """The directory holds no checkpoint, or not the requested step; the message names both."""


class CheckpointMismatchError(ValueError):
    """A checkpoint's arrays do not fit the train state asked for (another model or optimizer)."""


def abstract_train_state(train_state: TrainState) -> TrainState:
    """The TrainState of jax.ShapeDtypeStructs that `restore` fills, each array on its current sharding.

    Without a concrete state at hand (resuming), use `Learner.abstract_state()`: the same, allocating nothing.
    """
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), train_state)


def as_directory(path: str | Path) -> epath.Path:
    """A local path (made absolute) or a bucket URL such as gs://bucket/run (needs gcsfs for the JSON files)."""
    return epath.Path(path) if "://" in str(path) else epath.Path(Path(path).absolute())


class Checkpointer:
    """Saves and restores (TrainState, host state) under one directory; see the module docstring for the layout."""

    def __init__(
        self, directory: str | Path, config: CheckpointConfig = CheckpointConfig(), *, read_only: bool = False
    ):
        self.directory = as_directory(directory)
        self.config = config
        if config.keep is None:
            preservation = checkpoint_managers.PreserveAll()
        else:
            preservation = checkpoint_managers.LatestN(config.keep)
        options = ocp.CheckpointManagerOptions(
            enable_async_checkpointing=config.async_save,
            preservation_policy=preservation,
            # A save killed earlier leaves `<step>.orbax-checkpoint-tmp-*`; delete it rather than let it pile up.
            cleanup_tmp_directories=not read_only,
            create=not read_only,
            read_only=read_only,
            multiprocessing_options=ocp.options.MultiprocessingOptions(primary_host=0),
        )
        if read_only and not self.directory.is_dir():
            raise CheckpointNotFoundError(f"checkpoint directory {self.directory} does not exist")
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=options,
            # Handlers up front (not inferred from the first save or restore), so item_metadata works at once.
            item_handlers={
                PARAMS: ocp.StandardCheckpointHandler(),
                OPTIMIZER: ocp.StandardCheckpointHandler(),
                HOST: ocp.JsonCheckpointHandler(),
            },
        )

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def should_save(self, step: int, *, last: bool = False) -> bool:
        """Whether `step` is due (every `every_steps`, or the run's last step) and not saved already."""
        due = last or step % self.config.every_steps == 0
        return due and step not in self._manager.all_steps()

    def save(self, step: int, train_state: TrainState, host_state: dict[str, Any]) -> None:
        """Saves `train_state` and the JSON-able `host_state` as checkpoint `step` (all processes call this).

        `host_state` comes back as JSON gives it: tuples as lists, dict keys as strings, Python ints of any size
        (a numpy Generator's 128-bit state survives). NaN and infinity are refused.
        With async_save the arrays are copied to host memory before this returns, so `train_state` may be
        donated to the next update right away; the checkpoint appears once the background write has finished.
        """
        if step in self._manager.all_steps():
            raise ValueError(f"checkpoint {step} already exists in {self.directory}")
        # A deep copy through JSON: a non-JSON value fails here, naming itself, and an async save is not
        # affected by the caller mutating its buffers afterwards.
        try:
            host_state = json.loads(json.dumps(host_state, allow_nan=False))
        except (TypeError, ValueError) as e:
            raise TypeError(f"host_state for checkpoint {step} is not JSON-able: {e}") from e
        self._manager.save(
            step,
            args=ocp.args.Composite(
                **{
                    PARAMS: ocp.args.StandardSave(train_state.params),
                    OPTIMIZER: ocp.args.StandardSave({"step": train_state.step, "opt_state": train_state.opt_state}),
                    HOST: ocp.args.JsonSave(host_state),
                }
            ),
            force=True,  # the trainer decides when (should_save); the manager's own interval policy is unused
        )

    def restore(self, step: int | None, abstract_train_state: TrainState) -> tuple[TrainState, dict[str, Any]]:
        """The TrainState of checkpoint `step` (None: the latest), each array placed straight onto the sharding
        that `abstract_train_state` gives it (`Learner.abstract_state()`, or `abstract_train_state(state)`), and
        the host state."""
        step = self._existing_step(step)
        abstract = abstract_train_state
        restored = self._restore_items(
            step,
            {
                PARAMS: ocp.args.StandardRestore(abstract.params),
                OPTIMIZER: ocp.args.StandardRestore({"step": abstract.step, "opt_state": abstract.opt_state}),
                HOST: ocp.args.JsonRestore(),
            },
        )
        optimizer = restored[OPTIMIZER]
        state = TrainState(step=optimizer["step"], params=restored[PARAMS], opt_state=optimizer["opt_state"])
        return state, restored[HOST]

    def restore_params(self, step: int | None, abstract_params: Any) -> Any:
        """Only the parameters of checkpoint `step` (None: the latest); the optimizer state is never read."""
        step = self._existing_step(step)
        return self._restore_items(step, {PARAMS: ocp.args.StandardRestore(abstract_params)})[PARAMS]

    def wait_until_finished(self) -> None:
        """Blocks until a background (async) save has been committed."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for a pending async save and releases the manager."""
        self._manager.close()

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _existing_step(self, step: int | None) -> int:
        self._manager.wait_until_finished()
        self._manager.reload()
        steps = self.all_steps()
        if not steps:
            raise CheckpointNotFoundError(f"no checkpoint in {self.directory}")
        if step is None:
            return steps[-1]
        if step not in steps:
            raise CheckpointNotFoundError(
                f"no checkpoint for step {step} in {self.directory} (available steps: {', '.join(map(str, steps))})"
            )
        return step

    def _restore_items(self, step: int, items: dict[str, Any]) -> dict[str, Any]:
        targets = {name: args.item for name, args in items.items() if isinstance(args, ocp.args.StandardRestore)}
        self._check_fits(step, targets)
        restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        return {name: restored[name] for name in items}

    def _check_fits(self, step: int, targets: dict[str, Any]) -> None:
        """Compares the requested arrays with the stored ones before reading any (orbax's own failure comes
        mid-restore, with a less direct message)."""
        metadata = self._manager.item_metadata(step)
        for item, target in targets.items():
            stored = {leaf.name: leaf for leaf in jax.tree.leaves(metadata[item])}
            wanted = {_dotted(path): leaf for path, leaf in jax.tree_util.tree_flatten_with_path(target)[0]}
            problems = [f"{item}.{name}: not in the checkpoint" for name in sorted(wanted.keys() - stored.keys())]
            problems += [f"{item}.{name}: stored, not asked for" for name in sorted(stored.keys() - wanted.keys())]
            problems += [
                f"{item}.{name}: shape {tuple(wanted[name].shape)} asked for, {tuple(stored[name].shape)} stored"
                for name in sorted(wanted.keys() & stored.keys())
                if tuple(wanted[name].shape) != tuple(stored[name].shape)
            ]
            if problems:
                shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                raise CheckpointMismatchError(
                    f"checkpoint {self.directory / str(step)} does not fit the train state asked for "
                    f"(another model config or optimizer?): {shown}"
                )


def _dotted(path: tuple[Any, ...]) -> str:
    """A jax key path as orbax names the stored array: `layers.0.attn.q_kernel.value`."""
    parts = []
    for key in path:
        for attribute in ("key", "idx", "name"):  # DictKey / FlattenedIndexKey, SequenceKey, GetAttrKey
            if hasattr(key, attribute):
                parts.append(str(getattr(key, attribute)))
                break
        else:
            parts.append(str(key))
    return ".".join(parts)
