"""Kendall τ, granulated Ψ, conditional mutual information and sign-error on toy tables with known answers."""
import itertools
import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from dlscope.measure import conditional_mi, granulated_tau, kendall_tau, sign_error


def test_kendall_tau_known_values():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)  # 5 concordant, 1 discordant
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / 3)  # τ_a: the tie counts 0
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=30), rng.normal(size=30)
    assert kendall_tau(a, b) == pytest.approx(kendalltau(a, b).statistic)


def grid(seeds=(0,)):
    rows = []
    for a, b, s in itertools.product([0, 1, 2], [0, 1], seeds):
        rows.append({"a": a, "b": b, "seed": s})
    return rows


def test_granulated_tau_of_a_measure_that_sees_one_axis():
    rows = grid()
    for r in rows:
        r["gap"] = r["a"] + 0.5 * r["b"]
        r["mu"] = r["a"]  # blind to b: τ = 0 within every b-group
        r["perfect"] = r["gap"]
    g = granulated_tau(rows, "mu", axes=["a", "b"])
    assert g.extra["psi"] == {"a": 1.0, "b": 0.0}
    assert g.value == 0.5
    assert granulated_tau(rows, "perfect", axes=["a", "b"]).value == 1.0


def test_cmi_hand_computed():
    # Four models, g = (1,2,3,4), μ = (1,2,4,3); over the 12 ordered pairs the sign table is
    # (−,−): 5, (+,+): 5, (−,+): 1, (+,−): 1, so I = (5/6) ln(5/3) + (1/6) ln(1/3), H(V_g) = ln 2.
    rows = [{"h": 0, "gap": g, "mu": m} for g, m in zip([1, 2, 3, 4], [1, 2, 4, 3])]
    expected = ((5 / 6) * math.log(5 / 3) + (1 / 6) * math.log(1 / 3)) / math.log(2)
    r = conditional_mi(rows, "mu", axes=["h"], convention="pairs")  # distinct pairs, ternary signs
    assert r.extra["by_set"]["{}"] == pytest.approx(expected)
    assert r.value == pytest.approx(expected)


def test_cmi_exposes_a_measure_that_only_tracks_a_hyperparameter():
    rng = np.random.default_rng(0)
    rows = grid(seeds=(0, 1, 2))
    for r in rows:
        r["gap"] = r["a"] + 0.3 * r["b"] + 0.2 * rng.normal()
        r["mu"] = r["a"]  # a proxy for axis a, no information beyond it
        r["perfect"] = r["gap"]
        r["constant"] = 1.0
    tracker = conditional_mi(rows, "mu", axes=["a", "b"], convention="pairs")
    assert kendall_tau([r["mu"] for r in rows], [r["gap"] for r in rows]) > 0.5
    assert tracker.value == pytest.approx(0.0, abs=1e-12) and tracker.extra["argmin_set"] == ["a"]
    assert conditional_mi(rows, "perfect", axes=["a", "b"], convention="pairs").value == pytest.approx(1.0)
    assert conditional_mi(rows, "constant", axes=["a", "b"], convention="pairs").value == pytest.approx(0.0, abs=1e-12)


def test_sign_error_known_values():
    rows = grid()
    for r in rows:
        r["gap"] = r["a"] + 0.5 * r["b"]
        r["good"], r["bad"], r["blind"] = r["gap"], -r["gap"], r["a"]
    assert sign_error(rows, "good", axes=["a", "b"]).value == 0.0
    bad = sign_error(rows, "bad", axes=["a", "b"])
    assert bad.value == 1.0 and bad.extra["max"] == 1.0
    blind = sign_error(rows, "blind", axes=["a", "b"])
    assert blind.extra["per_axis"] == {"a": 0.0, "b": 0.5}
    # 3 a-values → 3 a-environments for each of 2 b-values; 1 b-environment for each of 3 a-values
    assert blind.extra["environments"] == 9 and blind.value == pytest.approx((6 * 0 + 3 * 0.5) / 9)
    # |Δg| = 0.5 on every b-pair: a noise threshold of 0.75 drops them all
    filtered = sign_error(rows, "blind", axes=["a", "b"], min_gap_diff=0.75)
    assert filtered.extra["environments"] == 6 and math.isnan(filtered.extra["per_axis"]["b"])
