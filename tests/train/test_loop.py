"""The training loop: schedules, determinism, exact resume, checkpoint round trip, run directory."""
import json
import math

import pytest
import torch

from dlscope import data as D
from dlscope import models as M
from dlscope.train import RunDir, TrainConfig, fit, learning_rate, load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def small():
    return D.load("mnist1d", n_train=400, n_test=200, seed=0)


def _model(ds, seed=0, **kw):
    torch.manual_seed(seed)
    return M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(64,), dropout=0.2, **kw)


def test_schedules_closed_forms():
    c = TrainConfig(lr=0.1, schedule="exponential", lr_decay=0.95)
    assert learning_rate(c, 0, 10) == 0.1 and learning_rate(c, 35, 10) == pytest.approx(0.1 * 0.95**3)
    c = TrainConfig(lr=0.1, schedule="multistep", milestones=(2, 4))
    assert [round(learning_rate(c, s, 10), 6) for s in (19, 20, 39, 40)] == [0.1, 0.01, 0.01, 0.001]
    c = TrainConfig(lr=0.1, schedule="step", lr_decay=0.5, step_epochs=3)
    assert learning_rate(c, 59, 10) == pytest.approx(0.05) and learning_rate(c, 60, 10) == pytest.approx(0.025)
    c = TrainConfig(lr=0.2, schedule="cosine", max_steps=100)
    assert learning_rate(c, 50, 7) == pytest.approx(0.1) and learning_rate(c, 100, 7) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="linear")


def test_same_seed_same_metrics_different_seed_different(small):
    cfg = TrainConfig(max_steps=60, batch_size=32, lr=0.05, eval_every=20, seed=3, augment=True)
    a = fit(_model(small), small, cfg).metrics
    b = fit(_model(small), small, cfg).metrics
    c = fit(_model(small), small, TrainConfig(**{**cfg.__dict__, "seed": 4})).metrics
    assert a == b
    assert a != c


def test_learns_and_stops_at_target(small):
    cfg = TrainConfig(max_steps=3000, batch_size=64, lr=0.05, eval_every=25, target_train_acc=0.9)
    r = fit(_model(small), small, cfg)
    assert r.steps_to_fit is not None and r.steps == r.steps_to_fit < 3000
    assert r.final["train_acc"] >= 0.9 and r.metrics[0]["train_acc"] < 0.9
    assert r.final["test_acc"] > 0.25  # far above chance 0.1: it learned, not only memorized


def test_interrupted_run_resumes_to_identical_metrics(small, tmp_path):
    cfg = TrainConfig(max_steps=120, batch_size=48, lr=0.05, eval_every=20, schedule="exponential", augment=True)
    ref = fit(_model(small), small, cfg, run_dir=tmp_path / "ref")

    class Killed(Exception):
        pass

    def die(step, total):
        if step == 77:  # mid-way between checkpoints at 60 and 80
            raise Killed

    with pytest.raises(Killed):
        fit(_model(small), small, cfg, run_dir=tmp_path / "cut", progress=die)
    assert not RunDir(tmp_path / "cut").finished()
    m = _model(small, seed=99)  # the checkpoint, not the init, must decide the result
    res = fit(m, small, cfg, run_dir=tmp_path / "cut")
    assert res.resumed_from == 60
    assert res.metrics == ref.metrics
    for p, q in zip(m.parameters(), _loaded(small, tmp_path / "ref")):
        assert torch.equal(p, q)
    again = fit(_model(small), small, cfg, run_dir=tmp_path / "cut")  # finished: loaded, not retrained
    assert again.metrics == ref.metrics and again.resumed_from is None


def _loaded(ds, run):
    m = _model(ds, seed=5)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    load_checkpoint(RunDir(run).checkpoint, m, opt)
    return list(m.parameters())


def test_checkpoint_roundtrip_includes_momentum(tmp_path):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    m(torch.randn(8, 3)).pow(2).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.safetensors", m, opt, 17, {"k": 1})
    m2 = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    opt2 = torch.optim.SGD(m2.parameters(), lr=0.5)
    step, extra = load_checkpoint(tmp_path / "c.safetensors", m2, opt2)
    assert (step, extra) == (17, {"k": 1})
    for a, b in zip(m.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)
    for p, q in zip(m.parameters(), m2.parameters()):
        assert torch.equal(opt.state[p]["momentum_buffer"], opt2.state[q]["momentum_buffer"])
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["weight_decay"] == 1e-3


def test_run_directory_contents(small, tmp_path):
    cfg = TrainConfig(max_steps=40, batch_size=50, eval_every=20, loss="mse")
    fit(_model(small), small, cfg, run_dir=tmp_path / "r")
    rd = RunDir(tmp_path / "r")
    conf, env = json.loads(rd.config.read_text()), json.loads(rd.env.read_text())
    assert conf["train"]["loss"] == "mse" and conf["data"]["hash"] == small.hash
    assert {"torch", "python", "device", "dtype", "data_hash", "git_sha"} <= set(env)
    assert [r["step"] for r in rd.read_metrics()] == [20, 40]
    assert json.loads(rd.summary.read_text())["steps"] == 40
    with pytest.raises(RuntimeError, match="different configuration"):
        fit(_model(small), small, TrainConfig(max_steps=41, batch_size=50, eval_every=20), run_dir=tmp_path / "r")


def test_float64_and_eval_is_batch_invariant(small):
    from dlscope.train import evaluate, loss_function

    m = _model(small).double()
    x, y = small.x_test.double(), small.y_test
    a = evaluate(m, x, y, loss_function("ce", 10), batch=7)
    b = evaluate(m, x, y, loss_function("ce", 10), batch=1000)
    assert a[1] == b[1] and math.isclose(a[0], b[0], rel_tol=1e-12)
    r = fit(_model(small), small, TrainConfig(max_steps=5, eval_every=5, dtype="float64"))
    assert r.final["step"] == 5


def test_stops_at_target_loss(small):
    r = fit(_model(small), small, TrainConfig(max_steps=3000, batch_size=64, lr=0.05, eval_every=10,
                                              target_train_loss=0.5))
    assert r.final["train_loss"] <= 0.5 < r.metrics[-2]["train_loss"]
    assert r.steps_to_fit == r.steps


def test_divergence_stops_the_run(small, tmp_path):
    cfg = TrainConfig(max_steps=2000, batch_size=64, lr=1e4, momentum=0.9, eval_every=10)
    r = fit(_model(small), small, cfg, run_dir=tmp_path / "d")
    assert r.diverged and r.steps < 2000 and not math.isfinite(r.final["train_loss"])
    assert json.loads((tmp_path / "d" / "summary.json").read_text())["diverged"] is True


def test_probes_log_edge_of_stability_at_eval_points(small):
    import torch.nn.functional as F

    from dlscope.measure import edge_of_stability, gradient_noise

    sub = (small.x_train[:100], small.y_train[:100])
    probes = {"lambda_max": lambda m, ds: edge_of_stability(m, F.cross_entropy, sub, lr=0.05, momentum=0.9).value,
              "noise": lambda m, ds: gradient_noise(m, F.cross_entropy, sub, batch_size=32).value}
    net = M.build("mlp", input_shape=small.input_shape, num_classes=10, widths=(16,))
    r = fit(net, small, TrainConfig(max_steps=40, batch_size=32, lr=0.05, eval_every=20), probes=probes)
    assert [m["step"] for m in r.metrics] == [20, 40]
    assert all(m["lambda_max"] > 0 and m["noise"] > 0 for m in r.metrics)
