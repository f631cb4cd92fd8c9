"""Issue 14 item 5 (path norm): Jiang et al.'s convention squares *all* parameters (biases too,
BatchNorm folded first); the bias-free variant stays an option. Fails on d1e8aa0 (biases zeroed)."""
import pytest
import torch
from torch import nn

from dlscope.measure import fold_batchnorm, path_norm
from cases import biased_mlp
from oracles import mlp_path_sum, mlp_path_sum_with_biases


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_path_norm_with_biases_equals_enumeration_of_paths(p):
    net = biased_mlp(0).model
    lins = [m for m in net if isinstance(m, nn.Linear)]
    w, b = [m.weight.detach() for m in lins], [m.bias.detach() for m in lins]
    r = path_norm(net, (3,), p=p)
    assert r.settings["biases"] == "included"
    assert r.value == pytest.approx(mlp_path_sum_with_biases(w, b, p) ** (1 / p), rel=1e-12)
    assert path_norm(net, (3,), p=p, biases="excluded").value == pytest.approx(mlp_path_sum(w, p) ** (1 / p), rel=1e-12)


def test_batchnorm_is_folded_before_squaring():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double().eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.2, 3)
        net[1].weight.uniform_(-2, 2)
        net[1].bias.uniform_(-1, 1)
    f = fold_batchnorm(net[0], net[1])  # the reference's _reparam: W' = sW, b' = s(b − μ) + β
    w = [f.weight.detach(), net[3].weight.detach()]
    b = [f.bias.detach(), net[3].bias.detach()]
    assert path_norm(net, (3,)).value == pytest.approx(mlp_path_sum_with_biases(w, b, 2.0) ** 0.5, rel=1e-10)
    with pytest.raises(ValueError, match="biases must be one of"):
        path_norm(net, (3,), biases="zeroed")
