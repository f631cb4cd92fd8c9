"""R_A of Bartlett et al. 2017 by hand, normalized margins, and a user's BatchNorm CNN."""
import math

import pytest
import torch
from torch import nn

from dlscope.measure import margins, normalized_margins, reinitialized, spectral_complexity
from cases import UserChainCNN
from helpers import state_fingerprint

torch.manual_seed(0)


def two_layer():
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False)).double()


def by_hand(net, ref=None):
    mats = [net[0].weight.detach(), net[2].weight.detach()]
    refs = [ref[0].weight.detach(), ref[2].weight.detach()] if ref is not None else [torch.zeros_like(m) for m in mats]
    s = [float(torch.linalg.svdvals(a)[0]) for a in mats]
    b = [sum(float(row.norm()) for row in (a - m)) for a, m in zip(mats, refs)]  # ‖Aᵀ − Mᵀ‖_{2,1}: rows of A − M
    r_a = s[0] * s[1] * ((b[0] / s[0]) ** (2 / 3) + (b[1] / s[1]) ** (2 / 3)) ** 1.5
    f = [float((a - m).norm()) for a, m in zip(mats, refs)]
    r_f = s[0] * s[1] * math.sqrt((f[0] / s[0]) ** 2 + (f[1] / s[1]) ** 2)
    return r_a, r_f


def test_spectral_complexity_by_hand_two_layer():
    net = two_layer()
    r = spectral_complexity(net, (3,))
    r_a, r_f = by_hand(net)
    assert r.value == pytest.approx(r_a, rel=1e-10)
    assert r.extra["frobenius_variant"] == pytest.approx(r_f, rel=1e-10)
    assert r.extra["max_width"] == 4 and r.extra["depth"] == 2
    assert r.settings["has_bias"] is False


def test_spectral_complexity_with_reference_model():
    net, ref = two_layer(), two_layer()
    r = spectral_complexity(net, (3,), reference=ref)
    assert r.value == pytest.approx(by_hand(net, ref)[0], rel=1e-10)
    assert spectral_complexity(net, (3,), reference=net).value == 0.0


def test_reference_init_is_seeded_and_leaves_global_rng_alone():
    net = two_layer()
    state = torch.random.get_rng_state()
    a = spectral_complexity(net, (3,), reference="init", init_seed=3).value
    assert torch.equal(state, torch.random.get_rng_state())
    assert a == spectral_complexity(net, (3,), reference="init", init_seed=3).value
    assert a == pytest.approx(by_hand(net, reinitialized(net, 3))[0], rel=1e-10)


def test_sigmoid_lipschitz_enters_product():
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(), nn.Linear(4, 2, bias=False)).double()
    relu = two_layer()
    relu.load_state_dict(net.state_dict())
    assert spectral_complexity(net, (3,)).value == pytest.approx(0.25 * spectral_complexity(relu, (3,)).value)


def test_normalized_margins_by_hand():
    net = two_layer()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 2, (20,))
    r_a = by_hand(net)[0]
    expected = margins(net, x, y) / (r_a * float(x.norm()) / 20)
    assert torch.allclose(normalized_margins(net, x, y, norm="l21"), expected, rtol=1e-9)


def test_user_cnn_with_batchnorm_in_train_mode():
    net = UserChainCNN()  # UserResidualCNN's chain twin: the residual one is refused (test_chain_structure.py)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
    net(x).sum().backward()  # grads present, BN statistics updated, still in train mode
    before = state_fingerprint(net)
    r = spectral_complexity(net, (1, 8, 8))
    nm = normalized_margins(net, x, y, complexity=r)
    after = state_fingerprint(net)
    for k in before:
        assert (torch.equal(before[k], after[k]) if isinstance(before[k], torch.Tensor) else before[k] == after[k]), k
    assert [lay["name"] for lay in r.extra["layers"]] == ["conv1+bn1", "conv2+bn2", "head"]
    assert r.settings["bn_training_mode"] is True
    assert math.isfinite(r.value) and r.value > 0 and nm.shape == (16,)


def test_zero_layer_gives_zero_complexity_not_an_error():
    net = two_layer()
    with torch.no_grad():
        net[2].weight.zero_()  # e.g. a zero-initialized residual branch
    r = spectral_complexity(net, (3,))
    assert r.value == 0.0 and r.extra["frobenius_variant"] == 0.0
