"""dlscope's optimization instruments side by side with PyHessian, hessian-eigenthings and
curvlinops (and loss-landscapes for a 2-D slice), on the same model and the same batch.

    python bench/curvature.py            # ~2-4 min on 2 CPU cores
    python bench/curvature.py --quick    # fewer repeats
    python bench/curvature.py --device cuda

Setup: MNIST-1D (generated offline from its seed), a 40-100-100-10 ReLU MLP (15,210 parameters)
trained briefly with Adam, and one batch of 1000 training examples; every tool sees the same
float32 model and batch. Times are medians over repeats, measured in this one run (other
processes on a shared CPU add noise: compare ratios, not absolute numbers).

References ("exact"): top eigenvalues from ARPACK (scipy ``eigsh``) on a float64 copy through
curvlinops' Hessian product — an independent product and eigensolver — cross-checked against
dlscope's float64 Lanczos; the trace from the identity tr H = tr GGN for a piecewise-linear (ReLU)
net (each parameter enters the logits linearly inside a linear region, so the second-order part
of the Hessian has a zero diagonal), with per-example Jacobians — checked here on random
diagonal entries against Hessian products with unit vectors.

Peers are bench-only dependencies (bench/requirements-curvature.txt), installed with --no-deps.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

import dlscope.measure as dm

F = nn.functional


def median_time(fn, repeats):
    out, ts = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def setup(device):
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    x = torch.tensor(d["x"], dtype=torch.float32)
    y = torch.tensor(d["y"], dtype=torch.long)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for step in range(600):
        idx = torch.randint(0, len(y), (128,), generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        F.cross_entropy(model(x[idx]), y[idx]).backward()
        opt.step()
    return model.to(device), x[:1000].to(device), y[:1000].to(device)


def exact_trace(model64, x, y):
    """tr H = tr GGN = (1/N) Σ_i tr(H_L,i J_i J_iᵀ) for a ReLU MLP (see module docstring)."""
    names = [n for n, _ in model64.named_parameters()]
    params = {n: p.detach() for n, p in model64.named_parameters()}

    def logits(p, xi):
        return functional_call(model64, p, (xi[None],))[0]

    total = 0.0
    for s in range(0, len(y), 100):
        J = vmap(torch.func.jacrev(logits), in_dims=(None, 0))(params, x[s:s + 100])
        JJ = sum(torch.einsum("bc...,bd...->bcd", J[n], J[n]) for n in names)  # J Jᵀ per example
        p = torch.softmax(vmap(logits, in_dims=(None, 0))(params, x[s:s + 100]), dim=-1)
        HL = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # softmax cross-entropy Hessian
        total += float((HL * JJ).sum())
    return total / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1 if args.device == "cpu" else torch.get_num_threads())
    reps = 3 if args.quick else 7
    seeds = range(4 if args.quick else 20)
    warnings.filterwarnings("ignore")
    from curvlinops import HessianLinearOperator, hutchpp_trace, xtrace
    from scipy.sparse.linalg import eigsh
    import hessian_eigenthings as he
    from pyhessian import hessian as PyHessian
    import loss_landscapes
    import loss_landscapes.metrics

    model, x, y = setup(args.device)
    n = sum(p.numel() for p in model.parameters())
    print(f"# MNIST-1D MLP 40-100-100-10, {n} parameters, batch of {len(y)}, float32, device={args.device}, "
          f"torch {torch.__version__}, 1 thread, medians of {reps} runs\n")
    ce = nn.CrossEntropyLoss()
    params = [p for p in model.parameters()]

    # --- references (float64) ---------------------------------------------------------------
    import copy

    m64 = copy.deepcopy(model).double()
    x64 = x.double()
    H64 = HessianLinearOperator(m64, ce, list(m64.parameters()), [(x64, y)], progressbar=False)
    t = time.perf_counter()
    ref = np.sort(eigsh(H64.to_scipy(), k=5, which="LA", tol=1e-14)[0])[::-1]
    ours64 = dm.top_eigenvalues(dm.hessian(m64, F.cross_entropy, (x64, y)), k=5, tol=1e-13)
    tr_exact = exact_trace(m64, x64, y)
    op64 = dm.hessian(m64, F.cross_entropy, (x64, y))
    idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:20]
    E = torch.zeros(n, 20, dtype=torch.float64, device=x.device)
    E[idx, torch.arange(20)] = 1.0
    diag_h = (op64 @ E)[idx, torch.arange(20)]
    print(f"reference top-5 (ARPACK on curvlinops' float64 product): {np.array2string(ref, precision=6)}")
    print(f"  dlscope float64 Lanczos agrees to {np.max(np.abs(np.array(ours64.value) - ref) / ref):.1e} "
          f"(relative); exact trace {tr_exact:.6f}; tr H = tr GGN identity checked on 20 random diagonal "
          f"entries: {'ok' if torch.allclose(diag_h, _ggn_diag(m64, x64, y, idx), rtol=1e-9, atol=1e-12) else 'FAILED'}"
          f"  [{time.perf_counter() - t:.1f} s]\n")

    rows = []

    def row(task, tool, seconds, err, note=""):
        rows.append((task, tool, seconds, err, note))

    # --- Hessian-vector product cost ---------------------------------------------------------
    v = torch.randn(n, device=x.device)
    op = dm.hessian(model, F.cross_entropy, (x, y))
    t_ours, _ = median_time(lambda: op @ v, reps * 3)
    ph = PyHessian(model, ce, data=(x, y), cuda=args.device == "cuda")
    from pyhessian.utils import hessian_vector_product

    vs = [c.view_as(p) for c, p in zip(v.split([p.numel() for p in params]), params)]
    t_ph, _ = median_time(lambda: hessian_vector_product(ph.gradsH, ph.params, vs), reps * 3)
    heop = he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy))
    t_he, _ = median_time(lambda: heop.matvec(v), reps * 3)
    H32 = HessianLinearOperator(model, ce, params, [(x, y)], progressbar=False, check_deterministic=False)
    t_cl, _ = median_time(lambda: H32 @ v, reps * 3)
    p0 = {k: p.detach() for k, p in model.named_parameters()}
    vd = {k: c.view_as(p) for (k, p), c in zip(p0.items(), v.split([p.numel() for p in params]))}
    f = lambda p: F.cross_entropy(functional_call(model, p, (x,)), y)  # noqa: E731
    t_naive, _ = median_time(lambda: jvp(grad(f), (p0,), (vd,))[1], reps * 3)
    for tool, s in [("dlscope", t_ours), ("PyHessian", t_ph), ("hessian-eigenthings", t_he),
                    ("curvlinops", t_cl), ("naive jvp(grad)", t_naive)]:
        row("one Hessian-vector product", tool, s, None, f"{s / t_naive:.2f}x naive")

    # --- top-1 and top-5 eigenvalues ---------------------------------------------------------
    def rel(vals, k):
        return float(np.max(np.abs(np.sort(np.asarray(vals, dtype=float))[::-1][:k] - ref[:k]) / np.abs(ref[:k])))

    for k in (1, 5):
        def ours():
            return dm.top_eigenvalues(dm.hessian(model, F.cross_entropy, (x, y)), k=k, tol=1e-5, seed=0)

        s, r = median_time(ours, reps)
        row(f"top-{k} eigenvalues", "dlscope Lanczos (tol 1e-5, incl. operator + determinism check)", s, rel(r.value, k),
            f"{r.extra['num_matvecs']} products, converged={r.extra['converged']}")
        for tol in (1e-3, 1e-6):
            s, r = median_time(lambda: PyHessian(model, ce, data=(x, y), cuda=args.device == "cuda")
                               .eigenvalues(maxIter=1000, tol=tol, top_n=k), max(1, reps // 2))
            row(f"top-{k} eigenvalues", f"PyHessian power iteration (tol {tol:g})", s, rel(r[0], k))
        steps = 20 if k == 1 else 30
        s, r = median_time(lambda: he.lanczos(he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy)),
                                              k=k, max_iter=steps, which="LA", seed=0), reps)
        row(f"top-{k} eigenvalues", f"hessian-eigenthings Lanczos ({steps} steps)", s, rel(r.eigenvalues.cpu(), k))
        s, r = median_time(lambda: eigsh(HessianLinearOperator(model, ce, params, [(x, y)], progressbar=False,
                                                               check_deterministic=False).to_scipy(),
                                         k=k, which="LA", tol=1e-5)[0], reps)
        row(f"top-{k} eigenvalues", "curvlinops + scipy eigsh (tol 1e-5)", s, rel(r, k))

    # --- trace, 100 products -----------------------------------------------------------------
    def trace_rows(tool, fn):
        errs, times, covered = [], [], []
        for sd in seeds:
            torch.manual_seed(sd)
            t = time.perf_counter()
            est, se = fn(sd)
            times.append(time.perf_counter() - t)
            errs.append(abs(est - tr_exact) / abs(tr_exact))
            if se is not None:
                covered.append(abs(est - tr_exact) <= 2 * se)
        note = f"median |err| over {len(errs)} seeds, rms {np.sqrt(np.mean(np.square(errs))):.1e}"
        if covered:
            note += f"; |err| <= 2 stderr in {sum(covered)}/{len(covered)}"
        row("trace, 100 products", tool, statistics.median(times), statistics.median(errs), note)

    def ours_tr(method):
        def fn(sd):
            r = dm.trace(dm.hessian(model, F.cross_entropy, (x, y)), num_matvecs=100, method=method, seed=sd)
            return r.value, r.stderr
        return fn

    trace_rows("dlscope Hutch++", ours_tr("hutch++"))
    trace_rows("dlscope XTrace", ours_tr("xtrace"))
    trace_rows("dlscope Hutchinson", ours_tr("hutchinson"))
    trace_rows("PyHessian Hutchinson", lambda sd: (float(np.mean(PyHessian(model, ce, data=(x, y), cuda=args.device == "cuda")
                                                                   .trace(maxIter=100, tol=0.0))), None))
    trace_rows("hessian-eigenthings Hutch++", lambda sd: (lambda r: (r.estimate, r.stderr))(
        he.trace(he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy)), num_matvecs=100,
                 method="hutch++", seed=sd)))
    # curvlinops' Hutch++ needs a multiple of 3 products (99), its XTrace an even number (100).
    for name, est, m in (("curvlinops Hutch++ (99 products)", hutchpp_trace, 99), ("curvlinops XTrace", xtrace, 100)):
        trace_rows(name, lambda sd, est=est, m=m: (float(est(HessianLinearOperator(
            model, ce, params, [(x, y)], progressbar=False, check_deterministic=False), m)), None))

    # --- spectral density --------------------------------------------------------------------
    s, r = median_time(lambda: dm.spectral_density(dm.hessian(model, F.cross_entropy, (x, y)), lanczos_steps=80,
                                                   num_probes=1, seed=0), 1)
    row("spectral density (SLQ, 80 steps)", "dlscope", s, abs(r.extra["moments"][0] * n - tr_exact) / tr_exact,
        f"integral {r.extra['integral']:.6f}; error = first moment x n vs exact trace")
    try:
        s, _ = median_time(lambda: PyHessian(model, ce, data=(x, y), cuda=args.device == "cuda").density(iter=80, n_v=1), 1)
        row("spectral density (SLQ, 80 steps)", "PyHessian", s, None, "ran")
    except Exception as e:  # noqa: BLE001 - the failure is the result being reported
        row("spectral density (SLQ, 80 steps)", "PyHessian", None, None, f"fails: {type(e).__name__}: {str(e)[:60]}")
    s, r = median_time(lambda: he.spectral_density(he.HessianOperator(model, [(x, y)], he.supervised_loss(F.cross_entropy)),
                                                   num_runs=1, lanczos_steps=80, seed=0), 1)
    row("spectral density (SLQ, 80 steps)", "hessian-eigenthings", s, None, "")

    # --- 2-D slice, 21 x 21 ------------------------------------------------------------------
    # Interleaved repeats: both tools see the same background load.
    metric = loss_landscapes.metrics.Loss(ce, x, y)
    t_ours, t_ll = [], []
    for _ in range(2 * reps + 1):
        t_ours.append(median_time(lambda: dm.slice_2d(model, F.cross_entropy, (x, y), steps=21, seed=0), 1)[0])
        t_ll.append(median_time(lambda: loss_landscapes.random_plane(model, metric, distance=1, steps=21,
                                                                     normalization="filter", deepcopy_model=True), 1)[0])
    s_ours, s_ll = statistics.median(t_ours), statistics.median(t_ll)
    label = "dlscope (CPU: point by point on a flat-buffer copy)" if args.device == "cpu" else "dlscope (vmapped, 32 points/pass)"
    row("2-D slice 21x21", label, s_ours, None, f"{s_ll / s_ours:.2f}x the speed of loss-landscapes")
    row("2-D slice 21x21", "loss-landscapes", s_ll, None, "")

    print(f"{'task':<34}{'tool':<66}{'time [s]':>10}{'rel. error':>12}  note")
    last = None
    for task, tool, sec, err, note in rows:
        print(f"{task if task != last else '':<34}{tool:<66}{'' if sec is None else f'{sec:.4f}':>10}"
              f"{'' if err is None else f'{err:.1e}':>12}  {note}")
        last = task
    return 0


def _ggn_diag(model64, x, y, idx):
    """Exact GGN diagonal entries idx (per-example Jacobians), for the tr H = tr GGN check."""
    out = torch.zeros(len(idx), dtype=torch.float64, device=x.device)
    params = {n: p.detach() for n, p in model64.named_parameters()}

    def logits(p, xi):
        return functional_call(model64, p, (xi[None],))[0]

    for s in range(0, len(y), 100):
        J = vmap(torch.func.jacrev(logits), in_dims=(None, 0))(params, x[s:s + 100])
        Jf = torch.cat([J[k].reshape(J[k].shape[0], J[k].shape[1], -1) for k in params], dim=2)[:, :, idx]
        p = torch.softmax(vmap(logits, in_dims=(None, 0))(params, x[s:s + 100]), dim=-1)
        HL = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
        out += torch.einsum("bci,bcd,bdi->i", Jf, HL, Jf)
    return out / len(y)


if __name__ == "__main__":
    sys.exit(main())
