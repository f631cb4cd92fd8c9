"""Benchmark: spectral complexity of a CIFAR-style ResNet-20 on 32×32 inputs, on one CPU thread,
and how far the reshaped-kernel norm (torch.nn.utils.spectral_norm's) is from the exact operator norm.

    python bench/norms.py            # ResNet-20 from dlscope.models (a local copy if that is missing)

Prints one line per layer (exact ‖A‖_σ on the traced input shape, reshaped-kernel norm, relative
error) and the wall time of ``spectral_complexity``. Weights: the default PyTorch initialization,
then every BatchNorm given non-trivial running statistics (seeded) so folding matters.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from dlscope.measure import spectral_complexity


def resnet20() -> nn.Module:
    try:
        from dlscope.models import build

        return build("resnet", input_shape=(3, 32, 32), num_classes=10, depth=20)
    except ImportError:  # the foundation's models are not there yet: an equivalent local ResNet-20
        return _LocalResNet20()


class _Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                      if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.short(x))


class _LocalResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, c = [], 16
        for cout, stride in [(16, 1), (32, 2), (64, 2)]:
            for i in range(3):
                blocks.append(_Block(c, cout, stride if i == 0 else 1))
                c = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    net = resnet20()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_var.uniform_(0.3, 3.0)
                m.weight.uniform_(0.5, 1.5)
    t0 = time.perf_counter()
    r = spectral_complexity(net, (3, 32, 32))
    elapsed = time.perf_counter() - t0
    print(f"torch {torch.__version__}, {args.threads} thread(s), {sum(p.numel() for p in net.parameters())} parameters")
    print(f"{'layer':44s} {'input':>12s} {'exact':>9s} {'reshaped':>9s} {'rel.err':>8s}")
    errs = []
    for row in r.extra["layers"]:
        err = (row["spec_reshaped"] - row["spec"]) / row["spec"]
        errs.append(abs(err))
        shape = "x".join(map(str, row["input_shape"]))
        print(f"{row['name']:44s} {shape:>12s} {row['spec']:9.4f} {row['spec_reshaped']:9.4f} {err:+8.1%}")
    print(f"relative error |reshaped − exact| / exact: median {sorted(errs)[len(errs) // 2]:.1%}, max {max(errs):.1%}")
    print(f"R_A = {r.value:.4g}   ∏ρ‖A‖_σ = {r.extra['prod_spec']:.4g}   R_F = {r.extra['frobenius_variant']:.4g}")
    print(f"layers beside the chain (shortcuts): {r.settings['parallel_layers']}")
    print(f"spectral_complexity wall time: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
