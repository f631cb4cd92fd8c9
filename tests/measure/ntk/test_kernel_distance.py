"""Kernel distance (Fort et al. 2020) and kernel-target alignment (Cristianini et al. 2002) against sums
written out entry by entry and closed forms; both as an in-training probe of train.fit."""
import math

import pytest
import torch
from cases import mlp
from oracles import alignment_loops, cosine_distance_loops

from dlscope.measure import kernel_alignment, kernel_distance, kernel_probe, ntk


def test_distance_closed_forms():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(6, 6, generator=g, dtype=torch.float64)
    B = torch.randn(6, 6, generator=g, dtype=torch.float64)
    assert kernel_distance(A, 3.5 * A).value == pytest.approx(0.0, abs=1e-15)  # scale-free
    assert kernel_distance(A, -A).value == pytest.approx(2.0)
    assert kernel_distance(A, B).value == pytest.approx(cosine_distance_loops(A, B), rel=1e-12)
    # orthogonal kernels: I and the off-diagonal ones
    I, O = torch.eye(4), torch.ones(4, 4) - torch.eye(4)
    assert kernel_distance(I, O).value == pytest.approx(1.0)
    r = kernel_distance(A, A + 1e-3 * B)
    assert r.extra["relative_change"] == pytest.approx(1e-3 * float(B.norm() / A.norm()), rel=1e-9)


def test_alignment_closed_forms():
    g = torch.Generator().manual_seed(1)
    y = torch.tensor([1.0, -1.0, 1.0, 1.0, -1.0])
    assert kernel_alignment(torch.outer(y, y), y).value == pytest.approx(1.0)  # the ideal kernel
    assert kernel_alignment(torch.eye(5), y).value == pytest.approx(5 / (math.sqrt(5) * 5))  # n/(√n·n)
    labels = torch.tensor([0, 2, 1, 2, 0, 1, 1])
    K = torch.randn(7, 7, generator=g, dtype=torch.float64)
    K = K @ K.T
    Y = torch.nn.functional.one_hot(labels).double()
    assert kernel_alignment(K, labels).value == pytest.approx(alignment_loops(K, Y), rel=1e-12)
    H = torch.eye(7, dtype=torch.float64) - 1 / 7
    Yc = H @ Y
    assert kernel_alignment(K, labels, centered=True).value == pytest.approx(alignment_loops(H @ K @ H, Yc), rel=1e-12)


def test_errors_are_one_line():
    with pytest.raises(ValueError, match="different shapes"):
        kernel_distance(torch.eye(3), torch.eye(4))
    with pytest.raises(ValueError, match="square"):
        kernel_alignment(torch.ones(3, 4), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="labels for a kernel"):
        kernel_alignment(torch.eye(3), torch.tensor([0, 1]))


def test_probe_during_training(tmp_path):
    from dlscope.data import Dataset
    from dlscope.train import TrainConfig, fit

    case = mlp()
    model = case.model.float()
    x, y = case.x.float(), case.y
    K0 = ntk(model, x)
    ds = Dataset("toy", x, y, x, y, 3)
    res = fit(model, ds, TrainConfig(max_steps=20, batch_size=16, lr=0.5, eval_every=10),
              probes={"ntk": kernel_probe(x, reference=K0, y=y)})
    rows = [m["ntk"] for m in res.metrics]
    assert len(rows) == 2 and all(set(r) == {"distance", "alignment"} for r in rows)
    assert 0 < rows[0]["distance"] < rows[1]["distance"]  # the small net's kernel moves as it trains
    assert rows[1]["distance"] == pytest.approx(kernel_distance(K0, ntk(model, x)).value, rel=1e-6)
