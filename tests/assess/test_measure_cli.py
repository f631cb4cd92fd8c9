"""``dlscope measure`` end to end (issue 13): a user-defined ResNet from a torch checkpoint, a net a
dlscope run trained (RUN_DIR), refusals that are one line and write nothing, refused measures that do
not stop the others. Costs are kept small with --option (a few seconds each on one core)."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from dlscope.assess import WHAT
from dlscope.cli import MEASURES, main
from dlscope.measure import margin_from_logits

HERE = Path(__file__).resolve().parent
NETS = str(HERE / "usernets.py")
CHEAP = ["--option", "top_k=1", "--option", "trace_matvecs=12", "--option", "density_steps=8",
         "--option", "density_probes=2", "--option", "slice_steps=5", "--option", "pacbayes_samples=3",
         "--option", "layer_trace_matvecs=6"]


def _user_files(tmp_path, seed=0):
    """A TinyResNet (width 4, 3 classes, BN statistics moved off their defaults) saved as state dict, and
    a .npz of 48 labelled 1×8×8 inputs."""
    import importlib.util

    mod = sys.modules.get("usernets")
    if mod is None:  # registered so that torch.save can pickle its classes (the refusal tests need that)
        spec = importlib.util.spec_from_file_location("usernets", NETS)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["usernets"] = mod
    torch.manual_seed(seed)
    net = mod.TinyResNet(width=4, num_classes=3)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(48, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (48,), generator=g)
    with torch.no_grad():
        net.train()(x)  # running statistics ≠ (0, 1): the checkpoint must carry them
    torch.save(net.state_dict(), tmp_path / "ckpt.pt")
    np.savez(tmp_path / "data.npz", x=x.numpy(), y=y.numpy())
    return mod, net.eval(), x, y


def test_measure_names_match_the_library():
    assert tuple(WHAT) == MEASURES


def test_user_resnet_from_a_torch_checkpoint(tmp_path, capsys):
    mod, net, x, y = _user_files(tmp_path)
    out = tmp_path / "report"
    code = main(["measure", "--model", f"{NETS}:TinyResNet", "--model-arg", "width=4", "--model-arg", "num_classes=3",
                 "--weights", str(tmp_path / "ckpt.pt"), "--data", str(tmp_path / "data.npz"), "--n", "48",
                 "--what", "margins,hessian-top,trace,spectral,bounds,weights", "--per-layer", "--out", str(out), *CHEAP])
    text = capsys.readouterr()
    assert code == 0, text.err
    s = json.loads((out / "summary.json").read_text())
    by = {e["measure"]: e for e in s["measures"]}
    assert set(by) == {"margins", "hessian-top", "trace", "spectral", "bounds", "weights"}
    # R_A and the margin bound are defined for chains: the residual adds are named and refused in one line
    for name in ("spectral", "bounds"):
        assert by[name]["status"] in ("refused", "measured"), by[name]
    assert by["spectral"]["status"] == "refused" and "branches" in by["spectral"]["reason"]
    assert all(e["status"] == "measured" for e in s["measures"] if e["measure"] not in ("spectral", "bounds")), \
        [e.get("reason") for e in s["measures"]]
    # the weights were loaded: the margin percentile equals one computed here from the saved net
    with torch.no_grad():
        m = margin_from_logits(net(x), y).double()
    assert by["margins"]["value"] == pytest.approx(float(torch.quantile(m, 0.1)), rel=1e-5)
    assert by["trace"]["seed"] == 0 and by["trace"]["stderr"] > 0
    assert math.isfinite(by["weights"]["value"]) and len(s["weight_spectra"]) == 6  # stem, 4 block convs, head
    layers = {r["layer"] for r in s["per_layer"]}
    assert layers == {n.rpartition(".")[0] for n, _ in net.named_parameters()}
    assert all(r["op_norm"] is not None for r in s["per_layer"])
    for f in ("config.json", "env.json", "report.md", "report.html", *s["figures"]):
        assert (out / f).is_file(), f
    assert set(s["captions"]) == set(s["figures"]) and len(s["figures"]) == 3
    assert (out / "report.html").read_text().count("data:image/png;base64") == 3
    assert "[measured] hessian-top" in text.out and "report:" in text.out


def test_module_path_import_from_the_current_folder(tmp_path, monkeypatch, capsys):
    _user_files(tmp_path)
    monkeypatch.chdir(HERE)
    out = tmp_path / "plain"
    assert main(["measure", "--model", "usernets:PlainNet", "--data", str(tmp_path / "data.npz"), "--what", "margins",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    assert json.loads((out / "summary.json").read_text())["model"]["class"] == "PlainNet"


def _refused(args, capsys, tmp_path, *needles):
    out = tmp_path / "never"
    code = main(["measure", *args, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert all(n in err for n in needles), err
    assert not out.exists()
    return err


def test_a_pickled_custom_class_is_refused_and_runs_nothing(tmp_path, capsys):
    mod, net, _, _ = _user_files(tmp_path)
    torch.save({"state_dict": net.state_dict(), "settings": mod.Settings(0.1)}, tmp_path / "custom.pt")
    base = ["--model", f"{NETS}:TinyResNet", "--data", str(tmp_path / "data.npz")]
    _refused(base + ["--weights", str(tmp_path / "custom.pt")], capsys, tmp_path,
             "refusing to unpickle", "Settings", "weights_only=True")
    torch.save(net, tmp_path / "whole.pt")  # a pickled module: also code, also refused
    _refused(base + ["--weights", str(tmp_path / "whole.pt")], capsys, tmp_path, "refusing to unpickle", "TinyResNet")

    marker = tmp_path / "pwned"
    torch.save({"w": torch.zeros(1), "x": mod.Hostile(str(marker))}, tmp_path / "evil.pt")
    _refused(base + ["--weights", str(tmp_path / "evil.pt")], capsys, tmp_path, "refusing to unpickle", "makedirs")
    assert not marker.exists()
    # a nested state dict in a plain dict is fine
    torch.save({"epoch": 3, "model_state_dict": net.state_dict()}, tmp_path / "nested.pt")
    assert main(["measure", *base, "--weights", str(tmp_path / "nested.pt"), "--what", "margins",
                 "--out", str(tmp_path / "ok")]) == 0


def test_user_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    _, net, _, _ = _user_files(tmp_path)
    data = ["--data", str(tmp_path / "data.npz")]
    _refused(["--model", f"{NETS}:TinyResNet", "--model-arg", "width=8", "--weights", str(tmp_path / "ckpt.pt"), *data],
             capsys, tmp_path, "do not fit TinyResNet", "wrong shape")
    _refused(["--model", "no_such_pkg.nets:Net", *data], capsys, tmp_path, "cannot import 'no_such_pkg.nets'")
    _refused(["--model", f"{NETS}:Nope", *data], capsys, tmp_path, "has no attribute 'Nope'")
    _refused(["--model", f"{NETS}:TinyResNet", "--model-arg", "depth=3", *data], capsys, tmp_path, "failed")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--what", "margins,vibes"], capsys, tmp_path, "vibes")
    _refused(["--model", f"{NETS}:TinyResNet"], capsys, tmp_path, "--data")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--weights", str(tmp_path / "nope.pt")], capsys, tmp_path,
             "no such weights file")
    (tmp_path / "junk.pt").write_bytes(b"\x80\x02not a checkpoint\n\x1b[31m")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--weights", str(tmp_path / "junk.pt")], capsys, tmp_path,
             "cannot read")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 40)
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--weights", str(tmp_path / "junk.safetensors")], capsys,
             tmp_path, "safetensors")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1, dtype=int))
    _refused(["--model", f"{NETS}:TinyResNet", "--data", str(tmp_path / "obj.npz")], capsys, tmp_path, "refusing")
    np.savez(tmp_path / "wrong.npz", x=np.zeros((4, 1, 5, 5), np.float32), y=np.zeros(4, int))
    _refused(["--model", f"{NETS}:PlainNet", "--data", str(tmp_path / "wrong.npz"), "--what", "margins"], capsys,
             tmp_path, "cannot take inputs of shape (1, 5, 5)")
    (tmp_path / "broken.py").write_text("import torch\nraise RuntimeError('boom at import')\n")
    _refused(["--model", f"{tmp_path / 'broken.py'}:Net", *data], capsys, tmp_path, "boom at import", "broken.py:2")
    _refused(["--model", f"{NETS}:TinyResNet", "--model-arg", "width=-1", *data], capsys, tmp_path,
             "TinyResNet(width=-1) failed")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--device", "tpu9"], capsys, tmp_path, "unknown device")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--seed", "-1"], capsys, tmp_path, "--seed")
    _refused(["--model", f"{NETS}:TinyResNet", *data, "--option", "top_k=many"], capsys, tmp_path, "top_k")
    (tmp_path / "afile").write_text("x")
    code = main(["measure", "--model", f"{NETS}:TinyResNet", *data, "--out", str(tmp_path / "afile")])
    assert code == 2 and "is a file" in capsys.readouterr().err


class WithLayerNorm(nn.Module):
    """LayerNorm is a layer the chain tracer does not support: chain measures refuse, the rest run."""

    def __init__(self):
        super().__init__()
        self.fc1, self.norm, self.fc2 = nn.Linear(64, 8), nn.LayerNorm(8), nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x.flatten(1)))))


def test_refused_measures_are_reported_not_fatal(tmp_path):
    from dlscope.assess import Inputs, assess

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 1, 8, 8, generator=g), torch.randint(0, 3, (32,), generator=g)
    s = assess(WithLayerNorm(), Inputs(x, y, 3, {"source": "test"}), what=["spectral", "bounds", "margins"],
               out=tmp_path / "r")
    status = [(e["measure"], e["quantity"][:12], e["status"]) for e in s["measures"]]
    refused = [e for e in s["measures"] if e["status"] == "refused"]
    assert [e["measure"] for e in refused] == ["spectral", "bounds", "bounds"], status  # R_A, margin bound, path norm
    assert all("LayerNorm" in e["reason"] and "\n" not in e["reason"] for e in refused)
    assert s["measures"][-1]["measure"] == "margins" and s["measures"][-1]["status"] == "measured"
    html = (tmp_path / "r" / "report.html").read_text()
    assert "refused" in html and "LayerNorm" in html


def test_a_run_directory_brings_its_net_and_its_data(tmp_path, capsys):
    from dlscope.data import load
    from dlscope.experiments.recipe import train_model
    from dlscope.train import TrainConfig

    ds = load("gaussian-mixture", n_train=200, n_test=100, seed=0)
    cfg = TrainConfig(max_steps=30, eval_every=10, batch_size=50, lr=0.05)
    net, _, _ = train_model(tmp_path / "preset", "mlp_seed0", ds, "mlp", {"widths": (16,)}, cfg)
    for target in (tmp_path / "preset" / "runs" / "mlp_seed0", tmp_path / "preset"):  # a preset folder with one net
        out = tmp_path / f"m{len(str(target))}"
        assert main(["measure", str(target), "--what", "margins,weights", "--n", "100", "--out", str(out)]) == 0
        capsys.readouterr()
        s = json.loads((out / "summary.json").read_text())
        assert s["data"]["matches_training_data"] is True and s["model"]["model_build"]["name"] == "mlp"
        x, y = ds.x_train, ds.y_train  # the subset of 100 is seeded: recompute it the same way
        from dlscope.data import stratified_indices

        idx = stratified_indices(y, 100, 0)
        with torch.no_grad():
            m = margin_from_logits(net.eval()(x[idx]), y[idx]).double()
        assert s["measures"][0]["value"] == pytest.approx(float(torch.quantile(m, 0.1)), rel=1e-5)
    train_model(tmp_path / "preset", "mlp_seed1", ds, "mlp", {"widths": (16,)}, cfg)
    _refused([str(tmp_path / "preset")], capsys, tmp_path, "2 trained nets", "mlp_seed0")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "w.safetensors"))
    _refused([str(tmp_path / "preset" / "runs" / "mlp_seed0"), "--weights", str(tmp_path / "w.safetensors")], capsys,
             tmp_path, "--weights go with --model")
