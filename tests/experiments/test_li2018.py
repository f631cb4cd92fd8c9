"""li2018-landscape, --quick: slices and curvature of plain vs residual nets; claims from the table."""
import numpy as np
import pytest
from helpers import claim, run_quick

from dlscope.experiments.li2018 import nonconvex_fraction


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "li2018-landscape")


def test_claims_follow_from_the_table(quick):
    _, s = quick
    r, p = (next(x for x in s["table"] if x["net"] == n) for n in ("residual", "plain"))
    assert claim(s, "convex")["held"] == (r["nonconvex_fraction"] < p["nonconvex_fraction"])
    assert claim(s, "curvature")["held"] == (r["abs_min_over_max"] < p["abs_min_over_max"])
    assert claim(s, "trainability")["held"] == (r["train_loss"] < p["train_loss"])
    for row in (r, p):
        assert row["slice_max"] > row["slice_center"]  # the solution sits in a basin of the slice
        assert row["lambda_min"] < row["lambda_max"]


def test_nonconvex_fraction_closed_forms():
    a = np.linspace(-1, 1, 21)
    A, B = np.meshgrid(a, a, indexing="ij")
    assert nonconvex_fraction(A**2 + 2 * B**2, 0.1) == 0.0  # convex bowl
    assert nonconvex_fraction(A**2 - B**2, 0.1) == 1.0  # saddle everywhere
    assert nonconvex_fraction(np.cos(3 * A), 0.1) == pytest.approx(np.mean(np.cos(3 * a[1:-1]) > 0), abs=0.06)
