"""Model registry: shapes, forward-order layers, plain vs residual, identity initialisations."""
import pytest
import torch
from torch import nn

from dlscope import models as M
from dlscope.measure import trace_layers

CASES = [
    ("mlp", (40,), {"widths": (16, 8), "activation": "sigmoid", "dropout": 0.1}),
    ("cnn", (40,), {"channels": (4, 4), "fc": (8, 8)}),
    ("cnn", (1, 28, 28), {"channels": (4, 4), "fc": (8, 8)}),
    ("conv1d", (40,), {"channels": 4}),
    ("inception-small", (3, 32, 32), {"width": 0.1}),
    ("resnet", (3, 16, 16), {"depth": 8}),
    ("resnet", (40,), {"depth": 14, "residual": False, "norm": "none"}),
    ("deep-linear", (40,), {"depth": 3}),
]


@pytest.mark.parametrize("name,shape,kw", CASES)
def test_build_forward_backward(name, shape, kw):
    torch.manual_seed(0)
    m = M.build(name, input_shape=shape, num_classes=10, **kw)
    out = m(torch.randn(3, *shape))
    assert out.shape == (3, 10)
    out.sum().backward()
    layers = [lay.module for lay in trace_layers(m, shape).layers]
    assert layers and all(isinstance(l, (nn.Linear, nn.Conv1d, nn.Conv2d)) for l in layers)
    assert layers[-1].out_features == 10  # the classifier comes last in forward order


def test_forward_order_is_call_order_not_registration_order():
    class Rev(nn.Module):
        def __init__(self):
            super().__init__()
            self.second = nn.Linear(8, 3)
            self.first = nn.Linear(5, 8)

        def forward(self, x):
            return self.second(torch.relu(self.first(x)))

    m = Rev()
    assert [lay.name for lay in trace_layers(m, (5,)).layers] == ["first", "second"]
    assert m.training


def test_resnet_depth_and_plain_vs_residual():
    res = M.build("resnet", input_shape=(3, 32, 32), num_classes=10, depth=20)
    plain = M.build("resnet", input_shape=(3, 32, 32), num_classes=10, depth=20, residual=False)
    assert len(trace_layers(res, (3, 32, 32)).layers) == 1 + 18 + 2 + 1  # stem, 18 block convs, 2 shortcuts, fc
    assert len(trace_layers(plain, (3, 32, 32)).layers) == 1 + 18 + 1
    with pytest.raises(ValueError, match="6n\\+2"):
        M.build("resnet", input_shape=(3, 32, 32), num_classes=10, depth=21)


def test_residual_blocks_without_norm_start_at_identity():
    torch.manual_seed(0)
    m = M.build("resnet", input_shape=(3, 8, 8), num_classes=10, depth=8, norm="none")
    blk = m.blocks[0]  # same shape in and out, identity shortcut
    x = torch.relu(torch.randn(2, 16, 8, 8))
    assert torch.equal(blk(x), x)


def test_deep_linear_starts_at_identity():
    m = M.build("deep-linear", input_shape=(10,), num_classes=10, depth=5, readout=False)
    x = torch.randn(4, 10)
    assert torch.equal(m(x), x)
    assert torch.equal(m.end_to_end(), torch.eye(10))
    with torch.no_grad():
        for b in m.blocks:
            b.A.weight.normal_(0, 0.1)
    assert torch.allclose(m(x), x @ m.end_to_end().T, atol=1e-6)


def test_inception_small_matches_paper_size():
    m = M.build("inception-small", input_shape=(3, 32, 32), num_classes=10)
    n = sum(p.numel() for p in m.parameters())
    assert abs(n - 1_649_402) / 1_649_402 < 0.01  # Zhang et al. 2017, Table 1: 1,649,402 parameters


def test_build_errors_list_valid_options():
    with pytest.raises(ValueError, match="choose one of"):
        M.build("vgg", input_shape=(3, 32, 32), num_classes=10)
    with pytest.raises(ValueError, match="valid:.*widths"):
        M.build("mlp", input_shape=(4,), num_classes=2, width=3)
