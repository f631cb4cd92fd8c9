"""What every dlscope model shares: its input shape and its weight-bearing layers in forward order.

Norm-based bounds (Bartlett et al. 2017; Neyshabur et al. 2017) multiply per-layer
quantities in the order the input traverses the layers, which for a general
``nn.Module`` is not the order of registration; :func:`forward_layers` finds it by
running one forward pass with hooks.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DLModel", "forward_layers", "WEIGHT_LAYERS", "conv_cls", "pool_cls", "bn_cls"]

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def forward_layers(model: nn.Module, input_shape: tuple[int, ...], types=WEIGHT_LAYERS) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module of ``types`` in the order a forward pass first calls it.

    The pass runs under ``torch.no_grad`` in eval mode on a zero input of batch size 2;
    the model's mode is restored afterwards.
    """
    names = {m: n for n, m in model.named_modules()}
    order: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()

    def hook(mod, _inp, _out):
        if id(mod) not in seen:
            seen.add(id(mod))
            order.append((names[mod], mod))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, types)]
    was_training = {m: m.training for m in model.modules()}
    p = next(model.parameters(), None)
    x = torch.zeros(2, *input_shape, dtype=p.dtype if p is not None else torch.float32,
                    device=p.device if p is not None else "cpu")
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, t in was_training.items():
            m.training = t
    return order


class DLModel(nn.Module):
    """Base of dlscope's models: remembers ``input_shape`` and ``spec`` (the build kwargs)."""

    input_shape: tuple[int, ...]
    spec: dict

    def weight_layers(self) -> list[nn.Module]:
        """Linear/Conv layers in forward order (for norms and bounds)."""
        return [m for _, m in forward_layers(self, self.input_shape)]


def conv_cls(dims: int):
    return {1: nn.Conv1d, 2: nn.Conv2d}[dims]


def pool_cls(dims: int):
    return {1: nn.MaxPool1d, 2: nn.MaxPool2d}[dims]


def bn_cls(dims: int):
    return {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}[dims]


def spatial(input_shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    """(spatial dims, shape with a channel axis): (40,) -> (1, (1, 40)); (3, 32, 32) -> (2, same)."""
    if len(input_shape) == 1:
        return 1, (1, input_shape[0])
    if len(input_shape) in (2, 3):
        return len(input_shape) - 1, tuple(input_shape)
    raise ValueError(f"unsupported input shape {input_shape}")
