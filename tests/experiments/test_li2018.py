"""li2018-landscape, --quick: slices and curvature maps of plain vs residual nets; claims from the table."""
import json

import numpy as np
import pytest
from helpers import claim, run_quick
from oracles import mann_whitney_less

from dlscope.experiments.li2018 import Config, nonconvex_fraction


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "li2018-landscape")


def test_claims_follow_from_the_table(quick):
    _, s = quick
    r, p = (next(x for x in s["table"] if x["net"] == n) for n in ("residual", "plain"))
    assert claim(s, "convex")["held"] == (r["nonconvex_fraction"] < p["nonconvex_fraction"])
    assert claim(s, "trainability")["held"] == (r["train_loss"] < p["train_loss"])
    for row in (r, p):
        assert row["slice_max"] > row["slice_center"]  # the solution sits in a basin of the slice
        assert row["lambda_min"] < row["lambda_max"]


def test_the_curvature_claim_compares_the_maps_over_the_slice(quick):
    # Issue 14, item 11: Li et al.'s Fig. 7 is a map of |λ_min/λ_max| over the slice, on the weights of dim > 1;
    # the claim compares the two maps (one-sided Mann–Whitney), recomputed here by a double loop.
    out, s = quick
    cfg = json.loads((out / "config.json").read_text())["config"]
    g = cfg["curvature_grid"]
    r, p = (next(x for x in s["table"] if x["net"] == n) for n in ("residual", "plain"))
    for row in (r, p):
        ratio = np.asarray(row["ratio_map"], dtype=float)
        assert ratio.shape == (g, g) and np.isfinite(ratio).all()
        lmin, lmax = np.asarray(row["lambda_min_map"]), np.asarray(row["lambda_max_map"])
        assert np.allclose(ratio, np.abs(lmin) / lmax) and row["abs_min_over_max"] == ratio[g // 2, g // 2]
    u, pval = mann_whitney_less(np.ravel(r["ratio_map"]), np.ravel(p["ratio_map"]))
    c = claim(s, "curvature")
    seed = c["measured"]["per seed"][str(cfg["seeds"][0])]
    assert seed["U"] == pytest.approx(u) and seed["p"] == pytest.approx(pval, abs=1e-5)
    assert c["held"] == (pval < cfg["p_max"]) and c["measured"]["params"] == "weights of dim > 1"
    assert "figures/eigenvalue_ratio_map.png" in s["figures"] and "figures/eigenvalue_ratio_map.png" in s["captions"]


def test_config_refuses_an_even_curvature_grid():
    with pytest.raises(ValueError, match="curvature_grid must be odd"):
        Config(curvature_grid=4)


def test_nonconvex_fraction_closed_forms():
    a = np.linspace(-1, 1, 21)
    A, B = np.meshgrid(a, a, indexing="ij")
    assert nonconvex_fraction(A**2 + 2 * B**2, 0.1) == 0.0  # convex bowl
    assert nonconvex_fraction(A**2 - B**2, 0.1) == 1.0  # saddle everywhere
    assert nonconvex_fraction(np.cos(3 * A), 0.1) == pytest.approx(np.mean(np.cos(3 * a[1:-1]) > 0), abs=0.06)
