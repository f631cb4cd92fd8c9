"""The Monte-Carlo term, the PAC-Bayes-kl bound and the union bound over the prior-variance grid."""
import math

import numpy as np
import pytest
from oracles import miss_probability
from scipy import stats

from dlscope.measure import (best_grid_point, grid_cost, kl_inverse, mc_error_bound, pacbayes_kl_bound,
                             prior_variance)
from dlscope.measure.pacbayes.certificate import grid_index


@pytest.mark.parametrize("m", [10, 150, 10_000])
def test_mc_bound_with_no_errors_is_closed_form(m):
    # kl(0‖p) = −ln(1 − p) = ln(2/δ′)/m  ⇒  p = 1 − (δ′/2)^{1/m}
    assert mc_error_bound(0.0, m, 0.01) == pytest.approx(1 - 0.005 ** (1 / m), rel=1e-10)


@pytest.mark.parametrize("m", [20, 100, 500])
def test_mc_bound_is_above_clopper_pearson(m):
    # Chernoff is looser than the exact binomial tail inversion at the same one-sided level δ′/2
    for k in range(0, m, max(1, m // 10)):
        cp = stats.beta.ppf(1 - 0.005, k + 1, m - k)
        assert mc_error_bound(k / m, m, 0.01) >= cp - 1e-12


@pytest.mark.parametrize("p,m", [(0.02, 300), (0.1, 200), (0.4, 80)])
def test_mc_bound_fails_with_probability_below_delta(p, m):
    # exact over the binomial law of the number of errors: the upper bound misses p with prob ≤ δ′/2
    assert miss_probability(lambda e: mc_error_bound(e, m, 0.01), p, m) <= 0.005


def test_pacbayes_kl_bound_is_the_kl_inverse_of_maurers_term():
    kl, n, d = 1234.5, 60_000, 0.025
    assert pacbayes_kl_bound(0.03, kl, n, d) == kl_inverse(0.03, (kl + math.log(2 * math.sqrt(n) / d)) / n)
    assert pacbayes_kl_bound(0.03, kl, n, d, extra_cost=3.0) == \
        kl_inverse(0.03, (kl + math.log(2 * math.sqrt(n) / d) + 3.0) / n)
    assert pacbayes_kl_bound(0.0, 0.0, 10 ** 6, 0.05) < 1e-4
    with pytest.raises(ValueError, match="KL"):
        pacbayes_kl_bound(0.1, -1.0, 100, 0.05)


def test_grid_weights_sum_to_one_and_the_grid_inverts():
    j = np.arange(1, 10 ** 6 + 1)
    total = float(np.exp(-grid_cost(j)).sum()) + 6 / math.pi ** 2 / 10 ** 6  # tail Σ_{j>J} 6/(π²j²) ≈ 6/(π²J)
    assert total == pytest.approx(1.0, abs=1e-9)
    assert grid_cost(1) == pytest.approx(math.log(math.pi ** 2 / 6))
    lam = prior_variance([1, 250, 700])
    assert np.allclose(grid_index(lam), [1, 250, 700])
    assert prior_variance(0) == pytest.approx(0.1) and prior_variance(100) == pytest.approx(0.1 / math.e)
    with pytest.raises(ValueError, match="j = 1"):
        grid_cost(0)


def test_best_grid_point_is_the_minimum_over_the_grid_by_brute_force():
    d, sq, slv = 5000, 12.5, 5000 * math.log(1e-3)  # Σs² + ‖Δ‖² and Σ ln s² of some posterior

    def kl_of(lam):
        return 0.5 * (sq / lam - d + d * np.log(lam) - slv)

    best = best_grid_point(kl_of, 0.05, 20_000, 0.04, j_max=3000)
    brute = min((pacbayes_kl_bound(0.05, float(kl_of(prior_variance(j))), 20_000, 0.04, float(grid_cost(j))), j)
                for j in range(1, 3001))
    assert best["bound"] == pytest.approx(brute[0], abs=1e-12) and best["j"] == brute[1]
    assert best["lambda"] == pytest.approx(float(prior_variance(best["j"])))
    assert best["kl"] == pytest.approx(float(kl_of(best["lambda"])))
