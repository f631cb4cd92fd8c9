"""The one registry of small test models: tiny float64 problems for every family of instruments.

Each :class:`Case` is a model, a loss and data (split into unequal batches by ``.batches``);
the brute-force answers live in :mod:`oracles`. ``UserResidualCNN`` and ``UserPoolCNN`` are
user-style modules (BatchNorm, pooling, functional calls and a residual add in ``forward``).
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


class UserResidualCNN(nn.Module):
    """A model dlscope did not build: BatchNorm, max-pool, functional ReLU, a residual add (8×8 inputs)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = torch.relu(h + self.bn2(self.conv2(h)))
        return self.head(self.pool(h).flatten(1))


class UserPoolCNN(nn.Module):
    """conv–BN–ReLU–average-pool and a linear head, 6×6 inputs, 2 classes."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 2)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1))


# --- issue 14 (bounds helper): biased chains, a residual net and its chain twin -------------------

class UserChainCNN(UserResidualCNN):
    """UserResidualCNN without the residual add: h = relu(bn2(conv2(h))) — a chain."""

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        h = torch.relu(self.bn2(self.conv2(h)))
        return self.head(self.pool(h).flatten(1))


def biased_mlp(seed=0, widths=(3, 5, 4, 3)) -> Case:
    """A ReLU MLP with biases (float64), the small net of issue 14's bias check."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    mods = []
    for a, b in zip(widths[:-1], widths[1:]):
        mods += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*mods[:-1]).double()
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.bias.normal_(0, 0.5, generator=g)
    x = torch.randn(40, widths[0], generator=g, dtype=torch.float64)
    return Case("biased_mlp", model, F.cross_entropy, x, torch.randint(0, widths[-1], (40,), generator=g))


# --- issue 15/17 (run directories): a preset run small enough to repeat dozens of times in a test ---
# zhang2017 on 200 mnist1d examples, a 16-unit MLP, 40 SGD steps with evaluations at 20 and 40, one
# true-label and one random-label run: 2 sub-runs, 19 file writes, ≈ 0.3 s with figures stubbed.
TINY_ZHANG = dict(n_train=200, n_test=100, model="mlp", width=16, depth=1, max_steps=40, eval_every=20,
                  variants=("true_labels", "random_labels"), fractions=(0.0, 1.0), seeds=(0,))
TINY_ZHANG_SET = [a for k, v in TINY_ZHANG.items()
                  for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
# a valid 1×1 PNG: what the stubbed Figure.savefig writes (rendering is ≈ 80 % of a tiny run's time)
PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def stub_savefig(self, path, **kw):
    """Replacement for ``matplotlib.figure.Figure.savefig`` in tests about files, not pictures."""
    with open(path, "wb") as f:
        f.write(PNG_1X1)


# --- issue 12 (sweeps): cells of zhang2017 small enough for a sweep of a few cells in a test ------------
# SWEEP_TINY: one true-label run of a 4-unit MLP on 64 examples of the Gaussian mixture (generated in
# milliseconds: mnist1d's generator costs every fresh worker ≈ 3.5 s), 20 SGD steps (≈ 0.4 s a cell with
# its figures). SWEEP_KILL: a 16-unit MLP on 256 examples, 600 steps with a checkpoint every 10
# (≈ 3 s a cell quiet): the window in which a poller sees a cell mid-training must survive a loaded
# 2-core CI machine (at 120 steps, ≈ 0.6 s, the Ray kill test missed it under load 3).
SWEEP_TINY = dict(data="gaussian-mixture", n_train=64, n_test=64, model="mlp", width=4, depth=1, batch_size=32,
                  max_steps=20, eval_every=10, variants=("true_labels",), fractions=(0.0,))
SWEEP_KILL = dict(SWEEP_TINY, n_train=256, width=16, max_steps=600)


# --- issue 14 (items 6 and 9): models for the Hessian index and critical-point searches -------------------------
def index_mlp(seed=0) -> Case:
    """A 2,685-parameter tanh MLP (20–40–40–5) at initialization on 128 Gaussian inputs with random
    labels, float64: a net Hessian whose eigenvalues crowd the index threshold −10⁻³ λ_max (24% of
    them lie within ±10⁻³ λ_max of 0; exact index 0.382), the hard case for counting by quadrature."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 40), nn.Tanh(), nn.Linear(40, 40), nn.Tanh(), nn.Linear(40, 5)).double()
    x = torch.randn(128, 20, generator=g, dtype=torch.float64)
    return Case("index_mlp", model, F.cross_entropy, x, torch.randint(0, 5, (128,), generator=g))


# --- issue 18 (ntk): NTK-parameterized ReLU nets on inputs on the sphere of radius √d; a net whose
# Jacobian on its inputs is far larger than the memory budget the blocked NTK is given ---

def sphere_inputs(n: int, d: int, seed: int = 0) -> torch.Tensor:
    """n float64 points drawn uniformly on the sphere of radius √d (so that x·x/d = 1)."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True) * d ** 0.5


def ntk_mlp(width: int, depth: int = 1, seed: int = 0, d: int = 8, classes: int = 2, alpha: float = 1.0):
    """``models.build("ntk-mlp")`` in float64, weights drawn under ``torch.manual_seed(seed)``."""
    from dlscope import models

    torch.manual_seed(seed)
    return models.build("ntk-mlp", input_shape=(d,), num_classes=classes, width=width, depth=depth,
                        alpha=alpha).double()


def jacobian_heavy(seed: int = 0):
    """(model, x): a float32 MLP 20–600–10 (18.6k parameters) on 16 inputs, so the full Jacobian
    J (16 × 10 × 18.6k floats) takes 11.9 MB."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(20, 600), nn.ReLU(), nn.Linear(600, 10))
    return model, torch.randn(16, 20, generator=torch.Generator().manual_seed(seed))


# --- issue 10: PAC-Bayes certificates ------------------------------------------------------------

def linear_binary(seed=0, n=64) -> Case:
    """A 2-class linear model (2 logits, float64) on two overlapping Gaussian blobs in R²: its stochastic
    error under independent Gaussian weights is known exactly (oracles.linear_snn_error)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Linear(2, 2).double()
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64) + 1.5 * (2 * y[:, None].double() - 1)
    return Case("linear_binary", model, F.cross_entropy, x, y)


# --- issue 8 (depth and near-identities): residual test models -----------------------------------

class UserResidualMLP(nn.Module):
    """A user's residual net without ``branch`` attributes: blocks ``res1``, ``res2`` compute x + f(x)
    (their names are passed to the instrument), a ``head`` that changes the shape."""

    def __init__(self, d=4, width=6, scale=0.5):
        super().__init__()
        self.res1 = _PlainResidual(d, width, scale)
        self.res2 = _PlainResidual(d, width, scale)
        self.head = nn.Linear(d, 2)

    def forward(self, x):
        return self.head(self.res2(self.res1(x)))


class _PlainResidual(nn.Module):
    def __init__(self, d, width, scale):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(d, width), nn.Tanh(), nn.Linear(width, d))
        with torch.no_grad():
            self.f[2].weight.mul_(scale)

    def forward(self, x):
        return x + self.f(x)


class LinearResidual(nn.Module):
    """h(x) = x + W x (a ``branch`` module), or x + conv(x) for a 1-D convolution."""

    def __init__(self, d=5, conv=False):
        super().__init__()
        self.branch = nn.Conv1d(2, 2, 3, padding=1, bias=False) if conv else nn.Linear(d, d, bias=False)

    def forward(self, x):
        return x + self.branch(x)


# --- issue 11 (sgd helper): a loss that is exactly quadratic in θ --------------------------------

def linear_regression(seed=0) -> Case:
    """A linear model with the squared loss: L(θ) is a quadratic, so E_u L(θ + u) = L(θ) + ½ E[uᵀHu]."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 3)).double()
    x = torch.randn(20, 4, generator=g, dtype=torch.float64)
    return Case("linear_regression", model, F.mse_loss, x, torch.randn(20, 3, generator=g, dtype=torch.float64))
