"""sgd-near-identity with a test-sized override of --quick (three BatchNorm depths, 1000 examples, 200 steps,
30 points: ≈ 20 s of one core; --quick is ≈ 45 s): the open-question claim
recomputed from the table with numpy, bounds ordered, the control."""
import numpy as np
import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "sgd-near-identity", n_train=1000, max_steps=200, eval_every=100, gap_points=30,
                     gap_iters=10)


def test_claims_follow_from_the_table(quick):
    _, s = quick
    rows = s["table"]
    x, y = np.log([r["blocks"] for r in rows]), np.log([r["max_lower"] for r in rows])
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    se = np.sqrt(resid @ resid / (len(x) - 2) / ((x - x.mean()) @ (x - x.mean())))
    c = claim(s, "decreases_bn")
    assert c["measured"]["slope (lower estimate)"] == pytest.approx(slope, abs=1e-3)
    assert c["held"] == (slope + 2 * se < 0)
    assert claim(s, "decreases_nobn")["status"] == "not evaluable"
    assert claim(s, "trained")["held"] == (min(r["train_acc"] for r in rows) >= 0.9)


def test_lower_estimates_stay_below_upper_bounds(quick):
    _, s = quick
    for r in s["table"]:
        assert 0 < r["max_lower"] <= r["max_upper"] * (1 + 1e-6) <= r["product_upper"] * (1 + 1e-6) + 1e-9
        assert r["blocks"] == 3 * (r["depth"] - 2) // 6
