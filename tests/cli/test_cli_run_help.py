"""``dlscope run`` for a person (issue 13): PRESET --help lists the keys with defaults and comments, the
default --out cannot collide with another configuration, and progress is a line per sub-run in logs."""
import io
import json

import pytest

from dlscope.cli import progress_mode, default_out, main, planned_subruns
from dlscope.experiments import discover, get, make_config, parse_overrides
from dlscope.experiments.describe import describe_keys, field_comments
from dlscope.experiments.progress import RunProgress


def test_run_preset_help_lists_keys_defaults_quick_values_and_comments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "zhang2017-random-labels", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--set KEY=VALUE" in out and "environment:" in out  # the usual help first
    line = next(s for s in out.splitlines() if s.strip().startswith("max_steps = "))
    assert "20000 [4000]" in line and "budget per run, in SGD steps" in line
    assert "  SGD (names as in TrainConfig):" in out and "  data:" in out


@pytest.mark.parametrize("name", sorted(discover()))
def test_every_preset_key_is_described(name):
    preset = get(name)
    text = describe_keys(preset)
    comments = field_comments(preset.Config)
    lines = text.splitlines()
    for f in preset.Config.__dataclass_fields__:  # every key listed, with the comment its line has in the source
        line = next(ln for ln in lines if ln.startswith(f"    {f} = "))
        assert line.endswith(comments[f][1]), (line, comments[f])


def _out(name, quick=True, **sets):
    preset = get(name)
    config = make_config(preset, parse_overrides(preset.Config, [f"{k}={v}" for k, v in sets.items()]), quick)
    return default_out(preset, config, quick)


def test_default_out_depends_on_the_configuration_only():
    plain = _out("zhang2017-random-labels")
    assert str(plain) == "runs/zhang2017-random-labels-quick"
    assert str(_out("zhang2017-random-labels", quick=False)) == "runs/zhang2017-random-labels"
    assert _out("zhang2017-random-labels", lr=0.02) == plain  # the default, spelled out
    mnist = _out("zhang2017-random-labels", data="mnist")
    assert mnist.name.startswith("zhang2017-random-labels-quick-") and len(mnist.name.rsplit("-", 1)[1]) == 8
    assert _out("zhang2017-random-labels", data="mnist") == mnist != _out("zhang2017-random-labels", data="fashion-mnist")


@pytest.mark.parametrize("name", sorted(discover()))
def test_every_preset_has_a_sub_run_count(name):
    preset = get(name)
    for quick in (False, True):
        n = planned_subruns(name, make_config(preset, {}, quick))
        assert isinstance(n, int) and n >= 0  # 0: the preset trains no net (math presets)


def test_sub_run_count_of_a_small_zhang_grid():
    preset = get("zhang2017-random-labels")
    cfg = make_config(preset, parse_overrides(preset.Config, ["variants=true_labels,random_labels", "fractions=0,1"]),
                      True)
    assert planned_subruns(preset.name, cfg) == 2


def test_progress_lines_for_logs(tmp_path):
    runs = tmp_path / "runs"
    for name in ("done_before", "a", "b"):
        (runs / name).mkdir(parents=True)
    (runs / "done_before" / "summary.json").write_text("{}")
    (runs / "a" / "metrics.jsonl").write_text(json.dumps({"step": 10, "train_acc": 0.5}) + "\n")
    stream = io.StringIO()
    p = RunProgress(stream, "lines", runs, total=3)
    for s in range(1, 11):
        p("a", s, 10)
    p("path bezier (0, 1)", 0, 1)
    p("path bezier (0, 1)", 1, 1)
    p("b", 1, 5)
    p.close()
    lines = stream.getvalue().splitlines()
    assert [ln.rsplit(",", 1)[0] for ln in lines] == [
        "run 2/3 a: step 10, train acc 0.50", "path bezier (0, 1): step 1", "run 3/3 b: step 1"]
    assert all(ln.endswith(" s") for ln in lines)
    beat = io.StringIO()
    q = RunProgress(beat, "lines", runs, total=None, heartbeat_s=0.0)
    q("a", 3, 10)
    assert beat.getvalue().startswith("run 2 a: step 3/10, train acc 0.50")  # during a long run, and no total
    silent = io.StringIO()
    RunProgress(silent, "off", runs, 3)("a", 1, 10)
    assert silent.getvalue() == ""


@pytest.mark.parametrize("value,mode", [("0", "off"), ("lines", "lines"), ("bar", "bar"), ("1", "bar"), ("", "lines")])
def testprogress_mode_from_the_environment(monkeypatch, value, mode):
    monkeypatch.setenv("DLSCOPE_PROGRESS", value)
    assert progress_mode() == mode  # stderr is captured by pytest: not a terminal
