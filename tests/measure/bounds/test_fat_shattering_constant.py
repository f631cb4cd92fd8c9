"""Issue 14 item 4: the fat-shattering constant is C = B(2L_σVX̃√(2 ln(2D+2)) + max(|σ(0)|, 1)),
from E sup ≤ E(max_j |u_j|) + max(|σ(0)|, 1) E|S| (E max ≤ E sum), not B·max(a, 1).
Fails on d1e8aa0 (C = B·max(a, 1), smaller by up to B)."""
import itertools
import math

import pytest
import torch
from torch import nn

from dlscope.measure import fat_shattering_bound


@pytest.mark.parametrize("act,lip,s0", [(nn.Tanh, 1.0, 0.0), (nn.Sigmoid, 0.25, 0.5)])
def test_constant_follows_the_derivation(act, lip, s0):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), act(), nn.Linear(4, 1))
    x, y = torch.rand(50, 3) * 2 - 1, torch.randint(0, 2, (50,))
    r = fat_shattering_bound(net, x, y, gamma=0.01)
    B, V = r.extra["B"], r.extra["V"]
    x_t = max(float(x.abs().max()), 1.0)
    a = 2 * lip * V * x_t * math.sqrt(2 * math.log(8))
    assert r.extra["C"] == pytest.approx(B * (a + max(s0, 1.0)), rel=1e-12)
    old = B * max(a + s0, 1.0)  # d1e8aa0's constant; here a + |σ(0)| ≥ 1: they differ by B(max(|σ(0)|, 1) − |σ(0)|)
    assert a + s0 >= 1.0
    assert r.extra["C"] - old == pytest.approx(B * (max(s0, 1.0) - s0), rel=1e-9)
    assert r.extra["fat_dim"] == max(1, math.floor((16 * r.extra["C"] / r.extra["gamma"]) ** 2))


def test_expectation_of_a_max_exceeds_the_max_of_expectations():
    # why max(a, 1) is not justified: for X = |Σε_i u_i|, Y = |Σε_i| with u ⟂ 1 on d = 4 points,
    # E max(X, Y) (exact, over all 16 sign vectors) > max(E X, E Y).
    u = torch.tensor([1.0, -1.0, 1.0, -1.0])
    vals = [(abs(float((torch.tensor(e) * u).sum())), abs(sum(e))) for e in itertools.product([-1.0, 1.0], repeat=4)]
    e_max = sum(max(a, b) for a, b in vals) / 16
    assert e_max > max(sum(a for a, _ in vals) / 16, sum(b for _, b in vals) / 16) + 0.2
