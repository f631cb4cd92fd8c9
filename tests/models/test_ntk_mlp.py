"""models.build("ntk-mlp"): the NTK parameterization written out, N(0, 1) weights, the output scale α,
and the centered model (zero output at initialization, same NTK)."""
import math

import pytest
import torch

from dlscope import models
from dlscope.measure import ntk


def test_forward_is_the_formula():
    torch.manual_seed(0)
    net = models.build("ntk-mlp", input_shape=(6,), num_classes=3, width=50, depth=2, alpha=2.5).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    W1, W2 = net.hidden
    h = torch.relu(torch.relu(x @ W1.T / math.sqrt(6)) @ W2.T / math.sqrt(50))
    assert torch.allclose(net(x), 2.5 * h @ net.readout.T / math.sqrt(50), rtol=1e-14)
    assert not any(n.endswith("bias") for n, _ in net.named_parameters())


def test_standard_normal_initialization():
    torch.manual_seed(1)
    net = models.build("ntk-mlp", input_shape=(40,), num_classes=10, width=4096)
    w = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    # 204,800 N(0, 1) draws: mean ± 0.01 and sd 1 ± 0.01 hold with overwhelming probability
    assert abs(float(w.mean())) < 0.01 and abs(float(w.std()) - 1) < 0.01


def test_centered_model_is_zero_at_init_with_the_same_kernel():
    torch.manual_seed(2)
    plain = models.build("ntk-mlp", input_shape=(5,), num_classes=2, width=64, alpha=3.0).double()
    torch.manual_seed(2)
    centered = models.build("ntk-mlp", input_shape=(5,), num_classes=2, width=64, alpha=3.0, center=True).double()
    x = torch.randn(7, 5, dtype=torch.float64)
    assert torch.equal(centered(x), torch.zeros(7, 2, dtype=torch.float64))
    assert torch.allclose(ntk(centered, x).value, ntk(plain, x).value, rtol=1e-13)
    with pytest.raises(ValueError, match="alpha"):
        models.build("ntk-mlp", input_shape=(5,), num_classes=2, alpha=0.0)
