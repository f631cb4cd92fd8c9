"""Batched augmentation (``dlscope.train.augment``) against a CIFAR-style training step and against
the per-image loop it replaced.

One CIFAR-10-shaped batch (128 × 3 × 32 × 32, random values: timing does not depend on them).
Per repetition, alternately: ``--inner`` calls of the batched augmentation, ``--inner`` calls of
the per-image reference, and one SGD step (forward, cross-entropy, backward, momentum update) of
ResNet-20 (``resnet``, depth 20; He et al. 2016) or Zhang et al.'s Inception-small at width 0.25
(``--model inception-small``). Each call seeds a fresh CPU generator, as the training loop does.
Prints the medians' ratios: augmentation time as a fraction of a step (target ≤ 5%) and the
speed-up of the batched version over the loop, both from the same run.

    .venv/bin/python bench/augment.py [--model resnet|inception-small] [--reps 7] [--inner 20]
                                      [--device cpu|cuda] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from dlscope import models
from dlscope.train.augment import augment, augment_reference

MODELS = {"resnet": {"depth": 20}, "inception-small": {"width": 0.25}}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device, calls: int = 1) -> float:
    """Seconds per call, over ``calls`` calls."""
    sync(device)
    t = time.perf_counter()
    for i in range(calls):
        fn(i)
    sync(device)
    return (time.perf_counter() - t) / calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), default="resnet")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--inner", type=int, default=20, help="augmentation calls per repetition")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.batch, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (a.batch,), generator=g).to(device)
    torch.manual_seed(0)
    model = models.build(a.model, input_shape=(3, 32, 32), num_classes=10, **MODELS[a.model]).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(i):
        xa = augment(x, torch.Generator().manual_seed(i))
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xa), y).backward()
        opt.step()

    batched = lambda i: augment(x, torch.Generator().manual_seed(i))  # noqa: E731
    reference = lambda i: augment_reference(x, torch.Generator().manual_seed(i))  # noqa: E731
    assert torch.equal(batched(3), reference(3)), "batched augmentation differs from the reference"
    for f in (step, batched, reference):  # warm-up (allocator, kernels, lazy init)
        timed(f, device, 2)
    times = {"batched": [], "reference": [], "step": []}
    for _ in range(a.reps):
        times["batched"].append(timed(batched, device, a.inner))
        times["reference"].append(timed(reference, device, a.inner))
        times["step"].append(timed(step, device))
    med = {k: statistics.median(v) for k, v in times.items()}
    label = f"{a.model} ({', '.join(f'{k}={v}' for k, v in MODELS[a.model].items())})"
    print(f"device={device} threads={torch.get_num_threads()} batch={a.batch}x3x32x32 model={label} "
          f"reps={a.reps} (augmentation: {a.inner} calls per rep)")
    for k, v in times.items():
        print(f"{k:9s} median {med[k] * 1e3:9.3f} ms  (min {min(v) * 1e3:.3f}, max {max(v) * 1e3:.3f})")
    print(f"batched augmentation / training step = {med['batched'] / med['step']:.2%}  (target <= 5%)")
    print(f"per-image loop / training step       = {med['reference'] / med['step']:.2%}")
    print(f"speed-up of batched over per-image   = {med['reference'] / med['batched']:.2f}x")


if __name__ == "__main__":
    main()
