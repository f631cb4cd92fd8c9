"""he2016-plain-vs-residual with a test-sized override of --quick (depths 8 and 14, 100 steps: ≈ 15 s of one
core): the three claims per normalization recomputed from the table with paired differences by hand."""
import math

import pytest
from helpers import claim, run_quick

SMALL = dict(depths=(8, 14), max_steps=100, eval_every=50)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "he2016-plain-vs-residual", **SMALL)


def paired(a, b):
    d = [x - y for x, y in zip(a, b)]
    mean = sum(d) / len(d)
    se = math.sqrt(sum((v - mean) ** 2 for v in d) / (len(d) - 1) / len(d))
    return mean, se


def errors(rows, net, depth, key="train_error"):
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["net"] == net and r["depth"] == depth]


def test_claims_follow_from_the_table(quick):
    _, s = quick
    rows = s["table"]
    assert {r["norm"] for r in rows} == {"batch"} and len(rows) == 2 * 2 * 2
    d, se = paired(errors(rows, "plain", 14), errors(rows, "plain", 8))
    assert claim(s, "degradation_bn")["held"] == (d > 2 * se and d > 0)
    d, se = paired(errors(rows, "residual", 14), errors(rows, "residual", 8))
    assert claim(s, "no_degradation_bn")["held"] == (not (d > 2 * se and d > 0))
    d, se = paired(errors(rows, "plain", 14, "test_error"), errors(rows, "residual", 14, "test_error"))
    assert claim(s, "residual_wins_bn")["held"] == (d > 2 * se and d > 0)
    for key in ("degradation_nobn", "no_degradation_nobn", "residual_wins_nobn"):
        assert claim(s, key)["status"] == "not evaluable" and "not run" in claim(s, key)["reason"]


def test_every_net_learned_something(quick):
    _, s = quick
    # after 100 steps the nets of the two seeds were at 2–30 % training error (chance: 90 %)
    assert all(r["train_error"] < 0.6 and not r["diverged"] for r in s["table"])
