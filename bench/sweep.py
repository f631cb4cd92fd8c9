"""Sweep engines and seeds as a batch dimension, side by side (issue 12).

Part 1 — one sweep of ``--cells`` small zhang2017 cells (true labels, an MLP on mnist1d, 1 seed each:
``--quick`` with the sizes below), run three times into fresh folders: the local process pool with 1
worker, with 2 workers, and Ray with 2 workers (a local Ray started by the bench, included in its
time). Wall time of each, and the ratios to local(1).

Part 2 — k small CNNs on mnist1d (channels 8-8, FC 32-16, dropout 0.25; the same recipe, seeds
0..k-1): k sequential ``fit`` runs against one ``fit_replicas`` call (vmapped), for k = 2, 4, 8, 16;
the speed-up is sequential time / vmapped time (target ≥ 3 for k = 8 on 2 cores). The two are
alternated, the order flipped between reps, and the medians compared.

Absolute seconds on a shared machine mean little; the ratios are the result. The load average is
printed before and after. Run part 2 with ``--threads 1`` as well: on a busy 2-core machine a
sequential fit with 2 torch threads waits on its second thread at every op, which inflates the
speed-up (measured 2026-11-29, load ≈ 2.5: k = 8 gave 11× with 2 threads, 2.2× with 1 thread, 3 reps).

    PYTHONPATH=src .venv/bin/python bench/sweep.py [--cells 24] [--ks 2,4,8,16] [--steps 200] [--reps 1]
                                                   [--threads 2] [--skip-sweep] [--skip-replicas]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from dlscope import data as D  # noqa: E402
from dlscope import models as M  # noqa: E402
from dlscope.sweep import SweepSpec, make_executor, run_sweep  # noqa: E402
from dlscope.train import TrainConfig, fit, fit_replicas  # noqa: E402

CELL = dict(n_train=500, n_test=500, model="mlp", depth=1, batch_size=64, max_steps=200, eval_every=50,
            variants=("true_labels",), fractions=(0.0,))


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def sweep_part(cells: int) -> None:
    lrs = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    widths = [8, 16, 32, 64]
    n_w = max(1, cells // len(lrs))
    spec = SweepSpec("zhang2017-random-labels", True, dict(CELL), {"lr": lrs, "width": widths[:n_w]}, (0,))
    n = len(spec.tasks("x"))
    print(f"part 1: a sweep of {n} cells (zhang2017 true labels, MLP on 500 mnist1d examples, 200 steps), "
          f"1 seed each")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind, workers in (("local(1)", "local", 1), ("local(2)", "local", 2), ("ray(2)", "ray", 2)):
            t0 = time.perf_counter()
            try:
                ex = make_executor(kind, workers=workers, threads=1)
            except ImportError:
                print(f"  {name:10s} skipped: ray not installed")
                continue
            try:
                status = run_sweep(spec, Path(tmp) / name, ex)
            finally:
                ex.shutdown()
            times[name] = time.perf_counter() - t0
            assert status["finished"] == n, status
            print(f"  {name:10s} {times[name]:7.1f} s   (load {load()})", flush=True)
    base = times["local(1)"]
    print("  ratio to local(1) (> 1: faster): " + "   ".join(f"{k} {base / v:.2f}×" for k, v in times.items()))


def _nets(ds, k: int):
    out = []
    for s in range(k):
        torch.manual_seed(s)
        out.append(M.build("cnn", input_shape=ds.input_shape, num_classes=10, channels=(8, 8), fc=(32, 16),
                           dropout=0.25))
    return out


def replicas_part(ks: list[int], steps: int, reps: int) -> None:
    ds = D.load("mnist1d", n_train=2000, n_test=500, seed=0)
    print(f"part 2: k small CNNs (8-8, FC 32-16) on mnist1d, {steps} SGD steps of batch 32, "
          f"{torch.get_num_threads()} torch thread(s): k sequential fit runs vs one vmapped fit_replicas")
    cfg = lambda s: TrainConfig(max_steps=steps, eval_every=steps // 2, batch_size=32, lr=0.05,  # noqa: E731
                                momentum=0.9, seed=s)
    fit(_nets(ds, 1)[0], ds, cfg(0))  # warm-up
    rows = []
    for k in ks:
        seq, vm = [], []
        for r in range(reps):
            for which in (("seq", "vm") if r % 2 == 0 else ("vm", "seq")):
                nets = _nets(ds, k)
                t0 = time.perf_counter()
                if which == "seq":
                    for s, net in enumerate(nets):
                        fit(net, ds, cfg(s))
                    seq.append(time.perf_counter() - t0)
                else:
                    fit_replicas(nets, [ds] * k, [cfg(s) for s in range(k)])
                    vm.append(time.perf_counter() - t0)
        a, b = statistics.median(seq), statistics.median(vm)
        rows.append((k, a, b))
        print(f"  k={k:2d}  sequential {a:6.2f} s  vmapped {b:6.2f} s  speed-up {a / b:5.2f}×   (load {load()})",
              flush=True)
    print("  speed-ups: " + "   ".join(f"k={k} {a / b:.2f}×" for k, a, b in rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--ks", default="2,4,8,16")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch threads in part 2 (default 2)")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--skip-replicas", action="store_true")
    args = ap.parse_args()
    print(f"bench/sweep.py  torch {torch.__version__}  cores {os.cpu_count()}  load before {load()}")
    if not args.skip_sweep:
        sweep_part(args.cells)
    if not args.skip_replicas:
        torch.set_num_threads(args.threads)
        replicas_part([int(k) for k in args.ks.split(",")], args.steps, args.reps)
    print(f"load after {load()}")


if __name__ == "__main__":
    main()
