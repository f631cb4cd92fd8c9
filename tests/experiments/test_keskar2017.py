"""keskar2017-large-batch, --quick (two seeds): claims recomputed as paired differences over seeds."""
import math

import numpy as np
import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "keskar2017-large-batch")


def _paired(rows, key, log):
    sb = {r["seed"]: r[key] for r in rows if r["tag"] == "SB"}
    lb = {r["seed"]: r[key] for r in rows if r["tag"] == "LB"}
    d = np.array([math.log(lb[s] / sb[s]) if log else sb[s] - lb[s] for s in sorted(sb)])
    return d.mean(), d.std(ddof=1) / math.sqrt(len(d))


def test_claims_are_paired_differences_over_seeds(quick):
    _, s = quick
    rows = s["table"]
    assert len(rows) == 4 and {r["batch"] for r in rows} == {64, 200}  # LB = 10 % of the 2000-example subset
    for key, col, log in (("sharpness", "keskar_sharpness", True), ("lambda_max", "lambda_max", True),
                          ("generalization", "test_acc", False)):
        c = claim(s, key)
        m, se = _paired(rows, col, log)
        if c["status"] != "not evaluable":
            assert c["held"] == (m > 2 * se), key
    assert claim(s, "same_loss")["kind"] == "control"
    assert claim(s, "same_loss")["held"] == all(r["fitted"] for r in rows)


def test_interpolation_line(quick):
    _, s = quick
    line = s["interpolation"]["train"]
    assert min(line["alpha"]) == -1 and max(line["alpha"]) == 2
    # both end points are minima of the training loss along the line (α = 0 and 1 below α = −1 and 2)
    loss = dict(zip(np.round(line["alpha"], 6), line["loss"]))
    assert max(loss[0.0], loss[1.0]) < min(loss[-1.0], loss[2.0])


def test_one_seed_is_not_evaluable(tmp_path_factory):
    _, s = run_quick(tmp_path_factory, "keskar2017-large-batch", seeds=(0,), n_train=500, n_test=500,
                     curvature_examples=200, max_epochs=60)
    for key in ("sharpness", "lambda_max", "generalization"):
        c = claim(s, key)
        assert c["status"] == "not evaluable" and c["reason"]
