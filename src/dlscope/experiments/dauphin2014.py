"""``dauphin2014-saddles`` — Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio, "Identifying and
attacking the saddle point problem in high-dimensional non-convex optimization", NeurIPS 2014.

Bray & Dean (2007) predict, for Gaussian random fields in high dimension, that critical points
with high error are saddles whose index α (fraction of negative Hessian eigenvalues) grows with
the error ε, and that local minima (α = 0) concentrate near the lowest errors. Dauphin et al.
(Fig. 1) measured α against ε at critical points of small nets. Here, on an MLP small enough for
an exact Hessian eigendecomposition, critical points at many loss levels are searched for from
points on the segment between the initialization and the trained network
(:func:`dlscope.measure.minimize_gradient_norm`: Newton-MR, a Newton-type search as Dauphin et al.
used, in float64), and a point counts as critical only when its gradient norm fell below
``critical_tol`` times the norm at its start; the claims use those points only, and are not
evaluable with fewer than ``min_points`` of them. Points where the search stalled above the
tolerance (gradient-flat points, Frye et al. 2021) are shown but not used. The tolerance 10⁻⁶ is
set from what Newton-MR reaches on these MLPs: where it converges it goes on to 10⁻⁷–10⁻⁹ of the
starting ‖∇L‖ within 40 iterations, where it stalls it stays at ≥ 2·10⁻³ (measured on the quick MLP,
5 starts; the old Adam search stopped at 0.1–0.4), so 10⁻⁶ separates the two with a decade or more
on either side. With CE on separable data the lowest "critical points" are approximate minima
(‖∇L‖ → 0 as L → 0), not points at a finite distance. α uses the threshold
−10⁻³ λ_max (:func:`dlscope.measure.hessian_index`). The index along SGD training is drawn too
(dlscope's own observation; it is not a claim of the paper).
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats

from ..measure import hessian_index, minimize_gradient_norm
from ..report.figures import save
from ..report.figures.dauphin2014 import saddles_figure
from ..train import TrainConfig, evaluate
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = 500       # examples defining L (exact Hessians: keep the problem small)
    n_test: Optional[int] = 500
    # model
    model: str = "mlp"                 # an MLP small enough for dense Hessians
    widths: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    # SGD
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 50
    max_steps: int = 2000
    eval_every: int = 200              # trajectory points at which the index is measured
    # measurement
    starts: int = 8                    # critical-point searches, started at θ0 + s(θ_T − θ0), s ∈ [0, 1]
    critical_method: str = "newton-mr"  # measure.minimize_gradient_norm: newton-mr | levenberg-marquardt | adam
    critical_steps: int = 40           # iterations of the search (Newton-type: each ≤ critical_inner products)
    critical_inner: int = 200          # Lanczos/MINRES products per Newton-type iteration at most
    critical_lr: float = 1e-3          # Adam's learning rate (method "adam" only)
    rel_threshold: float = 1e-3        # eigenvalues < −rel_threshold·λ_max count as negative
    # claim tolerances
    critical_tol: float = 1e-6         # a point is critical when ‖∇L‖ ≤ critical_tol · ‖∇L(start)‖ (module doc)
    min_points: int = 4                # critical points needed for the rank correlation
    rho_min: float = 0.5               # Spearman ρ(loss, index) above this
    minimum_index: float = 0.02        # the lowest-loss critical point: index below this
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.critical_method not in ("newton-mr", "levenberg-marquardt", "adam"):
            raise ValueError("critical_method must be newton-mr, levenberg-marquardt or adam")
        if self.model != "mlp":
            raise ValueError("dauphin2014-saddles uses an MLP (exact Hessians); set widths= to size it")
        recipe(self, seed=self.seeds[0])


QUICK = dict(widths=(24, 24), max_steps=1200, eval_every=200, starts=5, critical_steps=30)

CLAIMS = declare(
    index_grows=ClaimSpec("at critical points the index (fraction of negative curvature) grows with the loss",
                          "Dauphin et al. 2014, Fig. 1; Bray & Dean 2007",
                          "Spearman ρ(loss, index) > rho_min over the critical points of every seed"),
    minimum=ClaimSpec("the lowest-loss critical point is (nearly) a minimum: index ≈ 0", "Dauphin et al. 2014, Fig. 1",
                      "index of the lowest-loss critical point < minimum_index, every seed"),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    data = (ds.x_train.to(cfg.device), ds.y_train.to(cfg.device))
    data64 = (data[0].double(), data[1])

    def index(net):
        return hessian_index(net, F.cross_entropy, data, rel_threshold=cfg.rel_threshold, seed=cfg.seeds[0])

    mkw = {"widths": tuple(cfg.widths), "activation": cfg.activation}
    probes = {"index": lambda net, _ds: index(net).value}
    trajectory, crit = [], []
    for seed in cfg.seeds:
        net, init, res = train_model(out, f"sgd_seed{seed}", ds, cfg.model, mkw, recipe(cfg, seed=seed), progress,
                                     probes=probes)
        trajectory.append({"seed": seed, "step": 0, "train_loss": evaluate(init, *data, F.cross_entropy)[0],
                           "index": index(init).value})
        trajectory += [{"seed": seed, "step": m["step"], "train_loss": m["train_loss"], "index": m["index"]}
                       for m in res.metrics]
        # The search and the index at its end run in float64: ‖∇L‖ is driven to ~10⁻⁸ of its start.
        p0, p1 = dict(init.double().named_parameters()), dict(copy.deepcopy(net).double().named_parameters())
        for i, s in enumerate(np.linspace(0.0, 1.0, cfg.starts)):
            if progress:
                progress(f"critical points (seed {seed})", i, cfg.starts)
            start = copy.deepcopy(net).double()
            with torch.no_grad():
                for k, p in start.named_parameters():
                    p.copy_(p0[k] + float(s) * (p1[k] - p0[k]))
            point, r = minimize_gradient_norm(start, F.cross_entropy, data64, method=cfg.critical_method,
                                              steps=cfg.critical_steps, tol=cfg.critical_tol, lr=cfg.critical_lr,
                                              inner_steps=cfg.critical_inner)
            idx = hessian_index(point, F.cross_entropy, data64, rel_threshold=cfg.rel_threshold, seed=cfg.seeds[0])
            crit.append({"seed": seed, "start_s": round(float(s), 3), "start_loss": r.extra["initial_loss"],
                         "start_grad_norm": r.extra["initial_grad_norm"], "loss": r.extra["loss"],
                         "grad_norm": r.value, "critical": r.value <= cfg.critical_tol * r.extra["initial_grad_norm"],
                         "stalled": r.extra["stalled"], "iterations": r.extra["iterations"],
                         "index": idx.value, "lambda_min": idx.extra.get("lambda_min"),
                         "lambda_max": idx.extra.get("lambda_max")})
    return _report(cfg, ds, trajectory, crit, out)


def _report(cfg, ds, trajectory, crit, out: Path) -> dict:
    per_seed, lows = {}, {}
    for seed in cfg.seeds:
        pts = [c for c in crit if c["seed"] == seed and c["critical"]]
        per_seed[seed] = {"critical points": len(pts), "of starts": cfg.starts,
                          "rho": (round(float(stats.spearmanr([c["loss"] for c in pts],
                                                              [c["index"] for c in pts]).statistic), 3)
                                  if len(pts) >= cfg.min_points else None)}
        if pts:
            low = min(pts, key=lambda c: c["loss"])
            lows[seed] = {"loss": round(low["loss"], 5), "index": round(low["index"], 4),
                          "grad_norm": round(low["grad_norm"], 6)}
    worst = max(c["grad_norm"] / c["start_grad_norm"] for c in crit)
    measured = {"per seed": per_seed, "largest ‖∇L‖ / ‖∇L(start)‖": round(worst, 4)}
    if any(v["rho"] is None for v in per_seed.values()):
        c1 = CLAIMS["index_grows"].not_evaluable(f"fewer than {cfg.min_points} points met the criticality tolerance "
                                                 f"‖∇L‖ ≤ {cfg.critical_tol}·‖∇L(start)‖", measured)
    else:
        c1 = CLAIMS["index_grows"].judge(measured, all(v["rho"] > cfg.rho_min for v in per_seed.values()))
    if len(lows) < len(cfg.seeds):
        c2 = CLAIMS["minimum"].not_evaluable("no critical point found for some seed", lows)
    else:
        c2 = CLAIMS["minimum"].judge(lows, all(v["index"] < cfg.minimum_index for v in lows.values()))
    fig = save(saddles_figure([t for t in trajectory if t["seed"] == cfg.seeds[0]],
                              [c for c in crit if c["seed"] == cfg.seeds[0]]), out / "figures" / "index_vs_loss.png")
    table = [{"kind": "critical point", **c} for c in crit] + [{"kind": "trajectory", **t} for t in trajectory]
    return preset_result(ds, [c1, c2], table, [fig], out, captions={
        "figures/index_vs_loss.png": "Index α (fraction of eigenvalues below −10⁻³ λ_max) against training loss: "
                                     f"squares are critical points found by {cfg.critical_method} (‖∇L‖ ≤ "
                                     f"{cfg.critical_tol:g}·‖∇L(start)‖; only these enter the claims), crosses are "
                                     "searches that stopped above the tolerance (colour: log10 of the final relative "
                                     "‖∇L‖); the line is SGD's trajectory (not a claim of the paper)."})


PRESET = Preset(name="dauphin2014-saddles",
                title="Dauphin et al. 2014 — high-loss critical points are saddles: the index grows with the loss",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds))
