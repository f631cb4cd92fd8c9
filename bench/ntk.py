"""The empirical NTK of ResNet-20 (He et al. 2016; ``models.build("resnet", depth=20)``, 272k
parameters, 10 outputs, eval mode) on n CIFAR-shaped inputs (random values: cost does not depend
on them): ``output="trace"`` (n × n) and ``output="full"`` (n × n × 10 × 10), each under the same
memory budget.

Prints, per output: the row panel and column chunk the budget allowed, the example-Jacobians
computed (n is the minimum), the measured peak tensor memory (``measure.PeakMemory``: storages
allocated by the call; on CUDA also the allocator's peak), the bytes of the kernel and of the full
Jacobian J an unblocked computation would hold — and its time as a ratio to one SGD step of the
same net on a batch of 128 (forward, cross-entropy, backward), measured in the same run.

    .venv/bin/python bench/ntk.py [--n 1000] [--budget-gib 4] [--outputs trace,full] [--device cpu]
                                  [--threads 1] [--steps 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from dlscope import models
from dlscope.measure import ntk


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_seconds(model, device, steps: int) -> float:
    """Median seconds of one forward + backward on a batch of 128 (the unit of the ratios)."""
    x = torch.randn(128, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (128,), device=device)
    model.train()
    times = []
    for _ in range(steps + 1):
        sync(device)
        t = time.perf_counter()
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        sync(device)
        times.append(time.perf_counter() - t)
    model.zero_grad(set_to_none=True)
    return statistics.median(times[1:])  # the first call warms up


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--budget-gib", type=float, default=4.0)
    ap.add_argument("--outputs", default="trace,full")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    torch.manual_seed(0)
    model = models.build("resnet", input_shape=(3, 32, 32), num_classes=10, depth=20).to(device)
    x = torch.randn(a.n, 3, 32, 32, generator=torch.Generator().manual_seed(1)).to(device)
    params = sum(p.numel() for p in model.parameters())
    print(f"ResNet-20: {params} parameters; n = {a.n}; budget {a.budget_gib} GiB; device {device}; threads {a.threads}")
    unit = step_seconds(model, device, a.steps)
    model.eval()
    for output in a.outputs.split(","):
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        sync(device)
        t = time.perf_counter()
        r = ntk(model, x, output=output, memory_budget=int(a.budget_gib * 2 ** 30))
        sync(device)
        sec = time.perf_counter() - t
        e = r.extra
        cuda = (f"; CUDA allocator peak {(torch.cuda.max_memory_allocated(device) - base) / 2 ** 30:.2f} GiB"
                if device.type == "cuda" else "")
        print(f"{output:5s}: panels {r.settings['block_size']} (rows, columns), {e['jacobian_evaluations']} "
              f"example-Jacobians ({e['jacobian_evaluations'] / a.n:.1f}× n); peak {e['peak_bytes'] / 2 ** 30:.2f} GiB"
              f"{cuda}; kernel {e['kernel_bytes'] / 2 ** 30:.3f} GiB; "
              f"full J would be {e['jacobian_bytes'] / 2 ** 30:.1f} GiB; "
              f"time = {sec / unit:.0f} SGD steps (batch 128)")
        del r


if __name__ == "__main__":
    main()
