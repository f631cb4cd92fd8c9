"""What every preset run must leave behind, checked the same way for all presets."""
import json

KEYS = {"claim", "source", "expected", "measured", "held"}


def check_report(out, summary) -> None:
    """Config, env, summary (equal to what run_preset returned), both reports with the figures
    inlined, every listed figure present, and claims with exactly the five keys."""
    for f in ("config.json", "env.json", "summary.json", "report.md", "report.html", *summary["figures"]):
        assert (out / f).exists(), f
    assert json.loads((out / "summary.json").read_text())["claims"] == summary["claims"]
    assert summary["figures"] and "data:image/png;base64" in (out / "report.html").read_text()
    assert summary["claims"] and all(set(c) == KEYS and isinstance(c["held"], bool) for c in summary["claims"])
