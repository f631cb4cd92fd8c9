"""Zhang et al. 2017's "Inception w/o BatchNorm" (§3.1, Table 1): the small Inception of their
Figure 3 "exactly the same ... except with all the batch normalization layers removed".

Every BatchNorm layer of :class:`~dlscope.models.InceptionSmall` is replaced by its affine part
alone, y = γ ⊙ x + β per channel (γ = 1, β = 0 at initialization, no normalization, no running
statistics). The parameter count is therefore the BN net's (Table 1 lists 1,649,402 for both).

Without normalization the depth matters at initialization: PyTorch's default convolution init
(variance 1/(3 fan_in)) shrinks the signal by ≈ √6 per conv–ReLU layer, and through the eleven layers
of this net the logits start ≈ 10⁻⁴ of their BN values and SGD does not move (measured on MNIST-1D:
chance accuracy after 450 steps at lr 0.01). The convolutions are therefore He-initialized
(variance 2/fan_in, He et al. 2015), which keeps the signal's scale from layer to layer.
"""
from __future__ import annotations

import torch
from torch import nn

from .cnn import InceptionSmall

__all__ = ["InceptionSmallNoBN", "ChannelAffine"]


class ChannelAffine(nn.Module):
    """y = γ ⊙ x + β along the channel axis (dim 1): a BatchNorm without the normalization."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.weight.view(shape) + self.bias.view(shape)


def _strip_batchnorm(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, ChannelAffine(child.num_features))
        else:
            _strip_batchnorm(child)


class InceptionSmallNoBN(InceptionSmall):
    def __init__(self, input_shape, num_classes, width=1.0):
        super().__init__(input_shape, num_classes, width=width)
        self.spec = dict(width=width, batchnorm=False)
        _strip_batchnorm(self)
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
