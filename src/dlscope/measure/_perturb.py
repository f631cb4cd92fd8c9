"""Evaluate a model at perturbed weights w + u without leaving it perturbed.

Shared by the flatness instruments. Used only inside ``preserved(model)``, which restores
weights, grads, requires_grad flags and modes bit-identically afterwards. The model is
evaluated in eval mode (BatchNorm running statistics, no dropout), so the loss and accuracy
are deterministic functions of w; all trainable parameters (weights, biases, BatchNorm affine)
are perturbed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Perturbed:
    def __init__(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024):
        self.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.w0 = [p.detach().clone() for p in self.params]
        p0 = self.params[0]
        self.x = x.to(device=p0.device, dtype=p0.dtype)
        self.y = y.to(p0.device)
        self.batch_size = batch_size
        model.eval()

    def set(self, u) -> None:
        """w ← w0 + u (u: list of tensors shaped like the parameters, or None for u = 0)."""
        with torch.no_grad():
            for p, w0, ui in zip(self.params, self.w0, u if u is not None else [None] * len(self.params)):
                p.copy_(w0 if ui is None else w0 + ui)

    def batches(self):
        for i in range(0, len(self.x), self.batch_size):
            yield self.x[i:i + self.batch_size], self.y[i:i + self.batch_size]

    def accuracy(self) -> float:
        correct = 0
        with torch.no_grad():
            for xb, yb in self.batches():
                correct += int((self.model(xb).argmax(1) == yb).sum())
        return correct / len(self.x)

    def loss(self) -> float:
        total = 0.0
        with torch.no_grad():
            for xb, yb in self.batches():
                total += float(F.cross_entropy(self.model(xb), yb, reduction="sum"))
        return total / len(self.x)

    def loss_and_grad(self) -> tuple[float, list]:
        """Mean cross-entropy over the data and its gradient w.r.t. the perturbed parameters."""
        grads = [torch.zeros_like(p) for p in self.params]
        total = 0.0
        with torch.enable_grad():
            for xb, yb in self.batches():
                loss = F.cross_entropy(self.model(xb), yb, reduction="sum")
                gs = torch.autograd.grad(loss, self.params, allow_unused=True)
                for g, gi in zip(grads, gs):
                    if gi is not None:
                        g.add_(gi)
                total += float(loss.detach())
        n = len(self.x)
        return total / n, [g / n for g in grads]


def normal_like(params, generator: torch.Generator) -> list:
    """One draw z ~ N(0, I) shaped like ``params`` (drawn on CPU so a seed means the same everywhere)."""
    return [torch.randn(p.shape, generator=generator, dtype=torch.float64).to(p.device, p.dtype) for p in params]
