"""cohen2021-edge-of-stability on a test-sized override of --quick (300 examples, η = 1 only, 600 steps:
≈ 15 s of one core; --quick itself runs two step sizes for 1000 steps): the late-phase ratio is
recomputed from the stored curves, and the phenomenon itself is checked."""
import pytest
from helpers import claim, run_quick
from oracles import mean_and_se

OVERRIDE = dict(n_train=300, lrs=(1.0,), max_steps=600)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "cohen2021-edge-of-stability", **OVERRIDE)


def test_late_phase_ratio_and_claim_from_the_curves(quick):
    _, s = quick
    ratios = []
    for c in s["curves"]:
        late = [lam * c["lr"] / 2 for st, lam in zip(c["steps"], c["lambda_max"]) if st >= 450]  # last quarter of 600
        assert len(late) == 4  # steps 450, 500, 550, 600
        ratios.append(sum(late) / len(late))
    m, _ = mean_and_se(ratios)
    got = claim(s, "edge")
    assert got["measured"]["η=1"]["mean ratio"] == pytest.approx(m, abs=1e-4)
    assert got["held"] == (abs(m - 1) <= 0.1)


def test_progressive_sharpening_then_the_edge(quick):
    # Seen on the quick and test-sized runs: λ_max(θ₀) ≈ 1.2–1.5 < 2/η = 2, the edge reached by step
    # 150–250, late ratios 1.05–1.10. Asserted with margin: start below the edge, end within 25 %.
    _, s = quick
    for c in s["curves"]:
        assert c["lambda_max"][0] < 2 / c["lr"]
        assert abs(c["lambda_max"][-1] * c["lr"] / 2 - 1) < 0.25
        assert c["train_loss"][-1] < c["train_loss"][0]
    assert claim(s, "reached")["kind"] == "control"
