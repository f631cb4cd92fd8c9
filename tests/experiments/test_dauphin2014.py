"""dauphin2014-saddles, --quick: only critical points enter the claims; claims recomputed from the table."""
import pytest
from helpers import claim, run_quick
from oracles import spearman_rho


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "dauphin2014-saddles")


def test_criticality_is_checked_and_claims_follow(quick):
    _, s = quick
    crit = [r for r in s["table"] if r["kind"] == "critical point"]
    for r in crit:
        assert r["critical"] == (r["grad_norm"] <= 1e-2 * r["start_grad_norm"])
    ok = [r for r in crit if r["critical"]]
    c = claim(s, "index_grows")
    if len(ok) >= 4:
        rho = spearman_rho([r["loss"] for r in ok], [r["index"] for r in ok])
        assert c["measured"]["per seed"]["0"]["rho"] == pytest.approx(rho, abs=1e-3)
        assert c["held"] == (rho > 0.5)
    else:
        assert c["status"] == "not evaluable" and "criticality" in c["reason"]


def test_initialization_is_a_high_index_point(quick):
    # The index at initialization was 0.30–0.45 on every quick run seen; at the end of SGD 0.03–0.06
    # (AVX2 vs AVX-512 machines differ in the third digit): only the robust side is asserted.
    _, s = quick
    traj = [r for r in s["table"] if r["kind"] == "trajectory"]
    assert traj[0]["step"] == 0 and traj[0]["index"] > 0.2
    assert traj[-1]["index"] < 0.5 * traj[0]["index"]
