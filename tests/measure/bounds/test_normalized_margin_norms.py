"""Issue 14 item 5 (normalized margins): Bartlett et al.'s figures normalize with the entrywise ℓ1
variant of R_A; that is the default of ``normalized_margins``, the (2,1) norm of eq. (1.2) an option.
Fails on d1e8aa0 (the (2,1) norm only)."""
import pytest
import torch
from torch import nn

from dlscope.measure import complexity_from_rows, margins, normalized_margins, spectral_complexity
from oracles import r_a_by_hand


def test_default_normalization_uses_the_entrywise_l1_variant():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.ReLU(), nn.Linear(4, 2, bias=False)).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 2, (20,))
    mats = [net[0].weight.detach(), net[2].weight.detach()]
    zero = [torch.zeros_like(a) for a in mats]
    r_l1 = r_a_by_hand(mats, [1.0, 1.0], zero, l1=True)
    r = spectral_complexity(net, (3,))
    assert r.extra["l1_variant"] == pytest.approx(r_l1, rel=1e-10)
    assert r.extra["l1_variant"] >= r.value  # ‖A‖_{1,1} ≥ ‖Aᵀ‖_{2,1}
    expected = margins(net, x, y) / (r_l1 * float(x.norm()) / 20)
    assert torch.allclose(normalized_margins(net, x, y, complexity=r), expected, rtol=1e-9)
    assert complexity_from_rows(r.extra["layers"], norm="l1")[0] == pytest.approx(r_l1, rel=1e-10)
    with pytest.raises(ValueError, match="norm must be one of"):
        normalized_margins(net, x, y, complexity=r, norm="fro")
