"""The GPU check of issue 16 in one run, one table (called by ``bench/gpu.sh``).

1. **Training throughput** of Zhang et al.'s Inception-small (width 1) and ResNet-20 on
   CIFAR-10-shaped batches (128 × 3 × 32 × 32, synthetic: throughput does not depend on the
   values), through ``dlscope.train.fit`` itself with each fast-path option switched on in turn
   (fp32 → channels_last → bf16 → both → + torch.compile → + "reduce-overhead" CUDA graphs).
   Steps are timed between two synchronized points after a warm-up (which holds the
   compilation), via ``fit``'s ``progress`` callback. Achieved TFLOP/s = FLOPs of one step
   (forward + backward, counted by ``torch.utils.flop_counter.FlopCounterMode``: convolutions and
   matmuls, the usual MFU convention) × steps/s, against the device's dense bf16 peak taken from a
   table of known GPUs by name, or ``--peak-tflops``.
2. **Curvature on the device** (ResNet-20, BN in eval mode, one batch): one Hessian-vector product
   vs one gradient (medians), Lanczos top-5 (``dlscope.measure.top_eigenvalues`` on
   ``dlscope.measure.hessian``), and a 21 × 21 ``dlscope.measure.slice_2d`` with
   ``points_per_batch=32`` (vmapped) vs ``points_per_batch=1``, with the largest difference
   between the two grids.
3. **A shortened reproduction**: ``dlscope run zhang2017-random-labels --set data=cifar10
   --set model=inception-small --device cuda`` on a subset, as a subprocess (the real CLI),
   with its claims.

``--smoke`` shrinks everything (tiny models and batches, mnist1d for part 3) so the same script
runs on a CPU in seconds; a test runs it. Exit code 0 when every part ran (a claim that does not
hold is a finding, not a failure), 1 when a part raised (its row says why).

    bash bench/gpu.sh [--smoke] [--device cuda] [--peak-tflops 989] [--data-root DIR] [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import dlscope.measure as dm
from dlscope.data import Dataset
from dlscope.models import build
from dlscope.train import TrainConfig, fit

# Dense bf16 tensor-core peak, TFLOP/s (vendor datasheets; the first matching name wins).
PEAKS = [("h100 pcie", 756.0), ("h100", 989.0), ("h200", 989.0), ("h800", 989.0), ("a100", 312.0),
         ("a800", 312.0), ("l40s", 362.0), ("l4", 121.0), ("a10", 125.0)]
LADDER = [("fp32", {}), ("channels_last", {"channels_last": True}), ("bf16", {"amp_bf16": True}),
          ("bf16+channels_last", {"amp_bf16": True, "channels_last": True}),
          ("bf16+cl+compile", {"amp_bf16": True, "channels_last": True, "compile": True}),
          ("bf16+cl+compile(reduce-overhead)",
           {"amp_bf16": True, "channels_last": True, "compile": True, "compile_mode": "reduce-overhead"})]
FULL = dict(batch=128, warmup=20, steps=100, models=[("inception-small", {"width": 1.0}), ("resnet", {"depth": 20})],
            curv_model=("resnet", {"depth": 20}), curv_n=1024, lanczos_steps=None, grid=21, reps=10)
SMOKE = dict(batch=8, warmup=2, steps=3, models=[("inception-small", {"width": 0.125}), ("resnet", {"depth": 8})],
             curv_model=("resnet", {"depth": 8}), curv_n=16, lanczos_steps=20, grid=5, reps=3)


def _kw(kw: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in kw.items())


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_tflops(device, given):
    if given:
        return given, "--peak-tflops"
    if device.type != "cuda":
        return None, "unknown for a CPU (pass --peak-tflops)"
    name = torch.cuda.get_device_name(device)
    for key, peak in PEAKS:
        if key in name.lower():
            return peak, f"{name}, bf16 dense"
    return None, f"{name} not in the table (pass --peak-tflops)"


def step_flops(name, kw, batch, device):
    """FLOPs of one training step (forward + backward) at this batch size."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = build(name, input_shape=(3, 32, 32), num_classes=10, **kw).to(device)
    x, y = torch.randn(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops()


def throughput(name, kw, options, p, device):
    """Images per second of ``fit``'s steps after the warm-up; the run's notes."""
    g = torch.Generator().manual_seed(0)
    n = 8 * p["batch"]  # 8 full batches per epoch: no partial batch, hence no recompilation
    x, y = torch.randn(n + p["batch"], 3, 32, 32, generator=g), torch.randint(0, 10, (n + p["batch"],), generator=g)
    ds = Dataset("synthetic-cifar10-shape", x[:n], y[:n], x[n:], y[n:], 10)
    total = p["warmup"] + p["steps"]
    marks = {}

    def progress(step, _):
        if step in (p["warmup"], total):
            sync(device)
            marks[step] = time.perf_counter()

    cfg = TrainConfig(max_steps=total, batch_size=p["batch"], lr=0.01, eval_every=total, device=str(device), **options)
    torch.manual_seed(0)
    res = fit(build(name, input_shape=(3, 32, 32), num_classes=10, **kw), ds, cfg, progress=progress)
    return p["batch"] * p["steps"] / (marks[total] - marks[p["warmup"]]), res.notes


def median_time(fn, reps, device):
    ts = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def curvature_rows(p, device):
    name, kw = p["curv_model"]
    torch.manual_seed(0)
    model = build(name, input_shape=(3, 32, 32), num_classes=10, **kw).to(device).eval()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(p["curv_n"], 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (p["curv_n"],), generator=g).to(device)
    params = [q for q in model.parameters() if q.requires_grad]
    label = f"{name} {_kw(kw)}, {p['curv_n']} examples"
    grad = lambda: torch.autograd.grad(F.cross_entropy(model(x), y), params)  # noqa: E731
    grad()
    t_grad = median_time(grad, p["reps"], device)
    op = dm.hessian(model, F.cross_entropy, (x, y))
    v = torch.randn(op.shape[0], generator=g).to(device, op.dtype)
    op @ v
    t_hvp = median_time(lambda: op @ v, p["reps"], device)
    rows = [("curvature", f"gradient ({label})", f"{t_grad * 1e3:.2f} ms", f"{op.shape[0]:,} parameters"),
            ("curvature", "Hessian-vector product", f"{t_hvp * 1e3:.2f} ms", f"{t_hvp / t_grad:.2f}x a gradient")]
    t = time.perf_counter()
    res = dm.top_eigenvalues(op, k=5, seed=0, max_steps=p["lanczos_steps"])
    sync(device)
    rows.append(("curvature", "Lanczos top-5", f"{time.perf_counter() - t:.2f} s",
                 f"{res.extra['num_matvecs']} products, converged={res.extra['converged']}, "
                 f"λ = {[round(float(l), 4) for l in res.value]}"))
    k = p["grid"]
    grids, times = {}, {}
    for ppb in (32, 1):
        t = time.perf_counter()
        grids[ppb] = dm.slice_2d(model, F.cross_entropy, (x, y), steps=k, seed=0, points_per_batch=ppb).value
        sync(device)
        times[ppb] = time.perf_counter() - t
    diff = float(abs(torch.as_tensor(grids[32]) - torch.as_tensor(grids[1])).max())
    rows.append(("curvature", f"slice_2d {k}x{k}, points_per_batch=32", f"{times[32]:.2f} s",
                 f"{times[1] / times[32]:.2f}x the speed of one point at a time"))
    rows.append(("curvature", f"slice_2d {k}x{k}, points_per_batch=1", f"{times[1]:.2f} s",
                 f"max |Δ loss| between the two grids {diff:.2e}"))
    return rows


def run_rows(a, device, smoke):
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="dlscope-gpu-bench-"))
    if smoke:
        sets = ["data=mnist1d", "model=cnn", "width=8", "n_train=200", "n_test=100", "max_steps=40", "eval_every=20"]
    else:
        sets = ["data=cifar10", "model=inception-small", "n_train=2000", "n_test=1000", "max_steps=4000",
                "eval_every=50"]
    sets += ["variants=true_labels,random_labels", "fractions=0,1"]
    if a.data_root:
        sets.append(f"data_root={a.data_root}")
    cmd = [sys.executable, "-m", "dlscope.cli", "run", "zhang2017-random-labels",
           *[s for kv in sets for s in ("--set", kv)], "--device", device.type, "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    shown = "dlscope run zhang2017-random-labels " + " ".join(f"--set {s}" for s in sets) + f" --device {device.type}"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"exit {proc.returncode}: {last}  [{shown}]")
    lines = proc.stdout.splitlines()
    held = next((ln for ln in lines if ln.startswith("claims held:")), "claims held: ?").removeprefix("claims held: ")
    count, _, rest = held.partition(" ")  # "1/4 (2 not evaluable)"
    rows = [("run", "zhang2017-random-labels, shortened", count + " claims held",
             f"{rest + '; ' if rest else ''}wall {wall:.1f} s, out {out}: {shown}")]
    rows += [("run", ln.split("]", 1)[0] + "]", "", ln.split("]", 1)[1].strip()) for ln in lines if ln.startswith("[")]
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: runs anywhere in seconds")
    ap.add_argument("--device", default=None, help="default: cuda if present, else cpu")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's peak (default: table by name)")
    ap.add_argument("--data-root", default=None, help="folder holding cifar10/ (default $DLSCOPE_DATA)")
    ap.add_argument("--out", default=None, help="run directory for part 3 (default: a new temporary folder)")
    a = ap.parse_args(argv)
    if os.environ.get("DLSCOPE_THREADS"):  # as the CLI does (a shared CPU)
        torch.set_num_threads(int(os.environ["DLSCOPE_THREADS"]))
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cpu" and not a.smoke:
        print("gpu_bench: no CUDA device; full sizes would take hours on a CPU: use --smoke", file=sys.stderr)
        return 2
    p = SMOKE if a.smoke else FULL
    peak, peak_src = peak_tflops(device, a.peak_tflops)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, {'smoke' if a.smoke else 'full'} sizes, "
          f"peak {peak if peak else '?'} TFLOP/s ({peak_src})", flush=True)
    rows, failed = [], False
    for name, kw in p["models"]:
        label = f"{name} {_kw(kw)}, batch {p['batch']}"
        try:
            flops = step_flops(name, kw, p["batch"], device)
        except Exception as e:  # noqa: BLE001 — one failed part must not hide the others
            rows.append(("throughput", label, "FAILED", f"{type(e).__name__}: {e}"))
            failed = True
            continue
        for opt_name, options in p.get("ladder", LADDER):
            what = f"{label}, {opt_name}"
            if options.get("amp_bf16") and device.type != "cuda":
                rows.append(("throughput", what, "n/a", "amp_bf16 is CUDA-only"))
                continue
            if options.get("compile") and a.smoke and device.type == "cpu":
                rows.append(("throughput", what, "skipped", "--smoke on a CPU (compiling takes ~30 s a model)"))
                continue
            try:
                ips, notes = throughput(name, kw, options, p, device)
            except Exception as e:  # noqa: BLE001
                rows.append(("throughput", what, "FAILED", f"{type(e).__name__}: {str(e).splitlines()[0][:150]}"))
                failed = True
                continue
            tf = flops * ips / p["batch"] / 1e12
            share = f" = {tf / peak:.1%} of peak" if peak else ""
            rows.append(("throughput", what, f"{ips:,.0f} img/s",
                         f"{tf:.3f} TFLOP/s{share} ({flops / p['batch'] / 1e9:.3f} GFLOP/img)"
                         + (f"; {'; '.join(notes)}" if notes else "")))
    for part, fn in (("curvature", lambda: curvature_rows(p, device)), ("run", lambda: run_rows(a, device, a.smoke))):
        try:
            rows += fn()
        except Exception as e:  # noqa: BLE001
            rows.append((part, "FAILED", "", f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"))
            failed = True
    widths = [max(len(r[i]) for r in rows + [("section", "what", "value", "")]) for i in range(3)]
    print(f"{'section':{widths[0]}}  {'what':{widths[1]}}  {'value':>{widths[2]}}  detail")
    for r in rows:
        print(f"{r[0]:{widths[0]}}  {r[1]:{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
