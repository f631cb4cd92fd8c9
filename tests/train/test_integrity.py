"""Issue 17: files of a run directory verify themselves, and a corrupt one is re-derived, never used.

Each corruption class of the issue is applied to a real run directory of ``fit``: the checkpoint
(a byte of each tensor payload, the metadata, the ``step``, truncations), the summary
(``steps_to_fit``), the metrics rows (an unreadable row, a truncation). The test checks that the
corruption is detected (one line naming the file) and that the result equals the uncorrupted
run's (training is deterministic, so re-derivation reproduces it bit for bit).
"""
import json
import math
import shutil

import pytest
import torch

from dlscope import data as D
from dlscope import models as M
from dlscope.train import (IntegrityError, RunDir, TrainConfig, fit, load_checkpoint, read_checkpoint, read_json,
                           save_checkpoint, write_json)
from helpers import fingerprint_equal, state_fingerprint

CFG = TrainConfig(max_steps=60, batch_size=48, lr=0.05, eval_every=20, augment=True)


@pytest.fixture(scope="module")
def small():
    return D.load("mnist1d", n_train=300, n_test=100, seed=0)


def _model(ds, seed=0):
    torch.manual_seed(seed)
    return M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(32,), dropout=0.2)


@pytest.fixture(scope="module")
def ref(small, tmp_path_factory):
    path = tmp_path_factory.mktemp("ref")
    return fit(_model(small), small, CFG, run_dir=path), path


def _header(raw: bytes):
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n]), 8 + n


def _flip(path, pos):
    raw = bytearray(path.read_bytes())
    raw[pos] ^= 0x01
    path.write_bytes(bytes(raw))


def _interrupted(small, path, at=47):
    """A run killed between its checkpoints at 40 and 60 (as a SIGKILL would leave it)."""
    class Killed(Exception):
        pass

    def die(step, total):
        if step == at:
            raise Killed

    with pytest.raises(Killed):
        fit(_model(small), small, CFG, run_dir=path, progress=die)


def _same_as_ref(res, ref_res, path):
    assert res.metrics == ref_res.metrics and res.steps == ref_res.steps
    assert RunDir(path).metrics.read_text() == RunDir(ref_res.run_dir).metrics.read_text()


def test_checkpoint_detects_every_corruption_and_loads_nothing(tmp_path):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.SGD(m.parameters(), lr=0.125, momentum=0.9)
    m(torch.randn(8, 3)).pow(2).sum().backward()
    opt.step()
    good = tmp_path / "c.safetensors"
    save_checkpoint(good, m, opt, 375, {"k": 1})
    raw = good.read_bytes()
    table, start = _header(raw)
    cases = {}
    for name, info in table.items():  # one byte of every tensor payload (weights, BN buffers, momentum)
        if name != "__metadata__" and info["data_offsets"][1] > info["data_offsets"][0]:
            b = bytearray(raw)
            b[start + info["data_offsets"][0]] ^= 0x01
            cases[f"payload {name}"] = bytes(b)
    cases["step 375 -> 275"] = raw.replace(b'"step":"375"', b'"step":"275"')
    cases["metadata lr"] = raw.replace(b'\\"lr\\": 0.125', b'\\"lr\\": 0.126')
    cases["shape"] = raw.replace(b'"shape":[4,3]', b'"shape":[3,4]')
    for cut in (0, 7, start // 2, start + 3, len(raw) - 1):
        cases[f"truncated to {cut}"] = raw[:cut]
    cases["extended"] = raw + b"\0"
    assert all(v != raw for v in cases.values()) and len(cases) >= 14
    for what, data in cases.items():
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(data)
        m2 = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
        opt2 = torch.optim.SGD(m2.parameters(), lr=0.5)
        before = state_fingerprint(m2)
        with pytest.raises(IntegrityError) as e:
            load_checkpoint(bad, m2, opt2)
        assert "\n" not in str(e.value) and str(bad) in str(e.value), what
        assert fingerprint_equal(before, state_fingerprint(m2)) and not opt2.state, what
    assert load_checkpoint(good, m, opt)[0] == 375


def test_json_digest_detects_edits_and_truncation(tmp_path):
    p = tmp_path / "s.json"
    write_json(p, {"steps_to_fit": 375, "x": [1.5, "nan"]}, digest=True)
    assert read_json(p, required=True) == {"steps_to_fit": 375, "x": [1.5, "nan"]}
    text = p.read_text()
    for bad in (text.replace("375", "275"), text[: len(text) // 2], text.replace('"x"', '"y"')):
        p.write_text(bad)
        with pytest.raises(IntegrityError, match="s.json"):
            read_json(p)
    p.write_text('{"a": 1}')
    assert read_json(p) == {"a": 1}  # other JSON reads as before
    with pytest.raises(IntegrityError, match="no sha256"):
        read_json(p, required=True)


def test_finished_run_with_edited_summary_is_rederived(small, ref, tmp_path):
    ref_res, ref_path = ref
    shutil.copytree(ref_path, tmp_path / "r")
    s = RunDir(tmp_path / "r").summary
    s.write_text(s.read_text().replace('"steps": 60', '"steps": 50'))
    res = fit(_model(small), small, CFG, run_dir=tmp_path / "r")
    assert "summary.json" in res.recovered and "re-derived from the intact checkpoint at step 60" in res.recovered
    _same_as_ref(res, ref_res, tmp_path / "r")
    assert read_json(s, required=True)["steps"] == 60
    assert fit(_model(small), small, CFG, run_dir=tmp_path / "r").recovered is None  # now intact


@pytest.mark.parametrize("corrupt", ["tensor", "truncate", "metrics_row"])
def test_finished_run_with_corrupt_checkpoint_or_rows_is_retrained(small, ref, tmp_path, corrupt):
    ref_res, ref_path = ref
    shutil.copytree(ref_path, tmp_path / "r")
    rd = RunDir(tmp_path / "r")
    if corrupt == "tensor":
        _flip(rd.checkpoint, len(rd.checkpoint.read_bytes()) - 5)
    elif corrupt == "truncate":
        rd.checkpoint.write_bytes(rd.checkpoint.read_bytes()[:1000])
    else:
        lines = rd.metrics.read_text().splitlines(keepends=True)
        rd.metrics.write_text(lines[0] + "{not json\n" + "".join(lines[2:]))
    m = _model(small)
    res = fit(m, small, CFG, run_dir=tmp_path / "r")
    assert res.recovered.endswith("retrained from scratch") and str(rd.path) in res.recovered
    _same_as_ref(res, ref_res, rd.path)
    ref_params = [p for p in _loaded(small, ref_path)]
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), ref_params))


def _loaded(ds, run):
    m = _model(ds, seed=5)
    load_checkpoint(RunDir(run).checkpoint, m, torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))
    return list(m.parameters())


@pytest.mark.parametrize("corrupt", ["step", "payload", "metrics_row", "metrics_truncated", "none"])
def test_interrupted_run_resumes_only_from_an_intact_checkpoint(small, ref, tmp_path, corrupt):
    ref_res, _ = ref
    path = tmp_path / "cut"
    _interrupted(small, path)
    rd = RunDir(path)
    raw = rd.checkpoint.read_bytes()
    if corrupt == "step":  # the case: resumed at an earlier step with later weights
        rd.checkpoint.write_bytes(raw.replace(b'"step":"40"', b'"step":"20"'))
    elif corrupt == "payload":
        _flip(rd.checkpoint, _header(raw)[1] + 1)
    elif corrupt == "metrics_row":  # an unreadable row before the checkpoint
        lines = rd.metrics.read_text().splitlines(keepends=True)
        rd.metrics.write_text("\x00\x01garbage\n" + "".join(lines[1:]))
    elif corrupt == "metrics_truncated":
        rd.metrics.write_bytes(rd.metrics.read_bytes()[:-40])
    stale = [path / ".checkpoint.safetensors.ab_cd123.tmp", path / ".keep.tmp", path / "notes.tmp"]
    for p in stale:
        p.write_text("x")
    # resumed, the checkpoint decides (a wrong init would show); retrained, the seeded init does
    res = fit(_model(small, seed=99 if corrupt == "none" else 0), small, CFG, run_dir=path)
    if corrupt == "none":
        assert res.resumed_from == 40 and res.recovered is None
    else:
        assert res.resumed_from is None and res.recovered.endswith("retrained from scratch")
        assert ("checkpoint" if corrupt in ("step", "payload") else "metrics.jsonl") in res.recovered
    _same_as_ref(res, ref_res, path)
    assert [p.exists() for p in stale] == [False, True, True]  # only the writer's own pattern is removed


def test_checkpoint_records_config_and_rows(small, ref):
    _, path = ref
    _, meta = read_checkpoint(RunDir(path).checkpoint)
    extra = json.loads(meta["extra"])
    assert extra["metrics_rows"] == 3 and len(extra["metrics_sha256"]) == 64 and extra["initial_loss"] > 0
    assert RunDir(path).read_metrics()[-1]["step"] == 60


def test_divergence_rule_flags_finite_explosions(small, tmp_path):
    """lr = 3 on a 64-unit MLP: finite training losses of 320–441 at step 10 over seeds 0–2
    (≥ 100× the initial ≈ 2.3), far above the 10× rule; lr = 1 reaches 25–131 by step 40–50."""
    torch.manual_seed(0)
    m = M.build("mlp", input_shape=small.input_shape, num_classes=10, widths=(64,))
    r = fit(m, small, TrainConfig(max_steps=200, batch_size=64, lr=3.0, eval_every=10), run_dir=tmp_path / "d")
    assert r.diverged and r.steps < 200 and math.isfinite(r.final["train_loss"])
    assert "× the initial" in r.diverged_reason
    s = read_json(tmp_path / "d" / "summary.json", required=True)
    assert s["diverged"] is True and s["diverged_reason"] == r.diverged_reason
