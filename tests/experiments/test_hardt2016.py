"""hardt2016-near-identity, --quick (≈ 10 s of one core): claims recomputed from the table; rotations
against their closed form m·max‖A_i‖ = 2m sin(θ/2m)."""
import math

import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "hardt2016-near-identity")


def test_claims_follow_from_the_table(quick):
    _, s = quick
    fact = [r for r in s["table"] if r["part"] == "factorization"]
    gd = [r for r in s["table"] if r["part"] == "gradient descent"]
    fitted = [r for r in fact if r["slope"] is not None]
    assert claim(s, "rate")["held"] == all(-1.1 <= r["slope"] <= -0.9 for r in fitted)
    assert claim(s, "bounded")["held"] == all(r["last_doubling_change"] < 0.05 for r in fact)
    inside = [r for r in gd if r["max_deviation"] < 1]
    assert claim(s, "gd_global")["held"] == all(r["relative_excess"] <= 1e-6 for r in inside)
    assert claim(s, "gd_gradient")["held"] == (min(r["min_gradient_ratio"] for r in inside) >= 1 - 1e-9)
    assert claim(s, "product")["kind"] == "control" and claim(s, "product")["held"]
    assert len(gd) == 20  # the issue: ≥ 20 random targets


def test_rotations_match_their_closed_form(quick):
    _, s = quick
    for r in s["table"]:
        if r.get("kind") == "rotation":  # I + A_k = R(θ/m) in each plane: m·‖A_k‖ = 2m sin(θ/2m) at m = 64
            theta = float(r["target"].split()[1])
            assert r["m_max_norm_last"] == pytest.approx(2 * 64 * math.sin(theta / 128), rel=1e-9)
            assert r["gamma"] == pytest.approx(0, abs=1e-9) and r["theta_max"] == pytest.approx(theta, rel=1e-9)
