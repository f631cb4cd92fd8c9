"""Models of issue 9: random features with the minimum-norm readout, Inception without BatchNorm."""
import numpy as np
import torch
from oracles import min_norm_lstsq

from dlscope import models


def _fit(n, N, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g, dtype=torch.float64)
    y = torch.randn(n, 3, generator=g, dtype=torch.float64)
    torch.manual_seed(seed)
    net = models.build("random-features", input_shape=(6,), num_classes=3, features=N).double()
    return net.solve_min_norm(x, y), x, y


def test_min_norm_readout_matches_numpy_lstsq():
    for n, N in ((40, 15), (40, 40), (40, 200)):
        net, x, y = _fit(n, N)
        ref = min_norm_lstsq(net.features(x).detach().numpy(), y.numpy())
        a = net.readout.weight.detach().numpy().T
        assert np.allclose(a, ref, rtol=1e-6, atol=1e-8 * np.abs(ref).max())


def test_interpolates_exactly_from_n_features_on():
    for N in (40, 41, 400):
        net, x, y = _fit(40, N)
        with torch.no_grad():
            assert float((net(x) - y).abs().max()) < 1e-7
    net, x, y = _fit(40, 20)
    with torch.no_grad():
        assert float((net(x) - y).pow(2).mean()) > 0.05  # 20 features cannot fit 40 random targets


def test_features_are_frozen_buffers_and_seeded():
    a, b = _fit(10, 30, seed=1)[0], _fit(10, 30, seed=1)[0]
    assert torch.equal(a.W, b.W) and [n for n, _ in a.named_parameters()] == ["readout.weight"]


def test_inception_without_batchnorm_has_the_same_parameter_count():
    bn = models.build("inception-small", input_shape=(3, 32, 32), num_classes=10)
    nobn = models.build("inception-small-nobn", input_shape=(3, 32, 32), num_classes=10)
    assert sum(p.numel() for p in bn.parameters()) == sum(p.numel() for p in nobn.parameters())
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in nobn.modules())
    assert list(nobn.buffers()) == []  # no running statistics: train and eval mode compute the same map
    x = torch.randn(4, 3, 32, 32)
    nobn.train()
    y1 = nobn(x)
    nobn.eval()
    assert torch.allclose(y1, nobn(x))
