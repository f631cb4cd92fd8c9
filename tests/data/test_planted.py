"""Planted teachers (issue 9): labels recomputed from the teacher by hand, seeds, balance, exact p*."""
import math

import pytest
import torch

from dlscope.data import load, planted


def test_blum_rivest_labels_are_the_and_of_two_threshold_units():
    x, y, c = planted.blum_rivest(500, seed=3)
    w = torch.randn(2, 10, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w = (w / w.norm(dim=1, keepdim=True)).float()
    for xi, yi in zip(x, y):  # one point at a time, by the definition
        h1, h2 = float(w[0] @ xi) > planted.BR_THRESHOLD, float(w[1] @ xi) > planted.BR_THRESHOLD
        assert int(yi) == int(h1 and h2)
    assert c == 2


def test_blum_rivest_threshold_balances_orthogonal_units():
    # P(Z > t)² = 1/2 for independent standard normal projections
    p = 0.5 * math.erfc(planted.BR_THRESHOLD / math.sqrt(2))
    assert p * p == pytest.approx(0.5, abs=1e-12)
    ds = load("blum-rivest", n_train=4000, n_test=4000, seed=0)
    # random unit vectors in R^10 are only nearly orthogonal; 4000 draws have sd 0.008: allow 0.08
    assert abs(float(ds.y_train.float().mean()) - 0.5) < 0.08


def test_train_and_test_share_the_teacher_not_the_inputs():
    ds = load("blum-rivest", n_train=300, n_test=300, seed=5)
    x, y, _ = planted.blum_rivest(300, seed=5, draw_seed=5 + 7919)
    assert torch.equal(ds.x_test, x) and torch.equal(ds.y_test, y)
    assert not torch.equal(ds.x_train, ds.x_test)
    assert load("blum-rivest", n_train=300, seed=5).hash == load("blum-rivest", n_train=300, seed=5).hash


def test_teacher_probs_and_the_centring_bias():
    p = planted.teacher_params(1)
    x = torch.randn(200_000, 8, generator=torch.Generator().manual_seed(0))
    hidden = torch.relu(x.double() @ p["w1"].T + p["b1"])
    # b2 = −W2 E relu(...): the analytic mean against a Monte Carlo one (se ≈ 0.003 per unit)
    assert torch.allclose(-(p["w2"] @ hidden.mean(0)), p["b2"], atol=0.02)
    q = planted.teacher_probs(p, x[:1000])
    assert torch.allclose(q.sum(1), torch.ones(1000, dtype=torch.float64))


def test_planted_teacher_labels_follow_p_star():
    x, y, c = planted.planted_teacher(20000, seed=2)
    q = planted.teacher_probs(planted.teacher_params(2), x)
    freq = torch.bincount(y, minlength=c).double() / len(y)
    # each class frequency vs its expected mean p*: binomial se ≤ 0.0036, allow 5 se
    assert torch.allclose(freq, q.mean(0), atol=0.018)
