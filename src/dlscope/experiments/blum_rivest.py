"""``blum-rivest-overparameterization`` — training the 3-node net is hard, training a wider one is not.

Blum & Rivest, "Training a 3-node neural network is NP-complete", Neural Networks 1992 (the lecture's
"Empirical success v.s. theoretical hardness" slide): deciding whether two threshold hidden units and
one threshold output unit can fit a labeled sample is NP-complete. Livni, Shalev-Shwartz & Shamir,
"On the computational efficiency of training neural networks", NeurIPS 2014 (§5, "over-specification"),
and Safran & Shamir, ICML 2016/2018: networks larger than needed are much easier to train by SGD.

A planted teacher (``data.planted.blum_rivest``: two threshold units in ℝ¹⁰ and their AND) labels
n random Gaussian inputs; ReLU students with the teacher's width (2 hidden units) and wider are
trained by SGD on the cross-entropy from ``len(seeds)`` seeds (teacher, sample and initialization
all drawn from the seed). A run succeeds when it reaches zero training error. Claims:

1. at the teacher's width a substantial fraction of runs fails (Wilson 95 % interval);
2. the success fraction rises with width and is ≥ 95 % at the widest;
3. the failing runs sit at critical points: gradient-norm minimization (``measure.minimize_gradient_norm``)
   from the end point keeps the training error above 0 and reaches a point where the per-example
   gradients cancel, coherence ‖(1/n)Σᵢ∇ℓᵢ‖ / ((1/n)Σᵢ‖∇ℓᵢ‖) ≤ coherence_max (0 at a critical point, ≈ 0.1–0.5
   at initialization); the Hessian index (``measure.hessian_index``) tells minima from saddles.

ReLU students have a piecewise-smooth loss: its minima can sit on a kink where ‖∇L‖ itself does not
vanish, which is why the scale-free coherence is the criterion and ‖∇L‖ is reported beside it.
Paper scale: ``--set seeds=0,…,99`` (100 runs per width); the teacher and data are the same.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from scipy import stats
from torch.func import functional_call, grad, vmap

from ..measure import hessian_index, minimize_gradient_norm
from ..report.figures import save
from ..report.figures.blum_rivest import blum_rivest_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data: the planted 3-node teacher in ℝ¹⁰ (data.planted)
    data: str = "blum-rivest"
    data_root: Optional[str] = None
    n_train: Optional[int] = 200       # n labeled points to fit
    n_test: Optional[int] = 2000       # fresh points from the same teacher
    # model: one hidden layer of ReLU units (the teacher has 2 threshold units)
    widths: tuple[int, ...] = (2, 4, 8, 16, 64, 256)  # the first is the teacher's width
    # SGD
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 50
    max_steps: int = 4000              # budget; a run that has not fit by then failed
    eval_every: int = 100              # steps between checks of the training error
    target_train_acc: float = 1.0      # success = zero training error
    # measurement at the failing runs of the teacher's width
    critical_runs: int = 10            # at most this many failing runs are examined
    critical_steps: int = 500          # Adam steps minimizing ‖∇L‖² (Pennington & Bahri 2017)
    critical_lr: float = 1e-3
    # claim tolerances
    fail_fraction: float = 0.1         # claim 1: lower Wilson bound of the failure fraction above this
    wide_success: float = 0.95         # claim 2: success fraction at the widest at least this
    alpha: float = 0.05                # claim 2: Fisher exact test, widest vs teacher's width
    coherence_max: float = 0.05        # claim 3: mean coherence + 2 se at most this
    seeds: tuple[int, ...] = tuple(range(20))  # ≥ 20 runs per width (teacher, sample, init, SGD)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if list(self.widths) != sorted(set(self.widths)) or len(self.widths) < 2:
            raise ValueError("widths must be at least two increasing hidden-layer sizes (the first: the teacher's)")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be different")
        recipe(self, seed=self.seeds[0])


QUICK = dict(widths=(2, 16), seeds=tuple(range(8)), max_steps=3000, critical_runs=3, critical_steps=300)

CLAIMS = declare(
    hard=ClaimSpec("with the teacher's width (2 hidden units) a substantial fraction of SGD runs fails to reach "
                   "zero training error", "Blum & Rivest 1992 (NP-completeness); the lecture's 'theoretical "
                   "hardness' slide", "lower end of the Wilson 95 % interval of the failure fraction > fail_fraction"),
    wide=ClaimSpec("the success fraction rises with width and is ≥ 95 % at the widest",
                   "Livni, Shalev-Shwartz & Shamir 2014, §5 (over-specification)",
                   "success(widest) ≥ wide_success, Fisher exact p(widest vs teacher width) < alpha, "
                   "Kendall τ_b(width, success fraction) > 0"),
    critical=ClaimSpec("the failing runs sit at critical points with non-zero training error",
                       "the lecture (non-convexity: 'optimization lies in the center of many mysteries'); "
                       "Safran & Shamir 2018 (spurious local minima of two-layer ReLU nets)",
                       "after minimize_gradient_norm: training error > 0 for every examined run and mean "
                       "gradient coherence + 2 se ≤ coherence_max (the loss change is reported)"),
    finite=ClaimSpec("no run diverged", "experimental control", "every training loss finite", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every,
                       target_train_acc=cfg.target_train_acc, seed=seed, device=cfg.device)


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k/n (95 % by default)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def gradient_coherence(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(‖ḡ‖ / mean ‖gᵢ‖, ‖ḡ‖) with gᵢ = ∇_θ CE(f(xᵢ), yᵢ) and ḡ their mean (per-example gradients by vmap)."""
    params = {k: v.detach() for k, v in net.named_parameters()}
    loss = lambda p, xi, yi: F.cross_entropy(functional_call(net, p, (xi[None],)), yi[None])  # noqa: E731
    g = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    G = torch.cat([v.reshape(len(x), -1) for v in g.values()], dim=1)
    mean = G.mean(0).norm()
    return float(mean / G.norm(dim=1).mean()), float(mean)


def _examine(net, init, x, y, cfg: Config) -> dict:
    crit, res = minimize_gradient_norm(net, F.cross_entropy, (x, y), steps=cfg.critical_steps, lr=cfg.critical_lr)
    with torch.no_grad():
        err = float((crit(x).argmax(1) != y).double().mean())
    idx = hessian_index(crit, F.cross_entropy, (x, y))
    return {"coherence_init": gradient_coherence(init, x, y)[0], "coherence_end": gradient_coherence(net, x, y)[0],
            "coherence_critical": gradient_coherence(crit, x, y)[0], "grad_norm_end": res.extra["initial_grad_norm"],
            "grad_norm_critical": float(res.value), "loss_end": res.extra["initial_loss"],
            "loss_critical": res.extra["loss"], "train_error_critical": err, "hessian_index": float(idx.value),
            "lambda_min": idx.extra["lambda_min"], "lambda_max": idx.extra["lambda_max"]}


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    rows, examined, hashes = [], 0, {}
    ds = None
    for seed in cfg.seeds:
        ds = load_dataset(cfg, seed=seed)  # one teacher and sample per seed
        hashes[seed] = ds.hash
        for h in cfg.widths:
            net, init, res = train_model(out, f"h{h}_seed{seed}", ds, "mlp", {"widths": (h,)}, recipe(cfg, seed=seed),
                                         progress)
            row = {"width": h, "seed": seed, "success": res.steps_to_fit is not None, "steps": res.steps,
                   "diverged": res.diverged, "train_error": 1 - res.final["train_acc"],
                   "test_error": 1 - res.final["test_acc"], "train_loss": res.final["train_loss"]}
            if h == cfg.widths[0] and not row["success"] and examined < cfg.critical_runs:
                row.update(_examine(net, init, ds.x_train.to(cfg.device), ds.y_train.to(cfg.device), cfg))
                examined += 1
            rows.append(row)
    return _report(cfg, ds, rows, out, hashes)


def _report(cfg: Config, ds, rows: list, out: Path, hashes: dict) -> dict:
    by = {h: [r for r in rows if r["width"] == h] for h in cfg.widths}
    frac = {h: (sum(r["success"] for r in rs), len(rs)) for h, rs in by.items()}
    h0, hw = cfg.widths[0], cfg.widths[-1]
    claims = []
    k, n = frac[h0]
    lo, hi = wilson(n - k, n)
    claims.append(CLAIMS["hard"].judge({"failures": n - k, "runs": n, "failure fraction": round((n - k) / n, 4),
                                        "Wilson 95 %": [round(lo, 4), round(hi, 4)]}, lo > cfg.fail_fraction))
    kw, nw = frac[hw]
    p = float(stats.fisher_exact([[kw, nw - kw], [k, n - k]], alternative="greater").pvalue)
    tau = float(stats.kendalltau(cfg.widths, [a / b for a, b in frac.values()]).statistic)
    claims.append(CLAIMS["wide"].judge({"success by width": {str(h): f"{a}/{b}" for h, (a, b) in frac.items()},
                                        "Wilson 95 % at widest": [round(v, 4) for v in wilson(kw, nw)],
                                        "Fisher p": round(p, 6), "Kendall tau_b": round(tau, 3)},
                                       kw / nw >= cfg.wide_success and p < cfg.alpha and tau > 0))
    ex = [r for r in rows if "coherence_critical" in r]
    if len(ex) < 2:
        claims.append(CLAIMS["critical"].not_evaluable(f"{len(ex)} failing run(s) at the teacher's width: a mean "
                                                       "with a spread needs two"))
    else:
        m, se = mean_se([r["coherence_critical"] for r in ex])
        moved = max(abs(r["loss_critical"] - r["loss_end"]) / r["loss_end"] for r in ex)
        ok = all(r["train_error_critical"] > 0 for r in ex) and m + 2 * se <= cfg.coherence_max
        claims.append(CLAIMS["critical"].judge({
            "examined runs": len(ex), "coherence after minimization (mean, se)": [round(m, 4), round(se, 4)],
            "coherence at the end point (mean)": round(sum(r["coherence_end"] for r in ex) / len(ex), 4),
            "coherence at initialization (mean)": round(sum(r["coherence_init"] for r in ex) / len(ex), 4),
            "train error after minimization (min)": min(r["train_error_critical"] for r in ex),
            "largest relative loss change": round(moved, 5),
            "‖∇L‖ after minimization (max)": max(r["grad_norm_critical"] for r in ex),
            "Hessian index (max)": max(r["hessian_index"] for r in ex)}, ok))
    claims.append(CLAIMS["finite"].judge({"diverged": sum(r["diverged"] for r in rows)},
                                         not any(r["diverged"] for r in rows)))
    fig = save(blum_rivest_figure(frac, {h: [r["train_error"] for r in rs] for h, rs in by.items()}, ex,
                                  {h: wilson(a, b) for h, (a, b) in frac.items()}), out / "figures" / "blum_rivest.png")
    return preset_result(ds, claims, rows, [fig], out, data_hash_by_seed=hashes, captions={
        "figures/blum_rivest.png": f"(a) Fraction of SGD runs reaching zero training error vs hidden width (teacher: "
            f"{h0} threshold units), Wilson 95 % intervals, {len(cfg.seeds)} runs per width; (b) final training "
            "error of every run; (c) failing runs at the teacher's width: gradient coherence at initialization, at "
            "the SGD end point and after gradient-norm minimization (0 = critical point)."})


PRESET = Preset(name="blum-rivest-overparameterization",
                title="Blum & Rivest 1992 — the 3-node net is hard to train, wider students are not",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.widths))
