"""Seeds as a batch dimension: fit_replicas against k separate fit runs, its run directories, its resume.

Tolerances, measured on 4 groups of 3 replicas (seeds 0–11; CNN 8-8 / FC 32-16, dropout 0.25, one
replica with augmentation, η ∈ {0.05, 0.1}, μ ∈ {0, 0.5, 0.9}, λ ∈ {0, 1e-3}; 150 steps of batch 32):
max |Δ loss| over every metrics row 2.4e-7 – 1.7e-5, accuracies equal, max relative |Δθ|
5e-7 – 1.0e-3 (the largest with seeds 0–2, used here: float rounding, amplified by training). The
thresholds are 10× the largest: |Δ loss| ≤ 2e-4, relative |Δθ| ≤ 1e-2, accuracies within 2/n.
"""
import json

import pytest
import torch

from dlscope import data as D
from dlscope import models as M
from dlscope.train import TrainConfig, check_replicas, fit, fit_replicas


@pytest.fixture(scope="module")
def ds():
    return D.load("mnist1d", n_train=320, n_test=160, seed=0)


def _net(ds, seed, model="cnn", **kw):
    torch.manual_seed(seed)
    if model == "cnn":
        kw = {"channels": (8, 8), "fc": (32, 16), "dropout": 0.25, **kw}
    return M.build(model, input_shape=ds.input_shape, num_classes=10, **kw)


SEEDS = (0, 1, 2)


def _configs(steps=150, **extra):
    return [TrainConfig(max_steps=steps, eval_every=50, batch_size=32, lr=lr, momentum=m, weight_decay=wd,
                        augment=aug, seed=s, **extra)
            for s, lr, m, wd, aug in zip(SEEDS, (0.05, 0.1, 0.05), (0.9, 0.0, 0.5), (0.0, 1e-3, 0.0),
                                         (False, False, True))]


def _close(ref, rep, refnets, nets, n_eval):
    for a, b in zip(ref, rep):
        assert [m["step"] for m in a.metrics] == [m["step"] for m in b.metrics]
        for ma, mb in zip(a.metrics, b.metrics):
            assert ma["lr"] == mb["lr"] and ma["epoch"] == mb["epoch"]
            for k in ("train_loss", "test_loss", "batch_loss"):
                assert abs(ma[k] - mb[k]) <= 2e-4, (k, ma[k], mb[k])
            for k in ("train_acc", "test_acc"):
                assert abs(ma[k] - mb[k]) <= 2 / n_eval, (k, ma[k], mb[k])
        assert (a.steps, a.steps_to_fit, a.diverged) == (b.steps, b.steps_to_fit, b.diverged)
    with torch.no_grad():
        for u, v in zip(refnets, nets):
            for p, q in zip(u.parameters(), v.parameters()):
                assert float((p - q).abs().max() / q.abs().max()) <= 1e-2


def test_replicas_equal_separate_runs_and_write_fits_run_directories(ds, tmp_path):
    cfgs = _configs()
    refnets = [_net(ds, s) for s in SEEDS]
    ref = [fit(n, ds, c, run_dir=tmp_path / f"fit{s}") for n, c, s in zip(refnets, cfgs, SEEDS)]
    nets = [_net(ds, s) for s in SEEDS]
    rep = fit_replicas(nets, [ds] * 3, cfgs, run_dirs=[tmp_path / f"rep{s}" for s in SEEDS])
    _close(ref, rep, refnets, nets, ds.n_test)
    for s in SEEDS:  # the run record is fit's, so fit resumes (here: returns) a replica's run
        assert json.loads((tmp_path / f"rep{s}/config.json").read_text()) == \
            json.loads((tmp_path / f"fit{s}/config.json").read_text())
        assert len((tmp_path / f"rep{s}/metrics.jsonl").read_text().splitlines()) == 3
    again = fit(_net(ds, 0), ds, cfgs[0], run_dir=tmp_path / "rep0")
    assert again.steps == 150 and again.notes == ["trained as replica 1 of 3 (vmapped)"]
    assert again.metrics == rep[0].metrics


def test_replicas_stop_at_their_own_target_and_stay_frozen(ds):
    # replica 0 stops at the first evaluation point with train accuracy ≥ 0.2 (0.219 at step 50 here;
    # the others stay below 0.2 until step 150), the others run the whole budget; the stopped one must
    # equal its separate run, frozen there.
    cfgs = _configs()
    cfgs[0] = TrainConfig(**{**cfgs[0].__dict__, "target_train_acc": 0.2})
    refnets = [_net(ds, s) for s in SEEDS]
    ref = [fit(n, ds, c) for n, c in zip(refnets, cfgs)]
    assert ref[0].steps_to_fit is not None and ref[0].steps < 150  # the case this test is about
    nets = [_net(ds, s) for s in SEEDS]
    rep = fit_replicas(nets, [ds] * 3, cfgs)
    _close(ref, rep, refnets, nets, ds.n_test)


def test_resume_after_a_kill_between_checkpoints_is_bit_identical(ds, tmp_path):
    cfgs, dirs = _configs(steps=100), [tmp_path / f"a{s}" for s in SEEDS]
    whole = fit_replicas([_net(ds, s) for s in SEEDS], [ds] * 3, cfgs, run_dirs=dirs)

    class Killed(Exception):
        pass

    def die(step, total):
        if step == 70:
            raise Killed

    kdirs = [tmp_path / f"b{s}" for s in SEEDS]
    with pytest.raises(Killed):
        fit_replicas([_net(ds, s) for s in SEEDS], [ds] * 3, cfgs, run_dirs=kdirs, progress=die)
    # as if killed between replica 0's and replica 1's checkpoints at step 50: replica 0 is one
    # evaluation point ahead of the others, which restart from scratch (no checkpoint yet)
    for d in kdirs[1:]:
        (d / "checkpoint.safetensors").unlink()
        (d / "metrics.jsonl").unlink()
    nets = [_net(ds, s) for s in SEEDS]
    resumed = fit_replicas(nets, [ds] * 3, cfgs, run_dirs=kdirs)
    assert resumed[0].resumed_from == 50
    for a, b in zip(whole, resumed):
        assert a.metrics == b.metrics
    for d, e in zip(dirs, kdirs):
        assert (d / "metrics.jsonl").read_text() == (e / "metrics.jsonl").read_text()


def test_refusals_are_one_line(ds):
    cfg = _configs()[0]
    with pytest.raises(ValueError, match="buffers"):
        check_replicas([_net(ds, 0, "resnet", depth=8)] * 2, [ds] * 2, [cfg] * 2)
    with pytest.raises(ValueError, match="architecture"):
        check_replicas([_net(ds, 0), _net(ds, 0, channels=(4, 4))], [ds] * 2, [cfg] * 2)
    with pytest.raises(ValueError, match="batch_size"):
        check_replicas([_net(ds, 0)] * 2, [ds] * 2, [cfg, TrainConfig(**{**cfg.__dict__, "batch_size": 64})])
    with pytest.raises(ValueError, match="as many"):
        check_replicas([_net(ds, 0)] * 2, [ds], [cfg] * 2)
