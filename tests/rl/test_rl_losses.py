"""The RL objective on hand-computed numbers: PPO surrogate, clipping, entropy, KL, aggregation, masks."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from azr_jax.rl import RLConfig
from azr_jax.rl.logprobs import chunk_statistics
from azr_jax.rl.losses import kl_penalty, logprob_gap, loss_weights, objective, policy_gradient_terms

NO_BONUS = RLConfig(entropy_coeff=0.0)

# Two sequences of length 4; row 0 trains on positions 2-3 (advantage 0.5 for the sequence), row 1 on 1-3 with
# per-token advantages 1, -2, 3.
MASK = jnp.array([[0, 0, 1, 1], [0, 1, 1, 1]], jnp.float32)
ADVANTAGES = jnp.array([[9.0, 9.0, 0.5, 0.5], [9.0, 1.0, -2.0, 3.0]])
LOGPROBS = jnp.array([[-1.0, -2.0, -0.5, -3.0], [-0.1, -0.2, -0.3, -0.4]])


def _loss(logprobs, old, advantages, mask, config, entropy=None, ref=None):
    entropy = jnp.zeros_like(logprobs) if entropy is None else entropy
    weights = loss_weights(mask, config.loss_aggregation)
    return objective(logprobs, entropy, old, advantages, ref, mask, weights, loss_weights(mask, "token_mean"), config)


def test_token_mean_loss_at_ratio_one_is_minus_mean_advantage():
    loss, metrics = _loss(LOGPROBS, LOGPROBS, ADVANTAGES, MASK, NO_BONUS)
    # -(0.5 + 0.5 + 1 - 2 + 3) / 5 response tokens
    assert float(loss) == pytest.approx(-0.6, abs=1e-7)
    assert float(metrics["pg_loss"]) == pytest.approx(-0.6, abs=1e-7)
    assert float(metrics["ratio_mean"]) == 1.0
    assert float(metrics["clip_fraction"]) == 0.0
    assert float(metrics["approx_kl"]) == 0.0
    assert float(metrics["tokens"]) == 5.0


def test_sequence_mean_loss_at_ratio_one_averages_per_response_means():
    config = dataclasses.replace(NO_BONUS, loss_aggregation="sequence_mean")
    loss, _ = _loss(LOGPROBS, LOGPROBS, ADVANTAGES, MASK, config)
    # row means 0.5 and (1 - 2 + 3) / 3, averaged over the two responses
    assert float(loss) == pytest.approx(-(0.5 + 2 / 3) / 2, abs=1e-7)


def test_entropy_bonus_is_subtracted_with_its_coefficient():
    entropy = jnp.array([[7.0, 7.0, 1.0, 2.0], [7.0, 3.0, 4.0, 5.0]])
    loss, metrics = _loss(LOGPROBS, LOGPROBS, ADVANTAGES, MASK, RLConfig(), entropy=entropy)
    mean_entropy = (1 + 2 + 3 + 4 + 5) / 5
    assert float(metrics["entropy"]) == pytest.approx(mean_entropy, abs=1e-6)
    assert float(loss) == pytest.approx(-0.6 - 0.001 * mean_entropy, abs=1e-7)


def test_kl_penalty_is_added_with_its_coefficient():
    config = dataclasses.replace(NO_BONUS, kl_coeff=0.1, kl_estimator="k1")
    ref = LOGPROBS - jnp.log(2.0)  # the policy gives every token twice the reference's probability: k1 = ln 2
    loss, metrics = _loss(LOGPROBS, LOGPROBS, ADVANTAGES, MASK, config, ref=ref)
    assert float(metrics["kl_ref"]) == pytest.approx(math.log(2), abs=1e-6)
    assert float(loss) == pytest.approx(-0.6 + 0.1 * math.log(2), abs=1e-6)


def test_kl_needs_reference_logprobs():
    with pytest.raises(ValueError, match="ref_logprobs"):
        _loss(LOGPROBS, LOGPROBS, ADVANTAGES, MASK, dataclasses.replace(NO_BONUS, kl_coeff=0.1))


def _grad_at_ratio(ratio, advantage, config):
    """d loss / d logprob for one token with old log-prob 0, at the given ratio."""

    def loss(logprob):
        terms = policy_gradient_terms(logprob[None], jnp.zeros(1), jnp.array([advantage]), jnp.ones(1), config)
        return terms.loss[0]

    return float(jax.grad(loss)(jnp.float32(math.log(ratio))))


@pytest.mark.parametrize(
    "ratio, advantage, expected",
    [
        (1.1, 1.0, -1.1),  # inside the trust region: d(-A r)/d log r = -A r
        (1.3, 1.0, 0.0),  # A > 0 past 1 + eps: clipped, no push further up
        (0.7, 1.0, -0.7),  # A > 0 below 1 - eps: still pulled back up
        (0.9, -1.0, 0.9),
        (0.7, -1.0, 0.0),  # A < 0 below 1 - eps: clipped, no push further down
        (1.3, -1.0, 1.3),  # A < 0 above 1 + eps: still pulled back down
    ],
)
def test_clipping_stops_the_gradient_only_in_the_advantage_direction(ratio, advantage, expected):
    assert _grad_at_ratio(ratio, advantage, NO_BONUS) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_asymmetric_clip_raises_only_the_upper_bound():
    config = dataclasses.replace(NO_BONUS, clip_eps_high=0.28)
    assert _grad_at_ratio(1.25, 1.0, config) == pytest.approx(-1.25, rel=1e-6)
    assert _grad_at_ratio(1.3, 1.0, config) == 0.0
    assert _grad_at_ratio(0.75, -1.0, config) == 0.0  # the lower bound stays 1 - 0.2


def test_dual_clip_caps_negative_advantage_losses():
    config = dataclasses.replace(NO_BONUS, dual_clip=3.0)
    assert _grad_at_ratio(2.5, -1.0, config) == pytest.approx(2.5, rel=1e-6)
    assert _grad_at_ratio(4.0, -1.0, config) == 0.0
    ratio_four = jnp.log(jnp.array([4.0, 4.0]))
    terms = policy_gradient_terms(ratio_four, jnp.zeros(2), jnp.array([-2.0, 2.0]), jnp.ones(2), config)
    np.testing.assert_allclose(terms.loss, [6.0, -2.0 * 1.2], rtol=1e-6)  # capped at -A c; A > 0 untouched
    assert terms.dual_clipped.tolist() == [True, False]


def test_clip_fraction_counts_tokens_whose_clip_bound_is_active():
    old = jnp.zeros((1, 4))
    logprobs = jnp.log(jnp.array([[1.0, 1.5, 1.5, 0.5]]))
    advantages = jnp.array([[1.0, 1.0, -1.0, 1.0]])
    _, metrics = _loss(logprobs, old, advantages, jnp.ones((1, 4)), NO_BONUS)
    assert float(metrics["clip_fraction"]) == pytest.approx(0.25)  # only the A > 0, ratio 1.5 token
    assert float(metrics["ratio_max"]) == pytest.approx(1.5)
    assert float(metrics["ratio_min"]) == pytest.approx(0.5)


def test_log_ratio_clamp_keeps_huge_ratios_finite():
    terms = policy_gradient_terms(jnp.zeros(1), jnp.array([-100.0]), jnp.array([-1.0]), jnp.ones(1), NO_BONUS)
    assert float(terms.ratio[0]) == pytest.approx(math.exp(20.0), rel=1e-5)
    assert np.isfinite(float(terms.loss[0]))


def test_masked_positions_change_nothing_even_when_not_finite():
    entropy = jnp.ones_like(LOGPROBS)
    ref = LOGPROBS - 0.3
    config = dataclasses.replace(RLConfig(), kl_coeff=0.1)
    outside = MASK == 0
    garbage = jnp.where(outside, jnp.nan, 0.0)

    def loss_of(logprobs, old, advantages, ref):
        return _loss(logprobs, old, advantages, MASK, config, entropy=entropy, ref=ref)[0]

    clean_loss, clean_grad = jax.value_and_grad(loss_of)(LOGPROBS, LOGPROBS - 0.05, ADVANTAGES, ref)
    dirty = (LOGPROBS - 0.05 + garbage, jnp.where(outside, jnp.inf, ADVANTAGES), ref + garbage)
    dirty_loss, dirty_grad = jax.value_and_grad(loss_of)(LOGPROBS, *dirty)
    assert float(dirty_loss) == float(clean_loss)
    np.testing.assert_array_equal(dirty_grad, clean_grad)
    assert np.all(np.asarray(clean_grad)[np.asarray(outside)] == 0.0)


def test_loss_weights_hand_computed():
    mask = jnp.array([[0, 1, 1, 0], [0, 1, 1, 1], [0, 0, 0, 0]], jnp.float32)
    np.testing.assert_allclose(loss_weights(mask, "token_mean"), mask / 5)
    expected = np.array([[0, 1 / 4, 1 / 4, 0], [0, 1 / 6, 1 / 6, 1 / 6], [0, 0, 0, 0]])  # the empty row is no response
    np.testing.assert_allclose(loss_weights(mask, "sequence_mean"), expected, rtol=1e-6)
    assert float(loss_weights(jnp.zeros((2, 3)), "token_mean").sum()) == 0.0


def test_entropy_and_logprob_of_hand_computed_distributions():
    logits = jnp.log(jnp.array([[0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3]]))
    logprob, entropy = chunk_statistics(logits, jnp.array([1, 2]))
    np.testing.assert_allclose(logprob, [math.log(0.25), math.log(1 / 3)], rtol=1e-6)
    np.testing.assert_allclose(entropy, [1.5 * math.log(2), math.log(3)], rtol=1e-5)
    _, one_hot_entropy = chunk_statistics(jnp.array([[0.0, -1e9, -1e9]]), jnp.array([0]))
    assert abs(float(one_hot_entropy[0])) < 1e-6


def test_kl_estimators_hand_computed():
    logprobs, ref, mask = jnp.log(jnp.array([0.5, 0.25])), jnp.log(jnp.array([0.25, 0.25])), jnp.ones(2)
    np.testing.assert_allclose(kl_penalty(logprobs, ref, mask, "k1", None), [math.log(2), 0.0], atol=1e-7)
    # k3 = r - log r - 1 with r = pi_ref / pi = 0.5
    np.testing.assert_allclose(kl_penalty(logprobs, ref, mask, "k3", None), [0.5 + math.log(2) - 1, 0.0], atol=1e-7)
    x = jnp.linspace(-3, 3, 13)
    assert np.all(np.asarray(kl_penalty(x, x[::-1], jnp.ones(13), "k3", 20.0)) >= 0)


def test_logprob_gap_hand_computed():
    trainer = jnp.array([[0.0, -1.0, -2.0, 5.0]])
    sampler = jnp.array([[9.0, -1.5, -1.9, 0.0]])
    gap = logprob_gap(trainer, sampler, jnp.array([[0, 1, 1, 0]]))
    assert float(gap["logprob_gap_mean_abs"]) == pytest.approx(0.3, abs=1e-6)
    assert float(gap["logprob_gap_max_abs"]) == pytest.approx(0.5, abs=1e-6)
    assert float(gap["logprob_gap_mean"]) == pytest.approx(0.2, abs=1e-6)
    k3 = (math.exp(0.5) - 0.5 - 1 + math.exp(-0.1) + 0.1 - 1) / 2
    assert float(gap["logprob_gap_kl"]) == pytest.approx(k3, abs=1e-6)
