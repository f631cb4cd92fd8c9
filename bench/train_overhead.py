"""Overhead of ``dlscope.train.fit`` over a minimal hand-written PyTorch loop.

Same model (the zhang2017 default CNN), same data (mnist1d, on the device), same number
of SGD steps and one final evaluation of train and test loss and accuracy in both (what
``fit`` reports at an evaluation point); the two are timed alternately, several
repetitions each, in one process, and the ratio of medians is printed. Target ≤ 1.10.

    .venv/bin/python bench/train_overhead.py [--steps 600] [--reps 5] [--device cpu] [--threads 2]
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

from dlscope import data, models
from dlscope.train import TrainConfig, fit


def build(ds, device):
    torch.manual_seed(0)
    return models.build("cnn", input_shape=ds.input_shape, num_classes=10, channels=(32, 32), fc=(256, 128)).to(device)


def minimal_loop(ds, steps, batch, lr, device):
    model = build(ds, device)
    x, y = ds.x_train.to(device), ds.y_train.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    n = len(y)
    spe = math.ceil(n / batch)
    for step in range(steps):
        if step % spe == 0:
            perm = torch.randperm(n, device=device)
        idx = perm[(step % spe) * batch : (step % spe + 1) * batch]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        out = model(x)
        F.cross_entropy(out, y).item()
        acc = (out.argmax(1) == y).float().mean().item()
        xt, yt = ds.x_test.to(device), ds.y_test.to(device)
        out_t = model(xt)
        F.cross_entropy(out_t, yt).item(), (out_t.argmax(1) == yt).float().mean().item()
    if device != "cpu":
        torch.cuda.synchronize()
    return acc


def dlscope_fit(ds, steps, batch, lr, device):
    cfg = TrainConfig(max_steps=steps, batch_size=batch, lr=lr, eval_every=steps, device=device)
    return fit(build(ds, device), ds, cfg).final["train_acc"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    ds = data.load("mnist1d").to(a.device)
    times = {"minimal": [], "dlscope": []}
    accs = {}
    dlscope_fit(ds, 20, a.batch, 0.02, a.device)  # warm-up
    minimal_loop(ds, 20, a.batch, 0.02, a.device)
    for _ in range(a.reps):
        for name, f in (("minimal", minimal_loop), ("dlscope", dlscope_fit)):
            t = time.perf_counter()
            accs[name] = f(ds, a.steps, a.batch, 0.02, a.device)
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"device={a.device} threads={torch.get_num_threads()} steps={a.steps} batch={a.batch} reps={a.reps}")
    for k in times:
        print(f"{k:8s} median {med[k]:.3f} s  (min {min(times[k]):.3f}, max {max(times[k]):.3f})  "
              f"final train acc {accs[k]:.3f}")
    print(f"ratio fit/minimal = {med['dlscope'] / med['minimal']:.3f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
