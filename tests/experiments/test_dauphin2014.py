"""dauphin2014-saddles, --quick: only critical points enter the claims; claims recomputed from the table."""
import json

import pytest
from helpers import claim, run_quick
from oracles import spearman_rho


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "dauphin2014-saddles")


def _config(out):
    return json.loads((out / "config.json").read_text())["config"]


def test_criticality_is_checked_and_claims_follow(quick):
    out, s = quick
    cfg = _config(out)
    crit = [r for r in s["table"] if r["kind"] == "critical point"]
    for r in crit:
        assert r["critical"] == (r["grad_norm"] <= cfg["critical_tol"] * r["start_grad_norm"])
    ok = [r for r in crit if r["critical"]]
    c = claim(s, "index_grows")
    if len(ok) >= cfg["min_points"]:
        rho = spearman_rho([r["loss"] for r in ok], [r["index"] for r in ok])
        assert c["measured"]["per seed"]["0"]["rho"] == pytest.approx(rho, abs=1e-3)
        assert c["held"] == (rho > cfg["rho_min"])
    else:
        assert c["status"] == "not evaluable" and "criticality" in c["reason"]


def test_the_critical_points_are_critical(quick):
    # Issue 14, item 9: the old search (Adam on ‖∇L‖²) stopped at 12–25% of the starting ‖∇L‖ and its points
    # were accepted at 1e-2. Now a Newton-type search (Newton-MR, float64) and a tolerance of 1e-6 relative
    # to the start: measured on the quick MLP, 3 of 5 starts reached ≤ 3e-7 (the others stalled at 2e-3 and
    # 1e-2, gradient-flat points, not accepted). Asserted: the tolerance is ≤ 1e-6 and ≥ 2 starts meet it.
    out, s = quick
    cfg = _config(out)
    assert cfg["critical_tol"] <= 1e-6 and cfg["critical_method"] in ("newton-mr", "levenberg-marquardt")
    crit = [r for r in s["table"] if r["kind"] == "critical point"]
    ok = [r for r in crit if r["critical"]]
    assert len(ok) >= 2, [(r["start_s"], r["grad_norm"] / r["start_grad_norm"]) for r in crit]
    assert all(r["grad_norm"] <= 1e-6 * r["start_grad_norm"] for r in ok)


def test_initialization_is_a_high_index_point(quick):
    # The index at initialization was 0.30–0.45 on every quick run seen; at the end of SGD 0.03–0.06
    # (AVX2 vs AVX-512 machines differ in the third digit): only the robust side is asserted.
    _, s = quick
    traj = [r for r in s["table"] if r["kind"] == "trajectory"]
    assert traj[0]["step"] == 0 and traj[0]["index"] > 0.2
    assert traj[-1]["index"] < 0.5 * traj[0]["index"]
