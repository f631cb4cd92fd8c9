"""Issue 17 at the preset level: every corruption class of the issue, applied to a real preset run
directory (zhang2017, two tiny sub-runs), is detected — ``dlscope verify`` names the file, exit 1 —
and the rerun's result equals the uncorrupted run's, with one line saying what was re-derived.

The states corrupted are those the issue found used silently: a *finished* sub-run of an
*unfinished* preset (checkpoint payload, metadata, ``steps_to_fit`` in its summary, a metrics row,
truncations), the *interrupted* sub-run (its checkpoint's ``step`` and payload, a metrics row), and
the preset's own ``config.json`` / ``summary.json`` of a finished run.
"""
import json
import shutil

import pytest
from matplotlib.figure import Figure

from cases import TINY_ZHANG, TINY_ZHANG_SET, stub_savefig
from dlscope.cli import main
from dlscope.experiments import run_preset

NAME = "zhang2017-random-labels"


class Stop(Exception):
    pass


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """(finished preset, interrupted preset): the second stopped inside its second sub-run at step 30."""
    mp = pytest.MonkeyPatch()
    mp.setattr(Figure, "savefig", stub_savefig)
    ref = tmp_path_factory.mktemp("ref")
    run_preset(NAME, overrides=TINY_ZHANG, out=ref)
    cut = tmp_path_factory.mktemp("cut")

    def stop(name, step, total):
        if name == "random_labels_seed0" and step == 30:
            raise Stop

    with pytest.raises(Stop):
        run_preset(NAME, overrides=TINY_ZHANG, out=cut, progress=stop)
    mp.undo()
    return ref, cut


def _result(out):
    s = json.loads((out / "summary.json").read_text())
    runs = ("true_labels_seed0", "random_labels_seed0")
    return s["claims"], s["table"], {r: (out / "runs" / r / "metrics.jsonl").read_text() for r in runs}


def _flip(path, pos):
    raw = bytearray(path.read_bytes())
    raw[pos] ^= 0x01
    path.write_bytes(bytes(raw))


def _data_start(path):
    return 8 + int.from_bytes(path.read_bytes()[:8], "little")


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _cut(path, n):
    path.write_bytes(path.read_bytes()[:n])


def _swap(old: bytes, new: bytes):
    """A same-length edit of a file's bytes (a value in a checkpoint header)."""
    def edit(p):
        data = p.read_bytes()
        assert old in data, (p, old)
        p.write_bytes(data.replace(old, new))
    return edit


def _bad_first_row(p):
    p.write_bytes(b"\xff\xfe{garbage\n" + p.read_bytes().split(b"\n", 1)[1])


T, R = "runs/true_labels_seed0", "runs/random_labels_seed0"
CORRUPTIONS = {  # name: (state, file, corruption)
    "finished sub-run: tensor payload byte": ("cut", f"{T}/checkpoint.safetensors",
                                             lambda p: _flip(p, _data_start(p) + 7)),
    "finished sub-run: metadata (lr)": ("cut", f"{T}/checkpoint.safetensors",
                                        _swap(b'\\"lr\\": 0.02', b'\\"lr\\": 0.03')),
    "finished sub-run: checkpoint step": ("cut", f"{T}/checkpoint.safetensors", _swap(b'"step":"40"', b'"step":"30"')),
    "finished sub-run: steps_to_fit in summary": ("cut", f"{T}/summary.json",
                                                  lambda p: _edit(p, '"steps_to_fit": null', '"steps_to_fit": 20')),
    "finished sub-run: unreadable metrics row": ("cut", f"{T}/metrics.jsonl", _bad_first_row),
    "finished sub-run: checkpoint truncated": ("cut", f"{T}/checkpoint.safetensors", lambda p: _cut(p, 500)),
    "finished sub-run: summary truncated": ("cut", f"{T}/summary.json", lambda p: _cut(p, 40)),
    "finished sub-run: metrics truncated": ("cut", f"{T}/metrics.jsonl", lambda p: _cut(p, 100)),
    "interrupted sub-run: checkpoint step 20 -> 10": ("cut", f"{R}/checkpoint.safetensors",
                                                      _swap(b'"step":"20"', b'"step":"10"')),
    "interrupted sub-run: tensor payload byte": ("cut", f"{R}/checkpoint.safetensors",
                                                 lambda p: _flip(p, _data_start(p) + 3)),
    "interrupted sub-run: unreadable metrics row": ("cut", f"{R}/metrics.jsonl",
                                                    lambda p: p.write_text("{\"step\": 20, broken\n")),
    "preset: config.json edited": ("ref", "config.json", lambda p: _edit(p, '"chance_z": 3.0', '"chance_z": 30.0')),
    "preset: summary.json claim flipped": ("ref", "summary.json", lambda p: _edit(p, '"status": "held"',
                                                                                   '"status": "not held"')),
    "preset: summary.json truncated": ("ref", "summary.json", lambda p: _cut(p, 200)),
}


@pytest.mark.parametrize("what", list(CORRUPTIONS))
def test_corruption_is_detected_and_rerun_equals_the_uncorrupted_run(states, tmp_path, monkeypatch, capsys, what):
    monkeypatch.setattr(Figure, "savefig", stub_savefig)
    ref, cut = states
    state, rel, corrupt = CORRUPTIONS[what]
    out, seen = tmp_path / "o", tmp_path / "v"
    shutil.copytree(ref if state == "ref" else cut, out)
    corrupt(out / rel)
    shutil.copytree(out, seen)
    code = main(["run", NAME, *TINY_ZHANG_SET, "--out", str(out)])  # the same command again
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("dlscope: note: ")]
    assert code == 0 and _result(out) == _result(ref)  # never used: the result is the uncorrupted run's
    assert len(notes) == 1 and rel.rsplit("/", 1)[-1] in notes[0], notes  # and one line says what was re-derived

    from dlscope.experiments.verify import verify_tree

    assert all(f.ok for f in verify_tree(out))
    damaged = {f.path for f in verify_tree(seen) if not f.ok}  # what `dlscope verify` says of the corrupt copy
    assert seen / rel in damaged and damaged <= {seen / rel, *(seen / r / "summary.json" for r in (T, R))}
    assert main(["verify", str(seen)]) == 1
    report = capsys.readouterr().out
    assert f"DAMAGED {rel}" in report and report.strip().splitlines()[-1].endswith(
        "damaged (rerunning the same command re-derives them)")


def test_verify_reports_an_intact_and_an_unfinished_run(states, capsys):
    ref, cut = states
    assert main(["verify", str(ref)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == f"{len([line for line in out[:-1] if not line.startswith('note')])} of " \
                      f"{len([line for line in out[:-1] if not line.startswith('note')])} files intact"
    assert main(["verify", str(cut)]) == 0  # unfinished is not damaged
    assert "the preset is unfinished" in capsys.readouterr().out
    assert main(["verify", str(ref / "figures")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_stale_temporaries_of_killed_writes_are_removed_on_resume(states, tmp_path, monkeypatch, capsys):
    """Issue 15 item 4: what a SIGKILL inside an atomic write leaves (``.report.md.<8 chars>.tmp``) is
    removed by the rerun; files that only look similar are not touched."""
    monkeypatch.setattr(Figure, "savefig", stub_savefig)
    out = tmp_path / "o"
    shutil.copytree(states[1], out)
    stale = [out / ".report.md.k3j_a9zq.tmp", out / ".summary.json.0a1b2c3d.tmp", out / T / ".env.json.zz9y8x7w.tmp"]
    kept = [out / ".report.md.tmp", out / "report.md.0a1b2c3d.tmp", out / ".notes.txt", out / "mine.tmp"]
    for p in stale + kept:
        p.write_text("x")
    assert main(["run", NAME, *TINY_ZHANG_SET, "--out", str(out)]) == 0
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
