"""Trajectory snapshots (written where planned, equal to θ_t, capped before anything is written) and
training a subset of the parameters (the rest bit-identical, flags handed back) — issue 11."""
import pytest
import torch

from dlscope import data as D
from dlscope import models as M
from dlscope.train import SnapshotSizeError, TrainConfig, fit, read_snapshots


@pytest.fixture(scope="module")
def small():
    return D.load("mnist1d", n_train=200, n_test=100, seed=0)


def _mlp(ds, seed=0):
    torch.manual_seed(seed)
    return M.build("mlp", input_shape=ds.input_shape, num_classes=10, widths=(16, 16))


def test_snapshots_are_the_trajectory(small, tmp_path):
    net = _mlp(small)
    theta0 = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = TrainConfig(max_steps=50, batch_size=32, lr=0.05, eval_every=25, snapshot_every=20)
    fit(net, small, cfg, run_dir=tmp_path / "r")
    snaps = read_snapshots(tmp_path / "r")
    assert [s for s, _ in snaps] == [0, 20, 40, 50]  # every 20 steps, and the last one
    assert all(snaps[0][1][k].equal(theta0[k]) for k in theta0)
    assert all(snaps[-1][1][k].equal(v) for k, v in net.state_dict().items())
    # θ_20 is what a 20-step run reaches (same seed, same batches)
    again = _mlp(small)
    fit(again, small, TrainConfig(max_steps=20, batch_size=32, lr=0.05, eval_every=25))
    assert all(snaps[1][1][k].equal(v) for k, v in again.state_dict().items())


def test_snapshot_cap_is_checked_before_writing(small, tmp_path):
    net = _mlp(small)  # 1,130 parameters · 4 bytes ≈ 4.4 kB per snapshot
    cfg = TrainConfig(max_steps=1000, batch_size=32, eval_every=100, snapshot_every=1, snapshot_max_mb=1.0)
    with pytest.raises(SnapshotSizeError, match=r"1001 snapshots .* exceed snapshot_max_mb=1; raise snapshot_every"):
        fit(net, small, cfg, run_dir=tmp_path / "capped")
    assert not (tmp_path / "capped").exists()
    with pytest.raises(ValueError, match="needs a run directory"):
        fit(net, small, TrainConfig(max_steps=5, snapshot_every=1))
    with pytest.raises(ValueError, match="snapshot_every"):
        TrainConfig(snapshot_every=0)


def test_frozen_parameters_stay_frozen(small):
    net = _mlp(small)
    for p in net.parameters():
        p.grad = None
    before = {k: v.clone() for k, v in net.named_parameters()}
    # weight decay and momentum would move a frozen parameter if it were in the update at all
    cfg = TrainConfig(max_steps=30, batch_size=32, lr=0.1, momentum=0.9, weight_decay=0.1, eval_every=30,
                      train_only=("net.3",))
    r = fit(net, small, cfg)
    after = dict(net.named_parameters())
    assert [k for k in before if not after[k].equal(before[k])] == ["net.3.weight", "net.3.bias"]
    assert all(p.requires_grad for p in net.parameters())  # flags handed back
    assert r.final["train_loss"] < 2.31  # it trained (ln 10 ≈ 2.303 at chance)


def test_subset_names_are_checked(small, tmp_path):
    net = _mlp(small)
    with pytest.raises(ValueError, match=r"train_only: 'net.2' is not a module with parameters; .*net.1, net.3, net.5"):
        fit(net, small, TrainConfig(max_steps=5, train_only=("net.2",)), run_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="train_only"):
        TrainConfig(train_only=["net.0"])
