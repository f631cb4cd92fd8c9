"""Degenerate geometry in float32 and float64 (issue 14, item 7): no NaN from an underflowed floor.

``clamp_min(1e-300)`` is 0 in float32 (1e-300 underflows), so a zero-length tangent or segment
divided 0 by 0: the NEB path between two identical endpoints came back NaN in float32 (0 in
float64). The floors are now ``torch.finfo(dtype).tiny``.
"""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from dlscope.measure import find_path
from dlscope.measure.landscape.paths import polyline

F = nn.functional


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_neb_between_identical_endpoints_has_zero_barrier(dtype):
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2)).to(dtype)
    x = torch.randn(40, 3, generator=g, dtype=dtype)
    y = torch.randint(0, 2, (40,), generator=g)
    r = find_path(a, copy.deepcopy(a), F.cross_entropy, (x, y), method="neb", num_bends=2, steps=20, lr=0.01,
                  batch_size=20, autoneb_cycles=2, eval_points=11)
    assert np.all(np.isfinite(r.extra["losses"])) and torch.isfinite(r.extra["points"]).all()
    # Both ends are θ_A: the barrier max_t [L(θ_t) − L(θ_A)] is 0 (at t = 0) or the pivots found lower loss.
    assert r.value == pytest.approx(0.0, abs=1e-6)
    assert r.extra["points"].dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_polyline_through_coincident_points_is_finite(dtype):
    p = torch.ones(4, 5, dtype=dtype)
    out = polyline(p, torch.linspace(0, 1, 7, dtype=dtype), arc_length=True)
    assert torch.isfinite(out).all() and torch.equal(out, torch.ones(7, 5, dtype=dtype))
