"""The compiled, sharded RL update: chunked log-probs -> PPO objective -> accumulated gradients -> AdamW.

`Learner` holds one model graph, the RL config and the mesh, and compiles two functions over them:
`update(state, batch)` (all epochs, mini-batches and micro-batches of one step in a single jit, train state
donated) and `logprobs(params, ids, mask)` (old log-probs with the current parameters, micro-batched).
Parameters and optimizer state are sharded by the model's logical-axis rules; batches over (data, fsdp).

    learner = Learner(model, config, mesh)      # model built with **model_options(config, mesh)
    state = learner.init_state(model)           # the model's arrays move into the state
    old, gap = learner.old_logprobs(state, ids, mask, loss_mask, sampler_logprobs)
    state, metrics = learner.update(state, RLBatch.from_numpy(ids, mask, loss_mask, advantages, old))
    sampler_model = learner.policy(state)       # the same arrays, no copy; re-take after every update

With rl.kl_coeff > 0 the batch also needs the reference policy's log-probs: `reference = learner.reference(model)`
once, before `init_state`, then `ref_logprobs=learner.logprobs(reference, ids, mask)` every step.

Arrays may be host (numpy) arrays holding the whole batch, or global jax.Arrays. In a multi-host run each
process holds only its `parallel.process_rows`: it validates them with `RLBatch.from_numpy` (the sampler's
log-probs as old_logprobs), joins the shares with `batch = shard_batch(local, mesh, global_size)`, and passes
that global batch on: `old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask,
batch.old_logprobs)`, then `update(state, dataclasses.replace(batch, old_logprobs=old))`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding

from azr_jax.models import Qwen2ForCausalLM
from azr_jax.models.sharding import (
    batch_sharding,
    batch_shards,
    logical_sharding,
    logical_to_physical,
    replicated,
    state_shardings,
)
from azr_jax.rl import losses
from azr_jax.rl.batch import BatchLayout, RLBatch, batch_layout, from_micro_batches, to_micro_batches
from azr_jax.rl.config import RLConfig
from azr_jax.rl.logprobs import token_logprobs
from azr_jax.rl.optimizer import learning_rate_schedule, make_optimizer
from azr_jax.rl.parallel import shard_batch

_COMPUTE_DTYPES = {"bfloat16": jnp.bfloat16, "float32": jnp.float32}


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class TrainState:
    step: jax.Array  # optimizer updates applied so far (drives the learning-rate schedule)
    params: nnx.State
    opt_state: optax.OptState


def model_options(config: RLConfig, mesh: Mesh | None = None) -> dict[str, Any]:
    """Keyword arguments for Qwen2ForCausalLM(...) / .from_pretrained(...) that this config trains."""
    dtype = _COMPUTE_DTYPES[config.compute_dtype]
    return {"dtype": dtype, "param_dtype": jnp.float32, "remat": config.remat, "mesh": mesh}


class Learner:
    def __init__(self, model: Qwen2ForCausalLM, config: RLConfig, mesh: Mesh):
        _check_model(model, config, mesh)
        self.config = config
        self.mesh = mesh
        self.graphdef, params = nnx.split(model)
        self._abstract_params = jax.eval_shape(lambda: params)
        self.optimizer = make_optimizer(config)
        self._schedule = learning_rate_schedule(config)
        self.param_shardings = state_shardings(params, mesh)
        abstract_opt_state = jax.eval_shape(self.optimizer.init, params)
        self.state_shardings = TrainState(
            step=replicated(mesh), params=self.param_shardings, opt_state=_opt_state_shardings(abstract_opt_state, mesh)
        )
        self.batch_shards = batch_shards(mesh)
        self._init = jax.jit(
            lambda params: TrainState(jnp.zeros((), jnp.int32), params, self.optimizer.init(params)),
            in_shardings=(self.param_shardings,),
            out_shardings=self.state_shardings,
            donate_argnums=0,
        )
        self._updates: dict[BatchLayout, Any] = {}
        self._logprob_fns: dict[BatchLayout, Any] = {}
        self._gradient_fns: dict[BatchLayout, Any] = {}

    # ---- state ----

    def init_state(self, model: Qwen2ForCausalLM) -> TrainState:
        """Step 0 with fresh AdamW moments; the model's parameter arrays are donated to the state."""
        return self._init(jax.device_put(nnx.state(model), self.param_shardings))

    def reference(self, model: Qwen2ForCausalLM) -> nnx.State:
        """The KL penalty's frozen reference policy: a copy of the model's parameters in rl.compute_dtype, sharded
        like the policy's. Every layer casts its weights to the compute dtype before use, so log-probs under this
        copy equal those of the float32 weights it came from, at compute_dtype / 4 bytes per parameter of the
        master weights (half for bfloat16). Take it before `init_state`, which donates the model's arrays; pass it
        to `logprobs` for RLBatch.ref_logprobs."""
        dtype = _COMPUTE_DTYPES[self.config.compute_dtype]
        copy = jax.jit(
            lambda params: jax.tree.map(lambda x: x.astype(dtype), params),
            in_shardings=(self.param_shardings,),
            out_shardings=self.param_shardings,
        )
        return copy(jax.device_put(nnx.state(model), self.param_shardings))

    def abstract_state(self) -> TrainState:
        """The train state's shapes, dtypes and shardings, allocating nothing: the target to restore a checkpoint
        (e.g. orbax) straight onto the mesh."""
        return self._init.eval_shape(self._abstract_params)

    def scale_learning_rate(self, state: TrainState, factor: float) -> TrainState:
        """The state with its run-time learning-rate scale multiplied by `factor` (the divergence guard's
        action), placed as before so the compiled update takes it unchanged."""
        old = optax.tree_utils.tree_get(state.opt_state, "learning_rate_scale")
        new = jax.device_put(old * jnp.float32(factor), old.sharding)
        return dataclasses.replace(state, opt_state=optax.tree_utils.tree_set(state.opt_state, learning_rate_scale=new))

    def policy(self, state: TrainState) -> Qwen2ForCausalLM:
        """The model on the state's parameter arrays (no copy), for sampling. An update donates those arrays, so
        take a new one after each update."""
        return nnx.merge(self.graphdef, state.params)

    def layout(self, num_sequences: int) -> BatchLayout:
        """The batch hierarchy for a global batch of this size; raises naming the setting that does not divide."""
        return batch_layout(num_sequences, self.config, self.batch_shards)

    # ---- log-probs ----

    def logprobs(self, params: nnx.State, input_ids, attention_mask) -> jax.Array:
        """Per-token log-probs [sequences, length] under `params` (entry 0 is 0), micro-batched like the update."""
        layout = self.layout(input_ids.shape[0])
        if layout not in self._logprob_fns:
            self._logprob_fns[layout] = jax.jit(
                functools.partial(self._logprobs, layout=layout),
                in_shardings=(self.param_shardings, self._batch_sharding, self._batch_sharding),
                out_shardings=self._batch_sharding,
            )
        return self._logprob_fns[layout](params, *shard_batch((input_ids, attention_mask), self.mesh))

    def old_logprobs(
        self, state: TrainState, input_ids, attention_mask, loss_mask, sampler_logprobs=None
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """The PPO ratio's denominator, by rl.old_logprobs, and the sampler-vs-trainer gap when both exist."""
        if self.config.old_logprobs == "sampler":
            if sampler_logprobs is None:
                raise ValueError("rl.old_logprobs='sampler' needs the sampler's log-probs")
            return shard_batch(sampler_logprobs, self.mesh), {}
        trainer_logprobs = self.logprobs(state.params, input_ids, attention_mask)
        if sampler_logprobs is None:
            return trainer_logprobs, {}
        sampler_logprobs, loss_mask = shard_batch((sampler_logprobs, loss_mask), self.mesh)
        return trainer_logprobs, jax.jit(losses.logprob_gap)(trainer_logprobs, sampler_logprobs, loss_mask)

    # ---- the update ----

    def update(self, state: TrainState, batch: RLBatch) -> tuple[TrainState, dict[str, jax.Array]]:
        """One RL step: num_epochs x num_mini_batches optimizer updates. `state` is donated (invalid afterwards).

        Returns the new state and scalar diagnostics: means over the step's optimizer updates (maxima/minima
        for ratio_max/ratio_min); grad_norm is before clipping; tokens counts the batch's response tokens.
        """
        if self.config.kl_coeff and batch.ref_logprobs is None:
            raise ValueError("rl.kl_coeff > 0 needs RLBatch.ref_logprobs (log-probs under the reference model)")
        layout = self.layout(batch.num_sequences)
        if layout not in self._updates:
            self._updates[layout] = jax.jit(
                functools.partial(self._update, layout=layout),
                in_shardings=(self.state_shardings, self._batch_sharding),
                out_shardings=(self.state_shardings, replicated(self.mesh)),
                donate_argnums=0,
            )
        return self._updates[layout](state, shard_batch(batch, self.mesh))

    def gradients(self, params: nnx.State, batch: RLBatch) -> tuple[nnx.State, dict[str, jax.Array]]:
        """The loss gradient of the whole batch taken as one mini-batch (micro-batched by the config), and its
        diagnostics; for inspection and tests, since `update` folds it straight into AdamW."""
        one_mini_batch = dataclasses.replace(self.config, num_mini_batches=1)
        layout = batch_layout(batch.num_sequences, one_mini_batch, self.batch_shards)
        if layout not in self._gradient_fns:

            def grads_of(params, batch):
                mini = jax.tree.map(lambda x: self._micro_batches(x, layout)[0], batch)
                return self._mini_batch_grads(params, mini)

            self._gradient_fns[layout] = jax.jit(
                grads_of,
                in_shardings=(self.param_shardings, self._batch_sharding),
                out_shardings=(self.param_shardings, replicated(self.mesh)),
            )
        return self._gradient_fns[layout](params, shard_batch(batch, self.mesh))

    @property
    def _batch_sharding(self) -> NamedSharding:
        return batch_sharding(self.mesh)

    def _micro_batches(self, x: jax.Array, layout: BatchLayout) -> jax.Array:
        x = to_micro_batches(x, layout)
        spec = logical_to_physical(("mini_batches", "micro_batches", "batch"))
        return jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, spec))

    def _logprobs(self, params, input_ids, attention_mask, layout: BatchLayout):
        sequences, micro = input_ids.shape[0], layout.micro_batch_size
        whole = BatchLayout(sequences, micro, 1, sequences // micro)
        xs = (self._micro_batches(input_ids, whole)[0], self._micro_batches(attention_mask, whole)[0])

        def micro_batch_logprobs(x):
            model = _merge_here(self.graphdef, params)
            return token_logprobs(model, x[0], x[1], self.config.logprob_chunk_size)[0]

        out = jax.lax.map(micro_batch_logprobs, xs)
        return from_micro_batches(out[None], whole)

    def _micro_batch_grads(self, params, micro: RLBatch, weights, token_weights):
        def loss_fn(params):
            model = _merge_here(self.graphdef, params)
            chunk = self.config.logprob_chunk_size
            logprobs, entropy = token_logprobs(model, micro.input_ids, micro.attention_mask, chunk)
            if not self.config.entropy_coeff:
                entropy = jax.lax.stop_gradient(entropy)
            return losses.objective(
                logprobs,
                entropy,
                micro.old_logprobs,
                micro.advantages,
                micro.ref_logprobs,
                micro.loss_mask,
                weights,
                token_weights,
                self.config,
            )

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        return jax.lax.with_sharding_constraint(grads, self.param_shardings), metrics

    def _mini_batch_grads(self, params, mini: RLBatch):
        """The mini-batch's gradient [micro-batches, micro_batch_size, length], accumulated micro-batch by
        micro-batch with weights from the whole mini-batch, so it equals the gradient of one big pass."""
        weights = losses.loss_weights(mini.loss_mask, self.config.loss_aggregation)
        token_weights = losses.loss_weights(mini.loss_mask, "token_mean")
        if mini.input_ids.shape[0] == 1:  # no accumulator: one parameter-sized buffer less
            return self._micro_batch_grads(params, jax.tree.map(lambda x: x[0], mini), weights[0], token_weights[0])

        def accumulate(grads, xs):
            micro, w, tw = xs
            micro_grads, metrics = self._micro_batch_grads(params, micro, w, tw)
            return jax.tree.map(jnp.add, grads, micro_grads), metrics

        zeros = jax.lax.with_sharding_constraint(jax.tree.map(jnp.zeros_like, params), self.param_shardings)
        grads, metrics = jax.lax.scan(accumulate, zeros, (mini, weights, token_weights))
        return grads, _combine(metrics)

    def _mini_batch_update(self, state: TrainState, mini: RLBatch):
        """One optimizer update from a mini-batch [micro-batches, micro_batch_size, length]."""
        grads, metrics = self._mini_batch_grads(state.params, mini)
        metrics["grad_norm"] = optax.tree.norm(grads)
        metrics["learning_rate"] = self._learning_rate(state, state.step)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(state.step + 1, params, opt_state), metrics

    def _learning_rate(self, state: TrainState, step: jax.Array) -> jax.Array:
        """The schedule's rate at `step` times the state's run-time scale: the rate the update applies."""
        return self._schedule(step) * optax.tree_utils.tree_get(state.opt_state, "learning_rate_scale")

    def _update(self, state: TrainState, batch: RLBatch, layout: BatchLayout):
        key = jax.random.key(self.config.seed)
        shuffle = self.config.shuffle and layout.num_mini_batches > 1

        def epoch(state, _):
            data = batch
            if shuffle:
                order = jax.random.permutation(jax.random.fold_in(key, state.step), batch.num_sequences)
                data = jax.tree.map(lambda x: x[order], data)
            minis = jax.tree.map(lambda x: self._micro_batches(x, layout), data)
            return jax.lax.scan(self._mini_batch_update, state, minis)

        state, metrics = jax.lax.scan(epoch, state, None, length=self.config.num_epochs)
        metrics = _combine(jax.tree.map(lambda x: x.reshape(-1), metrics), mean=True)
        metrics["learning_rate"] = self._learning_rate(state, state.step - 1)
        metrics["tokens"] = jnp.sum(batch.loss_mask)
        return state, metrics


def _merge_here(graphdef, params: nnx.State) -> Qwen2ForCausalLM:
    """The module with fresh Variables of the current trace level: inside a scan/map body NNX refuses to update
    (as its remat does) Variables that were created outside it."""
    return nnx.merge(graphdef, jax.tree.map(lambda x: x, params))


def _combine(metrics: dict[str, jax.Array], mean: bool = False) -> dict[str, jax.Array]:
    """Reduces stacked diagnostics over their leading axis: extremes by max/min, the rest by sum (or mean)."""
    out = {}
    for name, values in metrics.items():
        if name in losses.EXTREME_METRICS:
            out[name] = losses.EXTREME_METRICS[name](values)
        else:
            out[name] = jnp.mean(values) if mean else jnp.sum(values)
    return out


def _opt_state_shardings(abstract_opt_state, mesh: Mesh):
    """Moments shard like their parameters (they keep its logical_axes); counters are replicated."""

    def sharding_of(leaf):
        if isinstance(leaf, nnx.Variable):
            return logical_sharding(leaf.get_metadata()["logical_axes"], leaf.get_value().shape, mesh)
        return replicated(mesh)

    return jax.tree.map(sharding_of, abstract_opt_state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def _check_model(model: Qwen2ForCausalLM, config: RLConfig, mesh: Mesh) -> None:
    expected = model_options(config, mesh)
    if jnp.dtype(model.dtype) != jnp.dtype(expected["dtype"]):
        raise ValueError(
            f"the model computes in {jnp.dtype(model.dtype).name} but rl.compute_dtype={config.compute_dtype!r}; "
            "build it with **model_options(config, mesh)"
        )
    if model.remat != config.remat:
        raise ValueError(
            f"the model has remat={model.remat} but rl.remat={config.remat}; "
            "build it with **model_options(config, mesh)"
        )
    if model.mesh is not None and model.mesh != mesh:
        raise ValueError("the model was built for a different mesh than the learner's")
    for path, variable in nnx.to_flat_state(nnx.state(model)):
        if not isinstance(variable, nnx.Param):
            raise ValueError(f"{'.'.join(map(str, path))}: the learner trains a model whose state is only parameters")
        if variable.get_value().dtype != jnp.float32:
            raise ValueError(
                f"{'.'.join(map(str, path))} is {variable.get_value().dtype}: the learner keeps float32 master weights "
                "(param_dtype=jnp.float32)"
            )
