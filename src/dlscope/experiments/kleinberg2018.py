"""``kleinberg2018-smoothing`` — Kleinberg, Li & Yuan, "An alternative view: when does SGD escape
local minima?", ICML 2018 (the article of seed 003 presents it).

Two experiments. (1) SGD on mnist1d keeps θ_t every epoch (:mod:`dlscope.train.snapshots`); for each
snapshot after the first epoch, cos(−∇L(θ_t), θ_T − θ_t) with L the full training loss and θ_T the
final point (:func:`dlscope.measure.one_point_convexity`; also the directional curvature
κ_t = dᵀH(θ_t)d/‖d‖²). Kleinberg et al. (§6, their trajectory plots for CIFAR-10 networks) observe that
the direction to the final solution keeps a positive inner product with −∇f after the first epochs:
the loss is one-point convex towards x* along the path. (2) A 1-D loss with a sharp local minimum
next to a wide one (:mod:`._sgd_toy`): gradient descent with a small step stays in the sharp one,
SGD started there escapes more often as η/B grows (the noise radius ησ/√B of one step smooths the
sharp well away, their Fig. 1 and §1). Chains of each (η, B) run for the same time η·T.

Closer to the paper (CIFAR-10 networks): ``--set data=cifar10 model=resnet depth=20
max_epochs=100 loss_examples=5000 --device cuda``.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch.nn.functional as F
from scipy import stats as sps

from ..measure import one_point_convexity
from ..report.figures import save
from ..report.figures.kleinberg2018 import toy_figure, trajectory_figure
from ..train import TrainConfig, read_snapshots
from ._sgd_toy import Toy, escape_fractions
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all 4000)
    n_test: Optional[int] = None
    # model
    model: str = "cnn"                # the AlexNet-style CNN of the other presets
    width: int = 16
    depth: int = 2
    # SGD (plain SGD, the update Kleinberg et al. analyse: no momentum)
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int = 64
    max_epochs: int = 30              # budget in epochs; θ_t kept once per epoch
    # measurement
    loss_examples: Optional[int] = None  # training examples defining L for ∇L and κ (None: all)
    # the 1-D toy (see _sgd_toy.py)
    toy_sigma: float = 4.0            # sd of the per-example gradient offsets ξ_i
    toy_time: float = 40.0            # every chain runs for time η·T
    toy_lrs: tuple[float, ...] = (0.01, 0.02, 0.03)   # η (< 2/50: gradient descent is stable in the sharp well)
    toy_batches: tuple[int, ...] = (1, 2, 4, 8)
    toy_chains: int = 200             # independent SGD runs per (η, B) and seed
    # claim tolerances
    min_fraction: float = 0.9         # snapshots after epoch 1 with cos > 0 (the threshold)
    rho_min: float = 0.8              # Spearman ρ(η/B, escape fraction) at least this
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=500, max_epochs=12, loss_examples=500, toy_chains=100, toy_lrs=(0.01, 0.03))

CLAIMS = declare(
    one_point=ClaimSpec("after the first epoch, −∇L(θ_t) has a positive inner product with θ_T − θ_t: the loss is "
                        "one-point convex towards SGD's final solution along its path",
                        "Kleinberg et al. 2018, §6 (trajectory observations on CIFAR-10 networks)",
                        "mean over seeds of the fraction of snapshots after epoch 1 with cos > 0 ≥ min_fraction"),
    escape=ClaimSpec("started in a sharp local minimum next to a wide one, SGD escapes it more often as η/B grows",
                     "Kleinberg et al. 2018, Fig. 1 and §1 (smoothing radius ∝ η · noise)",
                     "Spearman ρ(η/B, mean escape fraction) ≥ rho_min and escape at the largest η/B exceeds the "
                     "smallest by > 2 se"),
    gd_stays=ClaimSpec("gradient descent with the largest step stays in the sharp minimum", "experimental control",
                       "|x_T| < the barrier for GD (no noise) at max(toy_lrs)", control=True),
)


def recipe(cfg: Config, *, seed: int, n_train: Optional[int] = None, **_) -> TrainConfig:
    """Snapshots once per epoch: ``n_train`` (the loaded set's size; default the Config's, or mnist1d's 4000)."""
    n = n_train or cfg.n_train or 4000
    spe = math.ceil(n / min(cfg.batch_size, n))  # steps per epoch, as TrainConfig.budget counts them
    return TrainConfig(max_epochs=cfg.max_epochs, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every_epochs=1.0, snapshot_every=spe, seed=seed,
                       device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    k = cfg.loss_examples or ds.n_train
    train = (ds.x_train[:k].to(cfg.device), ds.y_train[:k].to(cfg.device))
    points, first_step = [], None
    for seed in cfg.seeds:
        tc = recipe(cfg, seed=seed, n_train=ds.n_train)
        net, _, res = train_model(out, f"sgd_seed{seed}", ds, cfg.model, size_kwargs(cfg.model, cfg.width, cfg.depth),
                                  tc, progress)
        first_step = tc.budget(ds.n_train)[0]
        if progress:
            progress(f"one-point convexity (seed {seed})", 0, 1)
        r = one_point_convexity(read_snapshots(res.run_dir), F.cross_entropy, train, model=net)
        points += [{"seed": seed, "step": s, "cos": c, "c": cc, "kappa": kap, "loss": lo}
                   for s, c, cc, kap, lo in zip(r.extra["steps"], r.extra["cos"], r.extra["c"], r.extra["kappa"],
                                                r.extra["loss"])]
    toy = Toy(sigma=cfg.toy_sigma)
    rows = [r for seed in cfg.seeds for r in escape_fractions(toy, cfg.toy_lrs, cfg.toy_batches, cfg.toy_time,
                                                               cfg.toy_chains, seed)]
    gd_end = float(toy.run(max(cfg.toy_lrs), None, cfg.toy_time, 1, 0)[0][0])
    return _report(cfg, ds, points, first_step, toy, rows, gd_end, out)


def _report(cfg, ds, points, first_step, toy, rows, gd_end, out: Path) -> dict:
    claims, per_seed = [], {}
    for seed in cfg.seeds:
        after = [p["cos"] for p in points if p["seed"] == seed and p["step"] >= first_step]
        per_seed[seed] = {"snapshots after epoch 1": len(after),
                          "fraction cos > 0": round(sum(c > 0 for c in after) / max(len(after), 1), 4),
                          "min cos": round(min(after), 4) if after else None}
    m, se = mean_se([v["fraction cos > 0"] for v in per_seed.values()])
    measured = {"mean fraction": round(m, 4), "se": None if se is None else round(se, 4), "per seed": per_seed}
    if len(cfg.seeds) < 2 or any(v["snapshots after epoch 1"] == 0 for v in per_seed.values()):
        claims.append(CLAIMS["one_point"].not_evaluable("needs ≥ 2 seeds with snapshots after epoch 1", measured))
    else:
        claims.append(CLAIMS["one_point"].judge(measured, m >= cfg.min_fraction))
    grid = {}
    for r in rows:
        grid.setdefault((r["lr"], r["batch"]), []).append(r["escaped"])
    summary = []
    for (lr, b), v in sorted(grid.items()):
        gm, gse = mean_se(v)
        summary.append({"lr": lr, "batch": b, "lr_over_b": lr / b, "mean": round(gm, 4),
                        "se": None if gse is None else round(gse, 4)})
    order = sorted(summary, key=lambda r: r["lr_over_b"])
    rho = float(sps.spearmanr([r["lr_over_b"] for r in summary], [r["mean"] for r in summary]).statistic)
    lo, hi = order[0], order[-1]
    gap = hi["mean"] - lo["mean"]
    gap_se = math.hypot(hi["se"] or 0.0, lo["se"] or 0.0)
    measured = {"spearman rho": round(rho, 4) if math.isfinite(rho) else None, "escape at min η/B": lo,
                "escape at max η/B": hi, "difference": round(gap, 4), "se": round(gap_se, 4)}
    if len(cfg.seeds) < 2 or not math.isfinite(rho):
        claims.append(CLAIMS["escape"].not_evaluable("needs ≥ 2 seeds and escape fractions that vary", measured))
    else:
        claims.append(CLAIMS["escape"].judge(measured, rho >= cfg.rho_min and gap > 2 * gap_se))
    claims.append(CLAIMS["gd_stays"].judge({"x_T": round(gd_end, 5), "barrier": round(toy.barrier, 4)},
                                           abs(gd_end) < toy.barrier))
    radii = {f"SGD η={r['lr']:g}, B={r['batch']}": r["lr"] * cfg.toy_sigma / math.sqrt(r["batch"]) for r in (lo, hi)}
    radii["3 × the sharp width"] = 3 * toy.s
    figs = [save(trajectory_figure(points, first_step), out / "figures" / "one_point_convexity.png"),
            save(toy_figure(toy, radii, summary, gd_end), out / "figures" / "sharp_vs_wide.png")]
    table = [{"kind": "snapshot", **p} for p in points] + [{"kind": "toy", **r} for r in summary]
    return preset_result(ds, claims, table, figs, out, toy_rows=rows, first_epoch_step=first_step,
                         toy_barrier=toy.barrier, captions={
        "figures/one_point_convexity.png": "Left: cos(−∇L(θ_t), θ_T − θ_t) along each seed's SGD trajectory (L: the "
                                           "training loss, θ_T: the last snapshot); the claim counts the points right "
                                           "of the dotted line. Right: the curvature of L along θ_T − θ_t at θ_t.",
        "figures/sharp_vs_wide.png": "Left: the 1-D loss (black) and its convolutions with N(0, r²) at the noise "
                                     "radius ησ/√B of one SGD step for the extreme grid points: the sharp well "
                                     "fades first. Right: the fraction of SGD chains (started in the sharp well, "
                                     "run for the same time η·T) that ended in the wide well, against η/B."})


PRESET = Preset(name="kleinberg2018-smoothing",
                title="Kleinberg et al. 2018 — SGD works on a smoothed loss: one-point convexity, escaping sharp minima",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds))
