"""Operator norms, BN folding, dense-matrix row norms and path norms against brute force (float64)."""
import itertools
import math

import pytest
import torch
from torch import nn

from dlscope.measure import fold_batchnorm, layer_norms, operator_norm, path_norm, reshaped_kernel_norm
from dlscope.measure import trace_layers
from helpers import state_fingerprint
from oracles import dense_matrix

torch.manual_seed(0)


def top_sv(a):
    return float(torch.linalg.svdvals(a)[0])


def same_fingerprint(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], torch.Tensor):
            assert torch.equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


CONV2D_CASES = [
    dict(stride=1, padding=0),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2)),
    dict(stride=1, padding=2, dilation=2, groups=2),
    dict(stride=3, padding=1, groups=4),
    dict(stride=1, padding=1, padding_mode="circular"),
    dict(stride=2, padding=1, padding_mode="reflect"),
]


@pytest.mark.parametrize("kw", CONV2D_CASES)
@pytest.mark.parametrize("method", ["auto", "lanczos"])
def test_conv2d_operator_norm_matches_dense_svd(kw, method):
    conv = nn.Conv2d(4, 8, 3, **kw).double()
    shape = (4, 7, 9)
    exact = top_sv(dense_matrix(conv, shape))
    got = operator_norm(conv, shape, method=method)
    assert abs(got - exact) / exact <= 1e-6


@pytest.mark.parametrize("kw", [dict(stride=1, padding=0), dict(stride=2, padding=3, dilation=3),
                                dict(stride=1, padding=2, groups=3), dict(padding=1, padding_mode="circular")])
def test_conv1d_operator_norm_matches_dense_svd(kw):
    conv = nn.Conv1d(3, 6, 3, **kw).double()
    shape = (3, 100)  # 300 entries: past the dense threshold, so the Lanczos route is what is tested
    exact = top_sv(dense_matrix(conv, shape))
    assert abs(operator_norm(conv, shape) - exact) / exact <= 1e-6


@pytest.mark.parametrize("kw", [dict(stride=1), dict(stride=2, padding=1, groups=2), dict(stride=3, padding="valid"),
                                dict(padding=1, padding_mode="reflect")])
def test_pointwise_conv_operator_norm(kw):
    conv = nn.Conv2d(4, 6, 1, **kw).double()
    shape = (4, 7, 8)
    exact = top_sv(dense_matrix(conv, shape))
    assert abs(operator_norm(conv, shape) - exact) / exact <= 1e-6


def test_float32_layer_is_measured_in_float64():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    exact = top_sv(dense_matrix(lambda x: nn.functional.conv2d(x, conv.weight.double(), padding=1), (2, 6, 6)))
    assert abs(operator_norm(conv, (2, 6, 6), method="lanczos") - exact) / exact <= 1e-6


def test_fft_route_exact_for_circular_and_refused_otherwise():
    conv = nn.Conv2d(3, 5, 3, padding=2, dilation=2, padding_mode="circular").double()
    exact = top_sv(dense_matrix(conv, (3, 6, 5)))
    assert abs(operator_norm(conv, (3, 6, 5), method="fft") - exact) / exact <= 1e-9
    with pytest.raises(ValueError):
        operator_norm(nn.Conv2d(3, 5, 3, padding=1).double(), (3, 6, 5), method="fft")


def test_reshaped_kernel_norm_is_not_the_operator_norm():
    conv = nn.Conv2d(4, 8, 3, padding=1).double()
    op = operator_norm(conv, (4, 8, 8))
    rk = reshaped_kernel_norm(conv)
    assert rk == pytest.approx(top_sv(conv.weight.detach().reshape(8, -1)), rel=1e-12)
    assert abs(rk - op) / op > 0.05
    lin = nn.Linear(5, 3).double()
    assert reshaped_kernel_norm(lin) == pytest.approx(operator_norm(lin, (5,)), rel=1e-12)


def _trained_bn(bn):
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.2, 3)
        bn.weight.uniform_(-2, 2)
        bn.bias.uniform_(-1, 1)
    return bn


def test_batchnorm_folded_into_preceding_conv():
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1).double()
    bn = _trained_bn(nn.BatchNorm2d(4).double()).eval()
    exact = top_sv(dense_matrix(lambda x: bn(conv(x)), (3, 9, 9)))
    assert abs(operator_norm(conv, (3, 9, 9), bn=bn) - exact) / exact <= 1e-6
    folded = fold_batchnorm(conv, bn)
    x = torch.randn(5, 3, 9, 9, dtype=torch.float64)
    assert torch.allclose(folded(x), bn(conv(x)), atol=1e-12)


def test_trace_uses_forward_order_and_folds_only_adjacent_bn():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.last = nn.Linear(6 * 4 * 4, 3)  # registered first, called last
            self.bn2 = nn.BatchNorm2d(6)
            self.conv2 = nn.Conv2d(5, 6, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(5)
            self.conv1 = nn.Conv2d(2, 5, 3, stride=2, padding=1)

        def forward(self, x):
            x = self.bn1(self.conv1(x))
            x = self.bn2(torch.relu(self.conv2(x)))  # BN after ReLU: its own diagonal layer
            return self.last(x.flatten(1))

    names = [lay.name for lay in trace_layers(Net(), (2, 8, 8)).layers]
    assert names == ["conv1+bn1", "conv2", "bn2", "last"]


def test_lipschitz_of_pools():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(3, stride=1, padding=1),
                        nn.Conv2d(2, 2, 3), nn.MaxPool2d(3, stride=1), nn.Flatten(), nn.Linear(2 * 4 * 4, 2))
    layers = trace_layers(net, (1, 8, 8)).layers
    pool = nn.AvgPool2d(3, stride=1, padding=1)
    assert layers[0].rho == pytest.approx(top_sv(dense_matrix(pool, (2, 8, 8))), rel=1e-9)
    assert layers[1].rho == pytest.approx(3.0)  # each pixel is in up to 3×3 overlapping max windows
    assert layers[2].rho == 1.0


@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_dense_row_norms_l21_and_frobenius(padding_mode):
    net = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode=padding_mode), nn.ReLU(),
                        nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()
    ref = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode=padding_mode), nn.ReLU(),
                        nn.Flatten(), nn.Linear(3 * 4 * 4, 2)).double()
    rows = layer_norms(net, (2, 7, 7), reference=ref)
    conv, conv0 = net[0], ref[0]
    a = dense_matrix(conv, (2, 7, 7))
    m = dense_matrix(conv0, (2, 7, 7))
    assert rows[0]["l21"] == pytest.approx(float(a.norm(dim=1).sum()), rel=1e-10)
    assert rows[0]["l21_dist"] == pytest.approx(float((a - m).norm(dim=1).sum()), rel=1e-10)
    assert rows[0]["fro_dense"] == pytest.approx(float(a.norm()), rel=1e-10)
    assert rows[0]["dist_spec"] == pytest.approx(top_sv(a - m), rel=1e-6)
    assert rows[0]["spec"] == pytest.approx(top_sv(a), rel=1e-6)
    w = net[3].weight.detach()
    assert rows[1]["l21"] == pytest.approx(float(w.norm(dim=1).sum()), rel=1e-12)


def _brute_path_norm(w1, w2, p):
    total = 0.0
    for i, j, k in itertools.product(range(w1.shape[1]), range(w1.shape[0]), range(w2.shape[0])):
        total += abs(float(w1[j, i])) ** p * abs(float(w2[k, j])) ** p
    return total ** (1 / p)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_path_norm_equals_enumeration_of_paths(p):
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    expected = _brute_path_norm(net[0].weight.detach(), net[2].weight.detach(), p)
    assert path_norm(net, (3,), p=p, biases="excluded").value == pytest.approx(expected, rel=1e-12)  # input paths only


def test_path_norm_through_batchnorm_and_skip():
    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.bn, self.b = nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2), nn.Linear(2, 1, bias=False)

        def forward(self, x):
            return self.b(torch.relu(self.bn(self.a(x))) + x)  # paths: a·bn·b and the skip x·b

    net = Res()
    _trained_bn(net.bn)
    s = (net.bn.weight.double() / torch.sqrt(net.bn.running_var.double() + net.bn.eps)).detach()
    a, b = net.a.weight.detach().double(), net.b.weight.detach().double()
    through_a = sum((a[j, i] * s[j] * b[0, j]) ** 2 for i in range(2) for j in range(2))
    brute = through_a + sum(b[0, i] ** 2 for i in range(2))
    assert path_norm(net, (2,), p=2, biases="excluded").value == pytest.approx(math.sqrt(float(brute)), rel=1e-10)


def test_norm_instruments_leave_model_bit_identical():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 2))
    net.train()
    net(torch.randn(4, 1, 8, 8)).sum().backward()
    before = state_fingerprint(net)
    layer_norms(net, (1, 8, 8), reference=net)
    path_norm(net, (1, 8, 8))
    operator_norm(net[0], (1, 8, 8), bn=net[1])
    same_fingerprint(before, state_fingerprint(net))


def test_projection_shortcut_is_marked_parallel():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, padding=1)
            self.short = nn.Conv2d(2, 4, 1, stride=2)

        def forward(self, x):
            return self.conv2(torch.relu(self.conv1(x))) + self.short(x)

    layers = trace_layers(Block(), (2, 6, 6)).layers
    assert [(lay.name, lay.parallel_to) for lay in layers] == [("conv1", None), ("conv2", None), ("short", "conv1")]
