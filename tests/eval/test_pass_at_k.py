"""The unbiased pass@k estimator against values computed by hand."""

import math

import pytest

from azr_jax.eval.pass_at_k import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (10, 3, 1, 0.3),  # pass@1 is the fraction correct
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (10, 2, 5, 1 - 56 / 252),  # 1 - C(8,5)/C(10,5)
        (6, 0, 6, 0.0),
        (6, 2, 5, 1.0),  # fewer than k wrong samples: some drawn sample is right
        (200, 13, 10, 1 - math.comb(187, 10) / math.comb(200, 10)),
    ],
)
def test_pass_at_k_matches_the_combinatorial_formula(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_pass_at_k_grows_with_k_and_with_c():
    assert [pass_at_k(8, 2, k) for k in range(1, 9)] == sorted(pass_at_k(8, 2, k) for k in range(1, 9))
    assert [pass_at_k(8, c, 3) for c in range(9)] == sorted(pass_at_k(8, c, 3) for c in range(9))


def test_the_mean_is_over_problems():
    assert mean_pass_at_k([1, 0, 2], n=2, k=1) == pytest.approx((0.5 + 0 + 1) / 3)


@pytest.mark.parametrize("n, c, k", [(3, 4, 1), (3, 1, 4), (3, 1, 0), (3, -1, 1)])
def test_impossible_counts_are_refused(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)
