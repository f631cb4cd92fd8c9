"""The random-labels preset, --quick: the phenomena of Zhang et al. 2017 hold, and the report is complete."""
import json

import pytest
from preset_checks import check_report

from dlscope.experiments import run_preset


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("zhang")
    return out, run_preset("zhang2017-random-labels", quick=True, out=out)


def test_quick_claims_hold(quick):
    _, s = quick
    assert len(s["claims"]) == 4
    by = {c["claim"][:20]: c for c in s["claims"]}
    failed = [c for c in s["claims"] if not c["held"]]
    assert not failed, failed
    slow = next(c for c in s["claims"] if "longer" in c["claim"])
    assert slow["measured"]["slowdown"] > 1
    assert len(by) == 4


def test_report_files_and_table(quick):
    out, s = quick
    check_report(out, s)
    assert s["figures"] == ["figures/figure1.png"]
    assert len(s["table"]) == 9  # 5 variants + 4 intermediate corruption levels
    assert json.loads((out / "summary.json").read_text())["claims"] == s["claims"]
    assert (out / "figures/figure1.png").stat().st_size > 20_000
    assert "data:image/png;base64" in (out / "report.html").read_text()
    for run in ("true_labels", "random_labels_p0.4", "gaussian"):
        assert (out / "runs" / run / "checkpoint.safetensors").exists()
