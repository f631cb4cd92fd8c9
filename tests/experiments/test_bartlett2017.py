"""bartlett2017-spectral-margins, --quick: report files, and claims recomputed from the table."""
import json

import numpy as np
import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "bartlett2017-spectral-margins")


def test_files_and_claim_keys(quick):
    out, s = quick
    assert set(s["figures"]) == {"figures/margins.png", "figures/complexity.png"}
    assert len(s["claims"]) == 5
    assert {r["run"] for r in s["table"]} == {"true_labels_seed0", "random_labels_seed0"}
    for r in s["table"]:
        assert (out / "runs" / r["run"] / "checkpoint.safetensors").exists()


def test_probes_logged_every_eval_point(quick):
    out, s = quick
    rows = [json.loads(line) for line in (out / "runs/true_labels_seed0/metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["complexity"]["R_A"] > 0 and r["complexity"]["prod_spec"] > 0 for r in rows)
    curve = s["curves"]["true_labels_seed0"]
    assert curve[0][0] == 0 and [p[0] for p in curve[1:]] == [r["step"] for r in rows]
    assert curve[-1][1] == pytest.approx(next(r["R_A"] for r in s["table"] if r["run"] == "true_labels_seed0"),
                                         rel=1e-6)
    # both runs start from the same initialization
    assert s["curves"]["random_labels_seed0"][0] == curve[0]


def test_claims_follow_from_the_table(quick):
    _, s = quick
    t = {r["labels"]: r for r in s["table"]}
    ratio = t["random_labels"]["median_normalized_margin"] / t["true_labels"]["median_normalized_margin"]
    c = claim(s, "smaller")
    assert c["measured"]["median ratio"][0] == pytest.approx(ratio, abs=1e-5)
    assert c["held"] == (ratio < 1)
    c = claim(s, "separation")
    sep_raw, sep_norm = t["true_labels"]["separation_raw"], t["true_labels"]["separation_normalized"]
    assert c["measured"]["raw"][0] == pytest.approx(sep_raw, abs=1e-4)
    assert c["measured"]["normalized"][0] == pytest.approx(sep_norm, abs=1e-4)
    assert c["held"] == (c["measured"]["normalized"][0] > c["measured"]["raw"][0])
    c = claim(s, "growth")
    end = {k: s["curves"][f"{k}_seed0"][-1][1] for k in ("true_labels", "random_labels")}
    assert c["measured"]["ratio at end"][0] == pytest.approx(end["random_labels"] / end["true_labels"], rel=1e-4)
    assert c["held"] == (end["random_labels"] > end["true_labels"])
    c = claim(s, "complexity_term")
    expect = (t["random_labels"]["complexity_term"] > t["true_labels"]["complexity_term"]
              and t["random_labels"]["test_error"] > t["true_labels"]["test_error"])
    assert c["held"] == expect
    c = claim(s, "fitted")
    assert c["held"] == all(r["fitted"] for r in s["table"])


def test_bounds_next_to_test_error(quick):
    _, s = quick
    for r in s["table"]:
        for k in ("test_error", "spectral_bound", "vc_bound", "spectral_bound_vacuous", "vc_bound_vacuous"):
            assert k in r
        assert r["spectral_bound_vacuous"] == (r["spectral_bound"] > 1)
        assert r["spectral_bound"] >= r["test_error"] - 0.05 or not r["fitted"]
        assert r["R_A"] >= r["prod_spec"] > 0
    # normalization by R_A ‖X‖_F / n is one constant per net, so it preserves the order of margins
    q = s["margin_quantiles"]["true_labels_seed0"]
    assert np.all(np.diff(q["raw"]) >= 0) and np.all(np.diff(q["normalized"]) >= 0)


def test_bias_convention_cap_and_complexity_term_recomputed(quick):
    """Issue 14 items 1, 5, 8: the nets' biases are in R_A (augmented chain, ‖X̃‖²_F = ‖X‖²_F + n), the
    normalized margins use the figures' ℓ1 variant, the bound's Rademacher term sits at its cap."""
    _, s = quick
    conv = s["conventions"]
    assert conv["biases"].startswith("augmented") and "ℓ1" in conv["normalized_margins"]
    for r in s["table"]:
        gamma10 = s["margin_quantiles"][r["run"]]["raw"][0]
        assert r["complexity_term"] == pytest.approx(r["x_fro"] * r["R_A"] / (gamma10 * r["n"]), rel=1e-6)
        if r["bound_rademacher_capped"]:  # 2ℜ ≤ 1 and the margin error ≤ 1: no more ≈ 8.3
            assert r["bound_dudley"] == pytest.approx(4.0) and r["spectral_bound"] < 2.5
