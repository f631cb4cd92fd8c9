"""The optimization presets, --quick: complete reports, claims recomputed from their own tables,
and the phenomena that are robust on the quick runs asserted."""
import numpy as np
import pytest
from preset_checks import check_report
from scipy import stats

from dlscope.experiments import run_preset


def _run(tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    s = run_preset(name, quick=True, out=out)
    check_report(out, s)
    return out, s


def _claim(s, word):
    return next(c for c in s["claims"] if word in c["claim"])


def test_keskar2017(tmp_path_factory):
    _, s = _run(tmp_path_factory, "keskar2017-large-batch")
    sb = [r for r in s["table"] if r["run"].startswith("SB")]
    lb = [r for r in s["table"] if r["run"].startswith("LB")]
    lam = _claim(s, "λ_max")
    assert lam["held"] == (np.mean([r["lambda_max"] for r in lb]) > np.mean([r["lambda_max"] for r in sb]))
    acc = _claim(s, "test accuracy")
    assert acc["held"] == (np.mean([r["test_acc"] for r in lb]) < np.mean([r["test_acc"] for r in sb]))
    assert all(r["fitted"] for r in s["table"])
    assert lb[0]["batch"] == 200 and sb[0]["batch"] == 64  # 10% of the 2000-example quick subset
    line = s["interpolation"]["train"]
    assert min(line["alpha"]) == -1 and max(line["alpha"]) == 2


def test_garipov2018(tmp_path_factory):
    _, s = _run(tmp_path_factory, "garipov2018-mode-connectivity")
    rows = {r["path"]: r for r in s["table"]}
    assert _claim(s, "straight line")["measured"]["loss_barrier"] == pytest.approx(rows["linear"]["loss_barrier"],
                                                                                  abs=1e-4)
    assert _claim(s, "Bezier")["held"] == (rows["bezier"]["loss_barrier"] < 0.05)
    # robust on every run: training the curve removes almost all of the straight line's barrier
    assert rows["bezier"]["loss_barrier"] < 0.1 * rows["linear"]["loss_barrier"]
    assert rows["neb"]["loss_barrier"] < 0.1 * rows["linear"]["loss_barrier"]


def test_jastrzebski2017(tmp_path_factory):
    _, s = _run(tmp_path_factory, "jastrzebski2017-lr-batch")
    fitted = [r for r in s["table"] if r["fitted"]]
    assert len(s["table"]) == 4
    rho = stats.spearmanr([r["lr_over_B"] for r in fitted], [r["lambda_max"] for r in fitted]).statistic
    c = _claim(s, "flatter")
    assert c["measured"]["rho"] == pytest.approx(rho, abs=1e-3) and c["held"] == (rho <= -0.5)
    assert all(r["trace_sigma"] > 0 and r["trace_sigma_stderr"] > 0 for r in s["table"])


def test_dauphin2014(tmp_path_factory):
    _, s = _run(tmp_path_factory, "dauphin2014-saddles")
    crit = [r for r in s["table"] if r["kind"] == "critical point"]
    traj = [r for r in s["table"] if r["kind"] == "trajectory"]
    rho = stats.spearmanr([r["loss"] for r in crit], [r["index"] for r in crit]).statistic
    assert _claim(s, "critical points")["measured"]["rho"] == pytest.approx(rho, abs=1e-3)
    # robust: the initialization is a high-index point, the trained net a low-index one
    assert traj[0]["index"] > 0.2 > 0.05 > traj[-1]["index"]
    assert all(r["grad_norm"] < r["start_grad_norm"] or r["start_grad_norm"] < 1e-2 for r in crit)


def test_li2018(tmp_path_factory):
    _, s = _run(tmp_path_factory, "li2018-landscape")
    r, p = s["table"]
    assert (r["net"], p["net"]) == ("residual", "plain")
    assert _claim(s, "more convex")["held"] == (r["nonconvex_fraction"] < p["nonconvex_fraction"])
    assert _claim(s, "|λ_min/λ_max|")["held"] == (r["abs_min_over_max"] < p["abs_min_over_max"])
    for row in (r, p):
        assert row["slice_max"] > row["slice_center"]  # the solution sits in a basin of the slice
        assert row["lambda_min"] < row["lambda_max"]


def test_nonconvex_fraction_closed_forms():
    from dlscope.experiments.li2018 import nonconvex_fraction

    a = np.linspace(-1, 1, 21)
    A, B = np.meshgrid(a, a, indexing="ij")
    assert nonconvex_fraction(A**2 + 2 * B**2, 0.1) == 0.0  # convex bowl
    assert nonconvex_fraction(A**2 - B**2, 0.1) == 1.0  # saddle everywhere
    assert nonconvex_fraction(np.cos(3 * A), 0.1) == pytest.approx(np.mean(np.cos(3 * a[1:-1]) > 0), abs=0.06)
