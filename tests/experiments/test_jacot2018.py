"""jacot2018-ntk-width, --quick: every claim recomputed from the table (scipy slopes per seed); the
phenomena themselves — the NTK error, the kernel's movement and the deviations from the linear model
all fall with width on every seed."""
import pytest
from helpers import claim, run_quick
from oracles import loglog_slope_stats


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "jacot2018-ntk-width")


def _stats(s, depth, key):
    return loglog_slope_stats(s["table"], "width", key, where=lambda r: r["depth"] == depth)


def test_claims_follow_from_the_table(quick):
    _, s = quick
    depths = sorted({r["depth"] for r in s["table"]})
    assert depths == [1, 2]
    ok = {"ntk_converges": True, "kernel_frozen": True, "net_is_linear": True, "net_is_kernel": True}
    for d in depths:
        for key, metric in (("ntk_converges", "ntk_rel_error"), ("kernel_frozen", "kernel_distance"),
                            ("net_is_linear", "net_vs_linearized"), ("net_is_kernel", "net_vs_kernel")):
            m, se = _stats(s, d, metric)
            got = claim(s, key)["measured"][f"depth {d}"]
            assert got["slope"] == pytest.approx(m, abs=1e-3) and got["se"] == pytest.approx(se, abs=1e-3)
            ok[key] &= m < -2 * se and (key != "ntk_converges" or abs(m + 0.5) <= 0.15)
    trained = all(not r["diverged"] and r["train_loss"] < 0.25 and r["lin_train_loss"] < 0.25 for r in s["table"])
    assert claim(s, "trained")["held"] == trained
    for key, held in ok.items():
        assert claim(s, key)["held"] == held, key


def test_wide_nets_are_linear_models(quick):
    # Per-seed slopes seen on quick runs (2 seeds each, both depths): NTK error −0.45…−0.62, kernel
    # distance −1.5…−2.1, net vs linearization −0.65…−0.77, net vs kernel −0.41…−0.54. Asserted per seed
    # from the narrowest to the widest net (width ratio r = 16 or 4) as decays faster than r^−¼, r^−1,
    # r^−0.3 and r^0 — each at least twice the margin the slowest seed left.
    _, s = quick
    rows = s["table"]
    for d in (1, 2):
        for seed in {r["seed"] for r in rows}:
            mine = sorted((r for r in rows if r["depth"] == d and r["seed"] == seed), key=lambda r: r["width"])
            lo, hi = mine[0], mine[-1]
            ratio = hi["width"] / lo["width"]
            assert hi["ntk_rel_error"] < lo["ntk_rel_error"] * ratio ** -0.25
            assert hi["kernel_distance"] < lo["kernel_distance"] / ratio
            assert hi["net_vs_linearized"] < lo["net_vs_linearized"] * ratio ** -0.3
            assert hi["net_vs_kernel"] < lo["net_vs_kernel"]
    widest = [r for r in rows if r["depth"] == 1 and r["width"] == max(x["width"] for x in rows)]
    assert all(r["net_vs_linearized"] < 0.05 and r["net_vs_kernel"] < 0.15 for r in widest)
