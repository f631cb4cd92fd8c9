"""jastrzebski2017-lr-batch, --quick: the η/B grid, claims recomputed with an independent Spearman ρ."""
import pytest
from helpers import claim, run_quick
from oracles import spearman_rho


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "jastrzebski2017-lr-batch")


def test_grid_and_claims(quick):
    _, s = quick
    rows = s["table"]
    assert len(rows) == 4
    assert all(r["trace_sigma"] > 0 and r["trace_sigma_stderr"] > 0 for r in rows)
    fitted = [r for r in rows if r["fitted"]]
    assert claim(s, "all_fit")["kind"] == "control" and claim(s, "all_fit")["held"] == (len(fitted) == len(rows))
    c = claim(s, "flatter")
    if len({r["lr_over_B"] for r in fitted}) >= 3:
        rho = spearman_rho([r["lr_over_B"] for r in fitted], [r["lambda_max"] for r in fitted])
        assert c["measured"]["rho"] == pytest.approx(rho, abs=1e-3)
    else:
        assert c["status"] == "not evaluable"
