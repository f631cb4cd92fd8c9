"""garipov2018-mode-connectivity, --quick: barriers recomputed from the table; the phenomenon itself."""
import pytest
from helpers import claim, run_quick


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_quick(tmp_path_factory, "garipov2018-mode-connectivity")


def test_claims_follow_from_the_table(quick):
    _, s = quick
    paths = {r["path"]: r for r in s["table"] if r["pair"] is not None}
    assert claim(s, "linear")["held"] == (paths["linear"]["error_barrier"] > 0.1)
    for m in ("bezier", "neb"):
        b = paths[m]["loss_barrier"]
        assert claim(s, m)["held"] == (b < 0.05 and b < 0.1 * paths["linear"]["loss_barrier"])


def test_trained_paths_remove_the_barrier(quick):
    # On every quick run seen (3 seeds) the line's loss barrier was 1.5–3 and the curves' < 0.02.
    _, s = quick
    paths = {r["path"]: r for r in s["table"] if r["pair"] is not None}
    assert paths["linear"]["loss_barrier"] > 0.5
    assert paths["bezier"]["loss_barrier"] < 0.2 * paths["linear"]["loss_barrier"]
    assert paths["neb"]["loss_barrier"] < 0.2 * paths["linear"]["loss_barrier"]
