"""Step time of a small training loop, quiet and contended, with OpenMP's default wait policy and PASSIVE.

Issue 17 part 3: with the default policy, OpenMP worker threads spin-wait at every barrier; when
another process is busy on the same cores, a spinning thread holds a core the thread it waits for
needs, and a small training loop slows by ~50×. ``OMP_WAIT_POLICY=PASSIVE`` (what the dlscope CLI
and the test suite set before torch is imported) makes waiting threads sleep.

Each variant runs in a fresh subprocess so that the variable is in the environment before torch
loads (the OpenMP runtime reads it once). "Contended" means a second busy process, started by this
bench, runs a torch matmul loop on the same cores for the whole measurement. Variants are
alternated, ``--reps`` times each, and the medians are printed as milliseconds per step and as
ratios side by side (absolute times on a shared machine mean little; the ratios are the result).

    .venv/bin/python bench/threads.py [--steps 200] [--reps 3] [--threads 2] [--width 512]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

VARIANTS = [("quiet", "default"), ("quiet", "PASSIVE"), ("contended", "default"), ("contended", "PASSIVE")]


def worker(steps: int, threads: int, width: int) -> None:
    """The measured loop: an MLP on random 40-feature data, batch 128, SGD; prints ms per step."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = torch.randn(4096, 40), torch.randint(0, 10, (4096,))
    net = torch.nn.Sequential(torch.nn.Linear(40, width), torch.nn.ReLU(), torch.nn.Linear(width, width),
                              torch.nn.ReLU(), torch.nn.Linear(width, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step(i):
        idx = slice((i * 128) % 3968, (i * 128) % 3968 + 128)
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x[idx]), y[idx]).backward()
        opt.step()

    for i in range(10):  # warm-up
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    print(f"{(time.perf_counter() - t0) / steps * 1e3:.4f}")


def busy(threads: int) -> None:
    """The other process: large matmuls on ``threads`` threads until killed."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(1024, 1024)
    while True:
        a = torch.tanh(a @ a)


def _env(policy: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    return env


def measure(load: str, policy: str, args) -> float:
    hog = None
    if load == "contended":
        hog = subprocess.Popen([sys.executable, __file__, "--busy", "--threads", str(args.threads)],
                               env=_env("PASSIVE"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # let it start computing
    try:
        out = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(args.steps), "--threads",
                              str(args.threads), "--width", str(args.width)], env=_env(policy),
                             capture_output=True, text=True, timeout=args.timeout)
        return float(out.stdout.strip())
    except subprocess.TimeoutExpired:
        return float("inf")
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch threads of each process")
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per measurement (inf if exceeded)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--busy", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.steps, args.threads, args.width)
    if args.busy:
        return busy(args.threads)
    times = {v: [] for v in VARIANTS}
    for _ in range(args.reps):
        for v in VARIANTS:
            times[v].append(measure(*v, args))
    med = {v: statistics.median(t) for v, t in times.items()}
    base = med[("quiet", "PASSIVE")]
    print(f"{os.cpu_count()} CPUs; {args.threads} torch threads per process; {args.steps} steps of a "
          f"40-{args.width}-{args.width}-10 MLP, batch 128; median of {args.reps}")
    print(f"{'':10s} {'default ms/step':>16s} {'PASSIVE ms/step':>16s} {'default/PASSIVE':>16s} "
          f"{'default / quiet PASSIVE':>24s} {'PASSIVE / quiet PASSIVE':>24s}")
    for load in ("quiet", "contended"):
        d, p = med[(load, "default")], med[(load, "PASSIVE")]
        print(f"{load:10s} {d:16.3f} {p:16.3f} {d / p:16.2f} {d / base:24.2f} {p / base:24.2f}")


if __name__ == "__main__":
    main()
