"""The Learner on one device: exact gradient accumulation, masks, the batch hierarchy, policy-gradient sanity."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from rl_fixtures import VOCAB, random_batch, tiny_model

from azr_jax.config import ConfigError, from_config, to_config_dict
from azr_jax.models import make_mesh
from azr_jax.rl import Learner, RLBatch, RLConfig, batch_layout
from azr_jax.rl.batch import to_micro_batches
from azr_jax.rl.optimizer import learning_rate_schedule

F32 = RLConfig(compute_dtype="float32")


@pytest.fixture(scope="module")
def mesh():
    return make_mesh(devices=jax.devices()[:1])


def _learner(config, mesh, seed=0):
    model = tiny_model(config, mesh, seed=seed)
    learner = Learner(model, config, mesh)
    return learner, learner.init_state(model)


def _max_abs_diff(a, b):
    return max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.parametrize("aggregation", ["token_mean", "sequence_mean"])
def test_gradients_accumulated_over_four_micro_batches_equal_one_batch(mesh, aggregation):
    config = dataclasses.replace(F32, loss_aggregation=aggregation)
    whole, state = _learner(config, mesh)
    accumulated = Learner(tiny_model(config, mesh), dataclasses.replace(config, micro_batch_size=2), mesh)
    batch = random_batch(sequences=8)
    layout = accumulated.layout(8)
    assert layout.micro_batches_per_mini_batch == 4
    tokens_per_micro = np.asarray(to_micro_batches(jnp.asarray(batch.loss_mask), layout).sum(axis=(2, 3)))[0]
    assert len(set(tokens_per_micro.tolist())) > 1, tokens_per_micro  # unequal, or the weighting is not tested

    grads_whole, metrics_whole = whole.gradients(state.params, batch)
    grads_accumulated, metrics_accumulated = accumulated.gradients(state.params, batch)
    assert _max_abs_diff(grads_whole, grads_accumulated) <= 1e-6
    assert max(float(jnp.max(jnp.abs(g))) for g in jax.tree.leaves(grads_whole)) > 1e-2  # not trivially zero
    for name in ("loss", "pg_loss", "entropy", "approx_kl", "ratio_mean", "ratio_max", "ratio_min", "tokens"):
        assert float(metrics_accumulated[name]) == pytest.approx(float(metrics_whole[name]), abs=1e-6), name


def test_prompt_and_padding_values_change_nothing(mesh):
    learner, state = _learner(F32, mesh)
    batch = random_batch(sequences=4)
    rng = np.random.default_rng(1)
    padding = batch.attention_mask == 0
    outside = batch.loss_mask == 0
    changed = RLBatch.from_numpy(
        np.where(padding, rng.integers(0, VOCAB, padding.shape), batch.input_ids),
        batch.attention_mask,
        batch.loss_mask,
        np.where(outside, 1e3, batch.advantages),
        np.where(outside, -1e3, batch.old_logprobs),
    )
    assert np.any(changed.input_ids != batch.input_ids)
    grads, metrics = learner.gradients(state.params, batch)
    grads_changed, metrics_changed = learner.gradients(state.params, changed)
    assert _max_abs_diff(grads, grads_changed) == 0.0
    assert float(metrics_changed["loss"]) == float(metrics["loss"])


def test_recomputed_old_logprobs_give_ratio_one_and_the_sampler_gap(mesh):
    learner, state = _learner(dataclasses.replace(F32, kl_coeff=0.1), mesh)
    batch = random_batch(sequences=4)
    old, _ = learner.old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask)
    _, gap = learner.old_logprobs(state, batch.input_ids, batch.attention_mask, batch.loss_mask, np.asarray(old) - 0.25)
    assert float(gap["logprob_gap_mean"]) == pytest.approx(0.25, abs=1e-6)
    assert float(gap["logprob_gap_max_abs"]) == pytest.approx(0.25, abs=1e-6)
    batch = dataclasses.replace(batch, old_logprobs=old, ref_logprobs=old)  # the reference is the policy itself
    state, metrics = learner.update(state, batch)
    assert abs(float(metrics["ratio_max"]) - 1) < 1e-6 and abs(float(metrics["ratio_min"]) - 1) < 1e-6
    assert abs(float(metrics["kl_ref"])) < 1e-6
    assert float(metrics["clip_fraction"]) == 0.0
    assert float(metrics["tokens"]) == batch.loss_mask.sum()
    assert int(state.step) == 1
    with pytest.raises(ValueError, match="needs the sampler's log-probs"):
        Learner(tiny_model(F32, mesh), dataclasses.replace(F32, old_logprobs="sampler"), mesh).old_logprobs(
            state, batch.input_ids, batch.attention_mask, batch.loss_mask
        )


def test_the_kl_reference_is_a_compute_dtype_copy_of_the_initial_weights_that_gives_their_logprobs(mesh):
    config = RLConfig(kl_coeff=0.1)  # bfloat16 compute on float32 master weights
    model = tiny_model(config, mesh)
    learner = Learner(model, config, mesh)
    reference = learner.reference(model)
    state = learner.init_state(model)  # donates the model's arrays; the reference is a copy
    assert {x.dtype for x in jax.tree.leaves(reference)} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in jax.tree.leaves(state.params)} == {jnp.dtype(jnp.float32)}
    batch = random_batch(sequences=4)
    policy = learner.logprobs(state.params, batch.input_ids, batch.attention_mask)
    ref = learner.logprobs(reference, batch.input_ids, batch.attention_mask)
    # Every layer casts its weights to bfloat16 before use: the copy computes exactly what the weights did.
    np.testing.assert_array_equal(np.asarray(ref), np.asarray(policy))
    batch = dataclasses.replace(batch, old_logprobs=policy, ref_logprobs=ref)
    state, first = learner.update(state, batch)
    state, second = learner.update(state, batch)
    assert abs(float(first["kl_ref"])) < 1e-6 < float(second["kl_ref"])  # the policy moved, the reference did not
    np.testing.assert_array_equal(
        np.asarray(learner.logprobs(reference, batch.input_ids, batch.attention_mask)), np.asarray(ref)
    )


def test_abstract_state_describes_the_real_one(mesh):
    learner, state = _learner(F32, mesh)
    abstract = learner.abstract_state()
    assert jax.tree.structure(abstract) == jax.tree.structure(state)
    for spec, real in zip(jax.tree.leaves(abstract), jax.tree.leaves(state)):
        assert (spec.shape, spec.dtype, spec.sharding) == (real.shape, real.dtype, real.sharding)


def test_mini_batches_and_epochs_equal_sequential_updates(mesh):
    config = dataclasses.replace(F32, learning_rate=1e-3, shuffle=False)
    batch = random_batch(sequences=8)
    hierarchy, state_hierarchy = _learner(dataclasses.replace(config, num_mini_batches=2, num_epochs=2), mesh)
    one, state_one = _learner(config, mesh)
    start = jax.tree.map(jnp.copy, state_one.params)
    state_hierarchy, metrics = hierarchy.update(state_hierarchy, batch)
    # Mini-batch u of a (4 x 2) layout is rows u, u + 2, u + 4, u + 6; without shuffling each epoch repeats them.
    for rows in (slice(0, None, 2), slice(1, None, 2)) * 2:
        state_one, _ = one.update(state_one, jax.tree.map(lambda x: x[rows], batch))
    assert int(state_hierarchy.step) == 4 and int(state_one.step) == 4
    # The key bias shifts every score of a query by the same amount, which softmax ignores: its exact gradient is
    # 0, so what it gets is rounding noise, which Adam scales to learning-rate-sized steps (measured: 1.4e-5 apart
    # here once attention went through jax.nn.dot_product_attention, whose sums XLA orders by batch layout).
    # Every parameter with a real gradient must agree at 1e-6.
    differences = {
        jax.tree_util.keystr(path): float(jnp.max(jnp.abs(x - y)))
        for (path, x), y in zip(
            jax.tree_util.tree_leaves_with_path(state_hierarchy.params), jax.tree.leaves(state_one.params)
        )
    }
    assert {k: d for k, d in differences.items() if "k_bias" not in k and d > 1e-6} == {}
    assert _max_abs_diff(state_hierarchy.params, start) > 1e-4  # it moved
    assert float(metrics["ratio_max"]) > 1.0  # later updates see a moved policy
    assert set(metrics) >= {"loss", "pg_loss", "entropy", "clip_fraction", "approx_kl", "grad_norm", "learning_rate"}


def test_rewarding_a_completion_raises_its_logprob_and_penalising_lowers_it(mesh):
    config = RLConfig(learning_rate=3e-3)  # bfloat16 compute and remat, as in training
    rng = np.random.default_rng(7)
    prompt, completion = rng.integers(0, VOCAB, 5), rng.integers(0, VOCAB, 6)
    ids = np.tile(np.concatenate([prompt, completion]), (4, 1))
    attention = np.ones_like(ids)
    loss_mask = np.zeros_like(ids)
    loss_mask[:, 5:] = 1

    def completion_logprob(learner, state):
        return float(np.asarray(learner.logprobs(state.params, ids, attention))[0, 5:].sum())

    learner = Learner(tiny_model(config, mesh, seed=3), config, mesh)
    for sign in (1.0, -1.0):
        state = learner.init_state(tiny_model(config, mesh, seed=3))
        before = completion_logprob(learner, state)
        for _ in range(4):
            old, _ = learner.old_logprobs(state, ids, attention, loss_mask)
            state, metrics = learner.update(state, RLBatch.from_numpy(ids, attention, loss_mask, np.full(4, sign), old))
        after = completion_logprob(learner, state)
        assert sign * (after - before) > 0.5, (sign, before, after)


def test_batch_hierarchy_errors_name_the_setting():
    with pytest.raises(ValueError, match="rl.num_mini_batches=3 does not divide the global batch of 8"):
        batch_layout(8, RLConfig(num_mini_batches=3))
    with pytest.raises(ValueError, match="rl.micro_batch_size=3 does not divide the mini-batch of 4"):
        batch_layout(8, RLConfig(num_mini_batches=2, micro_batch_size=3))
    with pytest.raises(ValueError, match="does not split over the mesh's 4 batch shards"):
        batch_layout(8, RLConfig(micro_batch_size=2), batch_shards=4)
    layout = batch_layout(384, RLConfig(num_mini_batches=2, micro_batch_size=16), batch_shards=8)
    assert (layout.mini_batch_size, layout.micro_batches_per_mini_batch) == (192, 12)


def test_bad_batches_are_rejected_before_compiling():
    ids, ones = np.zeros((2, 4)), np.ones((2, 4))
    loss = np.array([[0, 0, 1, 1], [0, 1, 1, 1]])
    with pytest.raises(ValueError, match="attention_mask marks as padding"):
        RLBatch.from_numpy(ids, np.array([[1, 1, 1, 0], [1, 1, 1, 1]]), loss, np.zeros(2), ones)
    with pytest.raises(ValueError, match="position 0"):
        RLBatch.from_numpy(ids, ones, np.ones((2, 4)), np.zeros(2), ones)
    with pytest.raises(ValueError, match="old_logprobs must have the shape of input_ids"):
        RLBatch.from_numpy(ids, ones, loss, np.zeros(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="not finite"):
        RLBatch.from_numpy(ids, ones, loss, np.array([np.nan, 0.0]), ones)
    batch = RLBatch.from_numpy(ids, ones, loss, np.array([0.5, -1.0]), ones)
    np.testing.assert_array_equal(batch.advantages[1], [-1.0] * 4)  # a per-sequence advantage covers its tokens


def test_learner_rejects_a_model_it_would_train_wrongly(mesh):
    with pytest.raises(ValueError, match="rl.compute_dtype='bfloat16'"):
        Learner(tiny_model(F32, mesh), RLConfig(), mesh)
    with pytest.raises(ValueError, match="rl.remat=False"):
        Learner(tiny_model(F32, mesh), dataclasses.replace(F32, remat=False), mesh)
    half = tiny_model(F32, mesh)
    nnx.update(half, jax.tree.map(lambda x: x.astype(jnp.bfloat16), nnx.state(half)))
    with pytest.raises(ValueError, match="float32 master weights"):
        Learner(half, F32, mesh)
    learner, state = _learner(dataclasses.replace(F32, kl_coeff=0.1), mesh)
    with pytest.raises(ValueError, match="ref_logprobs"):
        learner.update(state, random_batch(sequences=2))


def test_warmup_is_linear_then_constant():
    schedule = learning_rate_schedule(RLConfig(learning_rate=1e-3, warmup_steps=4))
    np.testing.assert_allclose([float(schedule(i)) for i in range(6)], [0, 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3], rtol=1e-6)
    assert float(learning_rate_schedule(RLConfig())(0)) == 1e-6


def test_a_halved_learning_rate_scale_halves_the_update_and_is_reported(mesh):
    """The divergence guard's action: the same batch from the same state moves every parameter by half as much
    (AdamW's step and its weight decay alike), and the update reports the rate it applied."""
    config = dataclasses.replace(F32, learning_rate=1e-3)
    batch = random_batch(sequences=4)
    learner, state = _learner(config, mesh)
    before = jax.tree.map(np.asarray, state.params)
    full, full_metrics = learner.update(state, batch)
    learner, state = _learner(config, mesh)
    half, half_metrics = learner.update(learner.scale_learning_rate(state, 0.5), batch)
    for b, f, h in zip(jax.tree.leaves(before), jax.tree.leaves(full.params), jax.tree.leaves(half.params)):
        # Both moves are differences of float32 parameters: each is exact to one unit in the last place of |b|.
        ulp = np.spacing(np.abs(b).max())
        np.testing.assert_allclose(np.asarray(h) - b, 0.5 * (np.asarray(f) - b), rtol=0, atol=2 * ulp)
    assert float(full_metrics["learning_rate"]) == pytest.approx(1e-3)
    assert float(half_metrics["learning_rate"]) == pytest.approx(5e-4)
    assert _max_abs_diff(jax.tree.map(np.asarray, full.params), before) > 1e-4  # the update moved something


def test_config_round_trip_and_errors_name_the_field():
    assert from_config(RLConfig, to_config_dict(RLConfig()), "rl") == RLConfig()
    assert RLConfig().learning_rate == 1e-6 and RLConfig().entropy_coeff == 0.001 and RLConfig().kl_coeff == 0.0
    with pytest.raises(ConfigError, match="rl.clip_eps: expected float"):
        from_config(RLConfig, {"clip_eps": "abc"}, "rl")
    with pytest.raises(ConfigError, match="rl: num_mini_batches must be > 0"):
        from_config(RLConfig, {"num_mini_batches": 0}, "rl")
    with pytest.raises(ConfigError, match="dual_clip must be > 1"):
        from_config(RLConfig, {"dual_clip": 0.9}, "rl")
    with pytest.raises(ConfigError, match="rl.loss_agg: unknown field"):
        from_config(RLConfig, {"loss_agg": "token_mean"}, "rl")
