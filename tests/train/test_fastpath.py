"""Fast-path options of TrainConfig on a CPU: validation, channels_last, torch.compile and its
fallback, checkpoints of compiled models, exact resume."""
import json

import pytest
import torch
from torch import nn

from dlscope import data as D
from dlscope import models as M
from dlscope.train import RunDir, TrainConfig, fit, load_checkpoint, save_checkpoint

LOSSES = ("batch_loss", "train_loss", "test_loss")


def _images(n, seed, c=3, hw=16):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    proto = torch.randn(10, c, hw, hw, generator=torch.Generator().manual_seed(123))
    x = 0.5 * proto[y] + torch.randn(n, c, hw, hw, generator=g)
    k = n * 4 // 5
    return D.Dataset("images", x[:k], y[:k], x[k:], y[k:], 10)


def _max_rel(a, b):
    return max(abs(p[k] - q[k]) / abs(p[k]) for p, q in zip(a, b) for k in LOSSES)


@pytest.mark.parametrize("bad, msg", [
    ({"compile_mode": "max-autotune"}, "compile_mode"),
    ({"channels_last": "yes"}, "channels_last"),
    ({"compile": 1}, "compile"),
    ({"amp_bf16": True}, "CUDA"),                                         # refused on a CPU
    ({"amp_bf16": True, "device": "cuda", "dtype": "float64"}, "float32"),
])
def test_config_refuses_bad_fast_path_values(bad, msg):
    with pytest.raises(ValueError, match=msg) as e:
        TrainConfig(**bad)
    assert "\n" not in str(e.value)
    TrainConfig(amp_bf16=True, device="cuda:1", channels_last=True, compile=True, compile_mode="reduce-overhead")


@pytest.mark.parametrize("seed", [2, 5])
def test_channels_last_same_metrics_to_float_tolerance(seed):
    ds = _images(320, seed)
    runs = {}
    for cl in (False, True):
        torch.manual_seed(seed)
        m = M.build("resnet", input_shape=ds.input_shape, num_classes=10, depth=8)  # BN + residual
        cfg = TrainConfig(max_steps=6, batch_size=32, lr=0.01, eval_every=3, seed=seed, augment=True, channels_last=cl)
        runs[cl] = fit(m, ds, cfg)
        assert all(p.is_contiguous() for p in m.parameters())  # handed back in the default layout
    # Only the convolutions' summation order differs. Measured over seeds 0-9 (this setting): largest
    # relative loss difference 5.5e-6, no accuracy change; at lr 0.05 a BN net's eval-mode loss
    # amplifies it to 2e-4 within 6 steps, hence the small lr. 1e-4 leaves an 18x margin for CPUs
    # that round differently (AVX2 vs AVX-512); one test example may flip its prediction.
    a, b = runs[False].metrics, runs[True].metrics
    assert [r["step"] for r in a] == [r["step"] for r in b] == [3, 6]
    assert _max_rel(a, b) < 1e-4
    assert all(abs(p[k] - q[k]) <= 1 / ds.n_test + 1e-12 for p, q in zip(a, b) for k in ("train_acc", "test_acc"))
    one_d = fit(M.build("mlp", input_shape=(40,), num_classes=10, widths=(8,)),
                D.load("mnist1d", n_train=64, n_test=32), TrainConfig(max_steps=2, eval_every=2, channels_last=True))
    assert any("not 4-D" in n for n in one_d.notes)


def _mlp_run(ds, cfg, seed=0, model=None):
    torch.manual_seed(seed)
    net = model() if model else M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(32,))
    return fit(net, ds, cfg)


@pytest.fixture(scope="module")
def small():
    return D.load("mnist1d", n_train=256, n_test=128, seed=0)


def test_compile_on_this_cpu_trains_or_falls_back_with_a_note(small, tmp_path):
    cfg = TrainConfig(max_steps=16, batch_size=32, lr=0.05, eval_every=8, seed=1)  # 256/32: no partial batch
    plain = _mlp_run(small, cfg)
    comp = fit(_net(small), small, TrainConfig(**{**cfg.__dict__, "compile": True}), run_dir=tmp_path / "c")
    assert len(comp.notes) == 1
    if "failed" in comp.notes[0]:  # this platform cannot compile: the fallback trained the same steps eagerly
        assert "trained uncompiled" in comp.notes[0] and comp.metrics == plain.metrics
    else:
        # Inductor fuses and reorders float32 arithmetic: measured ≤ 2.1e-7 relative over seeds 0-3
        # (MLP, 20 steps); 1e-5 leaves a 50x margin.
        assert comp.notes[0] == "compiled with torch.compile(mode='default')"
        assert _max_rel(plain.metrics, comp.metrics) < 1e-5
    rd = RunDir(tmp_path / "c")
    assert json.loads(rd.summary.read_text())["notes"] == comp.notes
    assert json.loads(rd.config.read_text())["train"]["compile"] is True
    from safetensors import safe_open
    with safe_open(str(rd.checkpoint), framework="pt") as f:
        assert not any("_orig_mod" in k for k in f.keys())


def _net(ds, seed=0):
    torch.manual_seed(seed)
    return M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(32,))


class _BNDropout(nn.Sequential):
    """BatchNorm running statistics and dropout noise: state a failed first step must not leave behind."""

    def __init__(self):
        super().__init__(nn.Linear(40, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10))


@pytest.mark.parametrize("where", ["at torch.compile", "in the first compiled step", "at a new batch shape"])
def test_compile_failure_falls_back_to_the_exact_eager_run(small, monkeypatch, where):
    # 256 examples in batches of 48: the 6th step of each epoch has 16 (a new shape: a recompilation)
    cfg = TrainConfig(max_steps=14, batch_size=48, lr=0.05, eval_every=7, seed=2, augment=True)
    plain = _mlp_run(small, cfg, model=_BNDropout)

    def broken_compile(model, **kw):
        if where == "at torch.compile":
            raise RuntimeError("Windows not yet supported for torch.compile\nsecond line")

        def half_run(x):  # runs the model (updates BN statistics, draws dropout noise), then fails
            out = model(x)
            if where == "in the first compiled step" or len(x) == 16:
                raise OSError("C++ compiler not found")
            return out
        return half_run

    monkeypatch.setattr(torch, "compile", broken_compile)
    res = _mlp_run(small, TrainConfig(**{**cfg.__dict__, "compile": True}), model=_BNDropout)
    expected = ("RuntimeError: Windows not yet supported for torch.compile" if where == "at torch.compile"
                else "OSError: C++ compiler not found")
    assert res.notes == (["compiled with torch.compile(mode='default')"] if where == "at a new batch shape" else []) \
        + [f"torch.compile failed ({expected}); trained uncompiled"]
    assert res.metrics == plain.metrics  # bit-identical: the failed step was undone, then redone eagerly


def test_checkpoint_of_a_compiled_model_has_plain_keys(tmp_path):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    m(torch.randn(8, 3)).pow(2).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.safetensors", torch.compile(m), opt, 3)  # the wrapper; nothing compiles
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt2 = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=0.9)
    assert load_checkpoint(tmp_path / "c.safetensors", m2, opt2)[0] == 3  # strict load: same keys
    load_checkpoint(tmp_path / "c.safetensors", torch.compile(m2), opt2)  # and into a wrapper
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("channels_last", [False, True])
def test_exact_resume_on_images_with_augmentation(tmp_path, channels_last):
    ds = _images(200, 0, hw=12)
    cfg = TrainConfig(max_steps=20, batch_size=32, lr=0.02, eval_every=5, augment=True, channels_last=channels_last)

    def net():
        torch.manual_seed(0)
        return M.build("cnn", input_shape=ds.input_shape, num_classes=10, channels=(8, 8), fc=(32,), dropout=0.2)

    ref = fit(net(), ds, cfg, run_dir=tmp_path / "ref")

    class Killed(Exception):
        pass

    def die(step, total):
        if step == 13:
            raise Killed

    with pytest.raises(Killed):
        fit(net(), ds, cfg, run_dir=tmp_path / "cut", progress=die)
    res = fit(net(), ds, cfg, run_dir=tmp_path / "cut")
    assert res.resumed_from == 10 and res.metrics == ref.metrics
    train = json.loads(RunDir(tmp_path / "cut").config.read_text())["train"]
    # fields newer than the first run directories appear only when on (older runs still resume)
    assert ("channels_last" in train) == channels_last and "compile" not in train and "amp_bf16" in train
