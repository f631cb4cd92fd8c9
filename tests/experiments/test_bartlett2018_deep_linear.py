"""bartlett2018-deep-linear with a test-sized override of --quick (two depths, one critical-point search of
1500 steps: ≈ 15 s of one core; --quick itself is ≈ 30 s): claims recomputed from the table."""
import pytest
from helpers import claim, run_quick

SMALL = dict(depths=(10, 20), starts=1, max_steps=3000, negative_steps=600)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "bartlett2018-deep-linear", **SMALL)


def test_claims_follow_from_the_table(quick):
    _, s = quick
    runs = [r for r in s["table"] if r.get("part") == "deep linear"]
    by = lambda t: [r for r in runs if r["target"] == t]  # noqa: E731
    assert claim(s, "spd")["held"] == all(r["steps"] is not None for r in by("spd"))  # slopes ≈ 0.07 ≪ 3
    assert claim(s, "negative")["held"] == all(r["min_loss"] >= 0.125 * (1 - 1e-9) for r in by("negative"))
    assert claim(s, "nonsymmetric")["held"] == all(r["steps"] is not None for r in by("nonsymmetric (balanced)"))
    pts = [r for r in s["table"] if r.get("part") == "sigmoid critical point"]
    found = [p for p in pts if p["critical"] and p["loss"] >= 0.01 and p["eps_upper"] < 1 and p["eps_lower"] >= 0.02]
    c = claim(s, "parametric")
    assert c["held"] == bool(found) or (c["status"] == "not evaluable" and not any(p["critical"] for p in pts))


def test_the_phenomena(quick):
    _, s = quick
    runs = [r for r in s["table"] if r.get("part") == "deep linear"]
    for r in runs:
        if r["target"] == "negative":  # stuck above the floor ½λ² = 0.125, not diverged
            assert r["steps"] is None and not r["diverged"] and r["final_loss"] >= 0.125
        else:
            assert r["steps"] is not None and r["final_loss"] <= 1e-6
    for p in [r for r in s["table"] if r.get("part") == "sigmoid critical point"]:
        assert p["eps_lower"] <= p["eps_upper"] * (1 + 1e-9)
        if p["functional_ratio"] is not None:  # Thm 3 holds at the parametric critical point: the functional
            assert p["functional_ratio"] >= 1 and p["functional_gradient_min"] > 100 * p["grad_norm"]  # gradient is not 0
