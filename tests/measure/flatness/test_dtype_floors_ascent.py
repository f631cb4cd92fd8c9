"""Adaptive sharpness from a zero gradient in float32 (issue 14, item 7): the ascent step g/‖g‖ with
‖g‖ = 0 divided 0 by an underflowed floor (``clamp_min(1e-300)`` is 0 in float32) and went NaN."""
import math

import pytest
import torch
from torch import nn

from dlscope.measure import adaptive_sharpness

F = nn.functional


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adaptive_sharpness_from_a_zero_gradient_is_finite(dtype):
    # All weights 0: the adaptive scaling c = |θ| is 0, so ∇_u L(θ + c ⊙ u) = c ⊙ ∇L = 0 exactly and
    # every perturbation leaves the loss unchanged: the sharpness is exactly 0 and every step is 0/‖0‖.
    net = nn.Linear(4, 3).to(dtype)
    nn.init.zeros_(net.weight)
    nn.init.zeros_(net.bias)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 4, generator=g, dtype=dtype), torch.randint(0, 3, (16,), generator=g)
    r = adaptive_sharpness(net, F.cross_entropy, (x, y), rho=0.05, steps=5, seed=0)
    assert all(math.isfinite(v) for v in r.extra["ascent"]), r.extra["ascent"]
    assert r.value == 0.0 and math.isfinite(r.extra["loss"])
