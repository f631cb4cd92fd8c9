"""bubeck-recipe on a test-sized override of --quick (three variants, 500 examples, 20 epochs: ≈ 15 s of
one core; --quick runs all six): claims recomputed as paired differences, the plateau rule replayed
on the stored metrics."""
import json

import pytest
from helpers import claim, run_quick
from oracles import mean_and_se

from dlscope.train import plateau_drops

OVERRIDE = dict(variants=("recipe", "constant_lr", "no_dropout"), n_train=500, max_epochs=20)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "bubeck-recipe", **OVERRIDE)


def test_paired_differences(quick):
    _, s = quick
    acc = {(r["variant"], r["seed"]): r["test_acc"] for r in s["table"]}
    for name in ("constant_lr", "no_dropout"):
        c = claim(s, name)
        d, se = mean_and_se([acc[("recipe", k)] - acc[(name, k)] for k in (0, 1)])
        assert c["measured"]["difference"]["diff"] == pytest.approx(d, abs=1e-6)
        if c["status"] != "not evaluable":
            assert c["held"] == (d > 2 * se)
    for name in ("no_augmentation", "avg_pool", "tanh"):  # not run: not evaluable, with the reason
        assert claim(s, name)["status"] == "not evaluable" and "not run" in claim(s, name)["reason"]


def test_the_recipe_divides_its_rate_on_plateaus(quick):
    out, s = quick
    rows = [json.loads(x) for x in (out / "runs/recipe_seed0/metrics.jsonl").read_text().splitlines()]
    drops = plateau_drops(rows, patience=5, tol=0.01)
    lrs = [r["lr"] for r in rows]
    # the rate of the evaluation point after a drop is ÷10, and only there
    for prev, row in zip(rows, rows[1:]):
        k = sum(1 for d in drops if d <= prev["step"])
        assert row["lr"] == pytest.approx(0.05 / 10 ** k)
    const = [json.loads(x)["lr"] for x in (out / "runs/constant_lr_seed0/metrics.jsonl").read_text().splitlines()]
    assert set(const) == {0.05}
    assert claim(s, "constant_lr")["status"] != "not evaluable" or not drops
    assert len(lrs) == 20
