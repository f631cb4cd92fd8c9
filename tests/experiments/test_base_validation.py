"""Issues 15 and 17: every Config value validated before anything is written.

Every ``--set`` value a user can give is either refused — exit 2, exactly one line on stderr,
no ``--out`` directory created — or is a value that makes sense. The classes the issue's fuzz
found (bad devices, negative momentum or weight decay, width ≤ 0, ``n_train`` ≤ 0, seeds ≥ 2⁶³,
missing data files, NaN/inf anywhere, momentum ≥ 1, a target accuracy above 1, empty grids, a net
so large it runs for hours) are tested one by one, then a Hypothesis fuzz draws combinations over
every preset's Config and checks the same contract against an independent validity oracle.
"""
import dataclasses
import math
import os
import subprocess
import sys
import typing

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlscope import models
from dlscope.cli import main
from dlscope.data import NAMES, SOURCES
from dlscope.experiments import PRESETS, discover, parse_overrides
from dlscope.experiments.recipe import size_kwargs
from dlscope.train import TrainConfig

ZHANG = "zhang2017-random-labels"


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """An empty data folder: a file-backed dataset is missing."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DLSCOPE_DATA", str(tmp_path / "empty"))


class _Accepted(Exception):
    """Raised by the stubbed preset ``run``: validation passed and run_preset began running it."""


@pytest.fixture
def stub_runs(monkeypatch):
    """Every preset's ``run`` raises _Accepted: an accepted config stops where training would start."""
    for n, p in discover().items():
        monkeypatch.setitem(PRESETS, n, dataclasses.replace(p, run=lambda *a: (_ for _ in ()).throw(_Accepted())))


def _refused(capsys, args, out) -> str:
    try:
        code = main(["run", *args, "--out", str(out)])
    except _Accepted:
        pytest.fail(f"accepted {args}")
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dlscope: error:"), (args, code, cap.err)
    assert not out.exists() and not cap.out, args
    return lines[0]


ISSUE_CASES = [  # (--set values, a word the one line must contain); the issue's classes
    (["device=cuda:7"], "device"), (["device=tpu"], "device"), (["device=cpu:0"], "device"),
    (["momentum=-0.1"], "momentum"), (["momentum=1"], "momentum"), (["weight_decay=-1e-4"], "weight_decay"),
    (["weight_decay=nan"], "weight_decay"), (["width=0"], "width"), (["width=-3"], "width"),
    (["n_train=0"], "n_train"), (["n_train=-1"], "n_train"), (["seeds=9223372036854775808"], "seeds"),
    (["seeds=0,-1"], "seeds"), (["data=mnist"], "not found"), (["data_root=/nonexistent/dlscope"], "data_root"),
    (["target_train_acc=2"], "target_train_acc"), (["target_train_acc=nan"], "target_train_acc"),
    (["lr=nan"], "lr"), (["lr=inf"], "lr"), (["lr=0"], "lr"), (["chance_z=nan"], "chance_z"),
    (["variants=", "fractions="], "variants"), (["fractions="], "fractions"), (["seeds="], "seeds"),
    (["width=100000"], "parameters"), (["depth=500"], "depth"), (["max_steps=0"], "max_steps"),
    (["slowdown_band=1.2,inf"], "slowdown_band"), (["eval_every=-5"], "eval_every"),
]


@pytest.mark.parametrize("sets,word", ISSUE_CASES, ids=[" ".join(s) for s, _ in ISSUE_CASES])
def test_issue_classes_are_one_line_exit_2_nothing_written(tmp_path, capsys, no_data, stub_runs, sets, word):
    line = _refused(capsys, [ZHANG, *[a for s in sets for a in ("--set", s)]], tmp_path / "o")
    assert word in line


def test_out_is_a_file(tmp_path, capsys, stub_runs):
    f = tmp_path / "file"
    f.write_text("mine")
    try:
        code = main(["run", ZHANG, "--out", str(f)])
    except _Accepted:
        pytest.fail("accepted a file as --out")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is a file" in err[0] and f.read_text() == "mine"
    assert not any(p.name != "file" for p in tmp_path.iterdir())


def test_out_on_a_read_only_filesystem(tmp_path, capsys, stub_runs):
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes through permissions: a read-only mount is the only way to say no
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)],
                          capture_output=True).returncode != 0:
            pytest.skip("running as root and cannot mount a read-only tmpfs here")
    else:
        ro.chmod(0o555)
    try:
        line = _refused(capsys, [ZHANG], ro / "o")
        assert "not a writable directory" in line
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], check=True)
        ro.chmod(0o755)


def test_every_config_field_has_a_rule():
    """The one place: a field of a preset Config that no rule covers fails here, naming it."""
    from dlscope.experiments.validate import PRESET_CHECKED, rule_for

    missing = [f"{name}.{f.name}" for name, p in discover().items() for f in dataclasses.fields(p.Config)
               if rule_for(f.name) is None and f.name not in PRESET_CHECKED | {"device", "data_root"}]
    assert not missing, f"add a rule to dlscope.experiments.validate.FIELD_RULES for {missing}"


@pytest.mark.parametrize("model,kw,shape", [
    ("mlp", {"widths": (16, 8)}, (40,)), ("cnn", size_kwargs("cnn", 32, 2), (40,)),
    ("cnn", size_kwargs("cnn", 8, 3), (3, 32, 32)), ("cnn", size_kwargs("cnn", 5, 2), (1, 28, 28)),
    ("conv1d", size_kwargs("conv1d", 7, 3), (40,)), ("conv1d", {}, (1, 41)), ("resnet", {"depth": 8}, (40,))])
def test_parameter_estimate_equals_a_real_build(model, kw, shape):
    from dlscope.experiments.validate import estimate_parameters

    net = models.build(model, input_shape=shape, num_classes=10, **kw)
    assert estimate_parameters(model, kw, shape) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("kw", [dict(lr=float("nan")), dict(momentum=1.0), dict(momentum=-0.1), dict(seed=2 ** 63),
                                dict(device="cuda:x"), dict(target_train_acc=2), dict(weight_decay=float("inf")),
                                dict(max_steps=1.5), dict(target_train_loss=0), dict(milestones=(-1,))])
def test_trainconfig_refuses(kw):
    with pytest.raises(ValueError):
        TrainConfig(**kw)


# ---- the fuzz -------------------------------------------------------------------------------------

def _number(raw: str):
    try:
        return float(raw)
    except ValueError:
        return None


def _oracle_invalid(name: str, key: str, raw: str, typ) -> bool:
    """Independent of dlscope.experiments.validate: values the issue lists as making no sense."""
    items = [s for s in raw.replace(" ", "").strip("()[]").split(",") if s] \
        if typing.get_origin(typ) is tuple else [raw.strip()]
    if typing.get_origin(typ) is tuple and not items:
        return dataclasses.fields(PRESETS[name].Config)[[f.name for f in dataclasses.fields(
            PRESETS[name].Config)].index(key)].default != ()
    for s in items:
        x = _number(s)
        if x is not None and not math.isfinite(x):
            return True
        if key == "device" and s not in ("cpu",):
            return True  # no CUDA in the tests
        optional_none = type(None) in typing.get_args(typ) and s.lower() in ("", "none", "null")
        if key == "data" and not optional_none and (s not in NAMES or s in SOURCES):
            return True  # file-backed sets are missing (DLSCOPE_DATA is an empty folder)
        if key == "data_root" and s.lower() not in ("", "none", "null") and not os.path.isdir(s):
            return True
        if x is None:
            continue
        if key in ("momentum", "dropout", "dropouts") and not 0 <= x < 1:
            return True
        if key in ("lr", "lrs", "target_train_loss") and x <= 0:
            return True
        if key.startswith(("weight_decay",)) and x < 0:
            return True
        if key in ("target_train_acc", "fit_acc") and not 0 < x <= 1:
            return True
        if key == "seeds" and not 0 <= (int(s) if s.lstrip("-").isdigit() else x) < 2 ** 63:  # exact: 2⁶³−1 as a float is 2⁶³
            return True
        if key in ("n_train", "n_test", "width", "widths", "depth", "depths", "batch_size", "batch_sizes",
                   "max_steps", "eval_every") and x < 1:
            return True
        if key == "max_epochs" and x <= 0:  # a fraction of an epoch is a budget
            return True
    return False


RAW = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1", "2", "0.5", "1e300", "-0.0", "9223372036854775808",
                     "9223372036854775807", "", "none", "true", "abc", "0,1", "1,,2", "(", "1000000", "cuda:99",
                     "cpu", "meta", "cuda", "mnist", "mlp", "0.99", "relu", "3", "1e-9", " 7 ", "1_0", "x" * 200,
                     "/nonexistent/dir"]),
    st.integers(-5, 70).map(str), st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
    st.text(max_size=6))


@st.composite
def _overrides(draw):
    name = draw(st.sampled_from(sorted(discover())))
    keys = [f.name for f in dataclasses.fields(PRESETS[name].Config)]
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    return name, [(k, draw(RAW).replace("=", "")) for k in chosen]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_overrides())
def test_fuzz_set_every_preset(tmp_path, capsys, no_data, case):
    name, pairs = case
    out = tmp_path / f"o{abs(hash(repr(case)))}"
    args = ["run", name, *[a for k, v in pairs for a in ("--set", f"{k}={v}")], "--out", str(out)]
    hints = typing.get_type_hints(PRESETS[name].Config)
    with pytest.MonkeyPatch.context() as mp:  # an accepted config stops where the preset would start training
        for n, p in discover().items():
            mp.setitem(PRESETS, n, dataclasses.replace(p, run=lambda *a: (_ for _ in ()).throw(_Accepted())))
        try:
            code = main(args)
        except _Accepted:
            parse_overrides(PRESETS[name].Config, [f"{k}={v}" for k, v in pairs])  # parsed cleanly …
            bad = [(k, v) for k, v in pairs if _oracle_invalid(name, k, v, hints[k])]
            assert not bad, f"{name}: accepted {bad}"  # … and makes sense
            FUZZ["accepted"] += 1
            return
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dlscope: error:"), (args, cap.err)
    assert not out.exists()
    FUZZ["refused"] += 1


FUZZ = {"accepted": 0, "refused": 0}  # tallies for the closing note (read with -s or a debugger)


@pytest.mark.parametrize("sets", [["seeds=9223372036854775808", "lr=nan"]])
def test_real_cli_process_refuses_in_one_line(tmp_path, sets):
    """A sample through a real process (the fuzz calls main() in-process): same contract, no traceback."""
    out = tmp_path / "o"
    env = {**os.environ, "DLSCOPE_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "dlscope.cli", "run", ZHANG, *[a for s in sets for a in ("--set", s)],
                        "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and not p.stdout and not out.exists()
    assert "Traceback" not in p.stderr
