"""neyshabur2019-width, --quick (3 widths × 2 seeds on 1000 examples): the unit-wise distance from
initialization shrinks with width and the spectral complexity grows; claims recomputed from the table."""
import numpy as np
import pytest
import torch
from helpers import claim, run_quick
from oracles import kendall_tau_b_pairs

from dlscope.experiments.neyshabur2019 import SIGNS, unit_distances


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "neyshabur2019-width")


def test_claims_follow_from_the_table(quick):
    _, s = quick
    rows = s["table"]
    widths = sorted({r["width"] for r in rows})
    fitted = [h for h in widths if all(r["fitted"] for r in rows if r["width"] == h)]
    assert claim(s, "fitted")["held"] == (len(fitted) >= 3)
    for key, col, sign, _, _ in SIGNS:
        c = claim(s, key)
        if len(fitted) < 3:
            assert c["status"] == "not evaluable"
            continue
        pairs = [(r["width"], r[col]) for r in rows if r["width"] in fitted]
        tau = kendall_tau_b_pairs([w for w, _ in pairs], [v for _, v in pairs])
        assert c["measured"]["tau"] == pytest.approx(tau, abs=1e-3)
        assert c["held"] == (np.sign(tau) == sign and c["measured"]["p"] < 0.05)


def test_the_phenomenon(quick):
    # Measured (seeds 0, 1; widths 64, 256, 1024, 1000 examples): mean unit distance 2.34 → 0.88 → 0.33 (≈ 2.6×
    # per 4× width), log spectral complexity 7.85 → 8.12 → 8.79; asserted with room: ≥ 1.5× per step.
    _, s = quick
    for seed in (0, 1):
        rows = sorted((r for r in s["table"] if r["seed"] == seed), key=lambda r: r["width"])
        d = [r["unit_distance"] for r in rows]
        assert all(a > 1.5 * b for a, b in zip(d, d[1:]))
        p = [r["params"] for r in rows]
        assert p == sorted(p)
        assert rows[-1]["log_spectral_complexity"] > rows[0]["log_spectral_complexity"]


def test_unit_distances_by_hand():
    torch.manual_seed(0)
    init = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    d = unit_distances(net, init)
    w, b, w0, b0 = (t.detach() for t in (net[0].weight, net[0].bias, init[0].weight, init[0].bias))
    rows = [torch.cat([w[i] - w0[i], (b[i] - b0[i])[None]]).norm() for i in range(4)]
    assert d["unit_distance"] == pytest.approx(float(sum(rows) / 4), rel=1e-6)
    assert d["unit_distance_max"] == pytest.approx(float(max(rows)), rel=1e-6)
    v = net[2].weight.detach()
    assert d["outgoing_norm"] == pytest.approx(float(sum(v[:, i].norm() for i in range(4)) / 4), rel=1e-6)
