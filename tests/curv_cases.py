"""Registry of tiny float64 problems for the optimization instruments, with brute-force answers.

Each case is a model, a loss and data split into unequal batches; ``dense_hessian`` and
``dense_ggn`` compute the exact matrices with ``torch.func`` on the flat parameter vector.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

F = nn.functional


@dataclasses.dataclass
class Case:
    name: str
    model: nn.Module
    loss_fn: Callable
    x: torch.Tensor
    y: torch.Tensor

    @property
    def batches(self):
        """Unequal batches (5, 7, rest) to exercise the n_b/N weighting."""
        cuts = [0, 5, 12, len(self.y)]
        return [(self.x[a:b], self.y[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]

    def names(self):
        return [n for n, _ in self.model.named_parameters()]

    def flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])

    def unflat(self, flat) -> dict:
        out, i = {}, 0
        for n, p in self.model.named_parameters():
            out[n] = flat[i:i + p.numel()].view_as(p)
            i += p.numel()
        return out

    def outputs(self, flat):
        buffers = {n: b.clone() for n, b in self.model.named_buffers()}
        training = self.model.training
        self.model.eval()
        try:
            return functional_call(self.model, {**self.unflat(flat), **buffers}, (self.x,))
        finally:
            self.model.train(training)

    def loss(self, flat):
        return self.loss_fn(self.outputs(flat), self.y)

    def dense_hessian(self) -> torch.Tensor:
        # reverse-over-reverse: forward-mode AD would load torch's deprecated jit decompositions
        return torch.func.jacrev(torch.func.jacrev(self.loss))(self.flat())

    def dense_ggn(self) -> torch.Tensor:
        flat = self.flat()
        J = torch.func.jacrev(self.outputs)(flat)
        z = self.outputs(flat).detach()
        J = J.reshape(z.numel(), -1)
        lz = lambda zz: self.loss_fn(zz.view_as(z), self.y)  # noqa: E731
        HL = torch.func.jacrev(torch.func.jacrev(lz))(z.reshape(-1))
        return J.T @ HL @ J


def mlp(seed=0) -> Case:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x = torch.randn(16, 4, generator=g, dtype=torch.float64)
    return Case("mlp", model, F.cross_entropy, x, torch.randint(0, 3, (16,), generator=g))


def cnn(seed=0) -> Case:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Softplus(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3)).double()
    x = torch.randn(14, 1, 5, 5, generator=g, dtype=torch.float64)
    return Case("cnn", model, F.cross_entropy, x, torch.randint(0, 3, (14,), generator=g))


def bn_net(seed=0) -> Case:
    """BatchNorm with non-trivial running statistics; the model is left in *train* mode so the
    instruments' default mode="eval" has something to switch (and restore)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).double()
    with torch.no_grad():
        model.train()
        for _ in range(3):
            model(torch.randn(32, 3, generator=g, dtype=torch.float64) * 2 + 1)
    x = torch.randn(15, 3, generator=g, dtype=torch.float64)
    return Case("bn_net", model, F.cross_entropy, x, torch.randint(0, 2, (15,), generator=g))


def regression(seed=0) -> Case:
    """MSE regression (the GGN is then exactly JᵀJ·2/(N·d))."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2)).double()
    x = torch.randn(13, 3, generator=g, dtype=torch.float64)
    return Case("regression", model, F.mse_loss, x, torch.randn(13, 2, generator=g, dtype=torch.float64))


CASES = {"mlp": mlp, "cnn": cnn, "bn_net": bn_net, "regression": regression}


def fingerprint_equal(a: dict, b: dict) -> bool:
    """Bit-identical comparison of two ``state_fingerprint`` dicts."""
    if a.keys() != b.keys():
        return False
    for k in a:
        u, v = a[k], b[k]
        if isinstance(u, torch.Tensor) or isinstance(v, torch.Tensor):
            if not (isinstance(u, torch.Tensor) and isinstance(v, torch.Tensor)) or u.dtype != v.dtype \
                    or u.shape != v.shape or not torch.equal(u, v):
                return False
        elif u != v:
            return False
    return True


def dirty(model: nn.Module) -> nn.Module:
    """Give every parameter a .grad and put the model in train mode (state an instrument must keep)."""
    model.train()
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.125)
    return model
