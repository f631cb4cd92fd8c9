"""sagun2017-hessian-outliers, --quick (two 1,098-parameter MLPs, dense float64 Hessians and GGNs: ≈ 15 s
of one core): the outlier count is recomputed from the stored eigenvalues."""
import math

import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "sagun2017-hessian-outliers")


def _largest_gap(eigs):
    best, k = -1.0, 0
    pos = [v for v in eigs if v > 0]
    for i in range(len(pos) - 1):
        g = math.log(pos[i] / pos[i + 1])
        if g > best:
            best, k = g, i + 1
    return k


def test_counts_and_claims_from_the_eigenvalues(quick):
    _, s = quick
    for r in s["table"]:
        assert r["parameters"] == 40 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
        assert len(r["top eigenvalues"]) == 31 and r["top eigenvalues"] == sorted(r["top eigenvalues"], reverse=True)
        assert r["outliers"] == _largest_gap(r["top eigenvalues"])
        # the Gauss–Newton share of a Hessian eigenvalue is a Rayleigh quotient ratio: finite, and
        # near 1 at a trained net (0.97–1.0 on the quick runs seen)
        assert 0.5 < r["ggn share (mean over top C)"] < 1.5
    c = claim(s, "outliers")
    assert c["held"] == all(abs(r["outliers"] - 10) <= 1 for r in s["table"])
    g = claim(s, "ggn")
    share = sum(r["ggn share (mean over top C)"] for r in s["table"]) / len(s["table"])
    assert g["measured"]["mean uᵀGu/λ"] == pytest.approx(share, abs=1e-5) and g["held"] == (share >= 0.9)
