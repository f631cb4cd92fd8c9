"""measure.ntk against the explicit Jacobian product J Jᵀ (oracles.dense_ntk): an MLP, a CNN, a
BatchNorm net (measured in eval mode), trace and full, blocked and unblocked, symmetric and not;
the model left untouched; errors in one line."""
import pytest
import torch
from cases import bn_net, cnn, mlp
from helpers import assert_untouched, dirty, state_fingerprint
from oracles import dense_ntk

from dlscope.measure import ntk


@pytest.mark.parametrize("make", [mlp, cnn, bn_net], ids=["mlp", "cnn", "bn_net"])
@pytest.mark.parametrize("output", ["full", "trace"])
def test_equals_the_jacobian_product(make, output):
    case = make()
    x1, x2 = case.x[:9], case.x[9:14]
    ref12, ref11 = dense_ntk(case, x1, x2), dense_ntk(case, x1)
    if output == "trace":
        ref12, ref11 = (r.diagonal(dim1=2, dim2=3).sum(-1) for r in (ref12, ref11))
    before = state_fingerprint(dirty(case.model))
    for block in (None, 1, 4):
        r = ntk(case.model, x1, x2, output=output, block_size=block)
        # float64 sums of ≤ 100 products: agreement to rounding (measured ≤ 4e-15)
        assert torch.allclose(r.value, ref12, rtol=1e-10, atol=1e-12), (block, (r.value - ref12).abs().max())
        s = ntk(case.model, x1, output=output, block_size=block)
        assert torch.allclose(s.value, ref11, rtol=1e-10, atol=1e-12)
        assert s.settings["bn_mode"] in ("eval", "none") and s.settings["block_size"][0] == (block or 9)
    assert_untouched(before, case.model)


def test_blocked_equals_unblocked_and_symmetric():
    case = cnn()
    full = ntk(case.model, case.x, output="full").value
    for block in (2, 5):
        blocked = ntk(case.model, case.x, output="full", block_size=block)
        assert blocked.extra["blocks"][0] > 1
        assert torch.allclose(blocked.value, full, rtol=1e-12, atol=1e-13)
    # Θ(x, x')_{cd} = Θ(x', x)_{dc}
    assert torch.allclose(full, full.permute(1, 0, 3, 2), rtol=0, atol=1e-13)


def test_errors_are_one_line():
    case = mlp()
    with pytest.raises(ValueError, match="output must be"):
        ntk(case.model, case.x, output="diag")
    with pytest.raises(ValueError, match="different input shapes"):
        ntk(case.model, case.x, case.x[:, :2])
    with pytest.raises(ValueError, match="eval mode"):
        ntk(bn_net().model.train(), bn_net().x, mode="as-is")
    with pytest.raises(ValueError, match="too small"):
        ntk(case.model, case.x, output="full", memory_budget=1000)
