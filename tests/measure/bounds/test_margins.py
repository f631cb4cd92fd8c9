"""Multiclass margins on hand-built examples."""
import pytest
import torch
from torch import nn

from dlscope.measure import margin_from_logits, margin_percentile, margins
from helpers import state_fingerprint


def test_margins_of_a_hand_built_linear_classifier():
    net = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    x = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0]])  # logits [2,1,3], [0,3,3], [1,1,2]
    y = torch.tensor([2, 1, 0])
    assert torch.equal(margins(net, x, y), torch.tensor([3 - 2, 3 - 3, 1 - 2], dtype=torch.float32))


def test_binary_single_output_margin_uses_label_sign():
    f = torch.tensor([[0.5], [-2.0], [1.0]])
    assert torch.equal(margin_from_logits(f, torch.tensor([1, 0, 0])), torch.tensor([0.5, 2.0, -1.0]))
    assert torch.equal(margin_from_logits(f, torch.tensor([1, -1, 1])), torch.tensor([0.5, 2.0, 1.0]))


def test_margins_batched_equal_unbatched_and_model_restored():
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    net.train()
    x, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    net(x)  # move running stats away from their init
    before = state_fingerprint(net)
    a = margins(net, x, y, batch_size=7)
    b = margins(net, x, y)
    assert torch.allclose(a, b, atol=1e-6)  # eval mode: dropout off, deterministic
    after = state_fingerprint(net)
    assert all(torch.equal(before[k], after[k]) if isinstance(before[k], torch.Tensor) else before[k] == after[k]
               for k in before)


def test_margin_percentile():
    m = torch.arange(1, 101, dtype=torch.float64)
    assert margin_percentile(m, 10) == pytest.approx(10.9)
    assert margin_percentile(m, 0) == 1.0
