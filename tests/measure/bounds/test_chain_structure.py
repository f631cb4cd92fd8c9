"""Issue 14 item 2: R_A is defined for chains; structure the module hooks cannot see is refused.

Fails on d1e8aa0 (UserResidualCNN got the same R_A as its chain twin, with only a note in settings).
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlscope import models
from dlscope.measure import path_norm, spectral_complexity, trace_layers
from cases import UserChainCNN, UserResidualCNN


def _twins():
    res, chain = UserResidualCNN().double(), UserChainCNN().double()
    chain.load_state_dict(res.state_dict())
    return res, chain


def test_residual_add_is_refused_with_one_line_naming_it():
    res, chain = _twins()
    with pytest.raises(ValueError, match=r"spectral_complexity: the forward pass adds two branches "
                                         r"\(after 'bn1' and after 'bn2'\); R_A is defined for chains"):
        spectral_complexity(res, (1, 8, 8))
    r = spectral_complexity(chain, (1, 8, 8))
    assert r.value > 0 and [lay["name"] for lay in r.extra["layers"]] == ["conv1+bn1", "conv2+bn2", "head"]


class _Cat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(6, 2)

    def forward(self, x):
        return self.b(torch.cat([torch.relu(self.a(x)), x], 1))


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 2)

    def forward(self, x):
        return self.b(5 * torch.relu(self.a(x)))  # a functional scaling: not 1-Lipschitz


def test_concatenation_and_unknown_functional_ops_are_refused():
    with pytest.raises(ValueError, match=r"concatenates two branches \(after 'a' and the input\)"):
        spectral_complexity(_Cat(), (3,))
    with pytest.raises(ValueError, match="applies MulBackward0 after 'a' outside any module"):
        spectral_complexity(_Scaled(), (3,))


class _FunctionalPool(nn.Module):
    def __init__(self, functional):
        super().__init__()
        self.functional = functional
        self.conv, self.pool = nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(3, stride=1)
        self.fc = nn.Linear(2 * 4 * 4, 2)

    def forward(self, x):
        h = self.conv(x)
        h = F.max_pool2d(torch.relu(h), 3, stride=1) if self.functional else self.pool(nn.functional.relu(h))
        return self.fc(h.flatten(1))


def test_functional_activations_enter_rho_like_their_modules():
    a, b = _FunctionalPool(True), _FunctionalPool(False)
    b.load_state_dict(a.state_dict())
    ta, tb = trace_layers(a, (1, 6, 6)), trace_layers(b, (1, 6, 6))
    assert ta.layers[0].rho == pytest.approx(3.0) == tb.layers[0].rho  # 3×3 windows, stride 1
    assert spectral_complexity(a, (1, 6, 6)).value == pytest.approx(spectral_complexity(b, (1, 6, 6)).value, rel=1e-9)


@pytest.mark.parametrize("name,kw,shape", [("cnn", {"channels": (4, 4), "fc": (8, 6)}, (40,)),
                                           ("mlp", {"widths": (8, 8)}, (40,))])
def test_dlscope_chains_still_measured(name, kw, shape):
    net = models.build(name, input_shape=shape, num_classes=10, **kw)
    r = spectral_complexity(net, shape)
    assert r.value > 0 and r.settings["structure"].startswith("chain")


def test_path_norm_still_handles_identity_skips():
    res, _ = _twins()
    assert path_norm(res, (1, 8, 8)).value > 0


def test_structure_is_read_under_no_grad_and_inference_mode():
    res, _ = _twins()
    for ctx in (torch.no_grad, torch.inference_mode):
        with ctx():
            assert trace_layers(res, (1, 8, 8)).joins == ["adds two branches (after 'bn1' and after 'bn2')"]
