"""``jastrzebski2017-lr-batch`` — Jastrzębski, Kenton, Arpit, Ballas, Fischer, Bengio & Storkey,
"Three factors influencing minima in SGD", 2017 (ICANN 2018); Chaudhari & Soatto, "Stochastic
gradient descent performs variational inference", ICLR 2018.

SGD as a discretized SDE has noise of scale (η/B)·Σ: the "temperature" η/B, not η and B
separately, decides which minima SGD settles in. A grid of learning rates η and batch sizes B
trained to the same training loss; at each end point λ_max of the Hessian (Lanczos), the
gradient-noise trace tr Σ, and the test accuracy. Claims: runs with the same η/B reach similar
λ_max and test accuracy; a larger η/B finds flatter minima (smaller λ_max). The paper also notes
that the invariance breaks down at large η (beyond the SDE's small-step regime); this grid stays
below that and does not test it. Runs that do not reach the target are left out of the claims and
listed in the control.
"""
from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from pathlib import Path
from typing import Optional

import numpy as np
import torch.nn.functional as F
from scipy import stats

from ..measure import gradient_noise, hessian, top_eigenvalues
from ..report.figures import save
from ..report.figures.jastrzebski2017 import temperature_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model
    model: str = "cnn"
    width: int = 32
    depth: int = 2
    # SGD: the grid of η and B (η/B = const along the diagonals)
    lrs: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04)
    momentum: float = 0.9              # heavy ball: the temperature becomes η/(B(1 − β)), still ∝ η/B
    weight_decay: float = 0.0
    batch_sizes: tuple[int, ...] = (32, 64, 128, 256)
    max_epochs: int = 300              # budget per run, in epochs (evaluated every epoch)
    target_train_loss: float = 0.05    # every run trained to this training cross-entropy
    # measurement
    curvature_examples: int = 1000     # training examples for λ_max and tr Σ
    # claim tolerances
    similar_tol: float = 0.25          # "similar": log-range of λ_max within an η/B group ≤ this × over the grid
    acc_tol: float = 0.02              # "similar": test-accuracy range within an η/B group ≤ this
    rho_max: float = -0.5              # "flatter": Spearman ρ(η/B, λ_max) ≤ this, with p < 0.05
    seeds: tuple[int, ...] = (0,)      # grid cells are averaged over seeds
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=1000, lrs=(0.01, 0.04), batch_sizes=(32, 128), curvature_examples=500)

CLAIMS = declare(
    equal_temperature=ClaimSpec("runs with equal η/B reach similar sharpness (λ_max) and test accuracy",
                                "Jastrzębski et al. 2017, §4.2 and Fig. 2",
                                "in every η/B group with ≥ 2 runs: log-range of λ_max ≤ similar_tol × its log-range "
                                "over the grid, and test-accuracy range ≤ acc_tol"),
    flatter=ClaimSpec("a larger η/B finds flatter minima (smaller λ_max)",
                      "Jastrzębski et al. 2017, §4.1 and Fig. 1; Chaudhari & Soatto 2018",
                      "Spearman ρ(η/B, λ_max) ≤ rho_max with p < 0.05, over ≥ 3 distinct η/B"),
    all_fit=ClaimSpec("every run of the grid reaches the target training loss", "experimental control",
                      "no run left unfitted", control=True),
)


def recipe(cfg: Config, *, seed: int, lr: float | None = None, batch_size: int | None = None, **_) -> TrainConfig:
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=1, batch_size=batch_size or cfg.batch_sizes[0],
                       lr=lr or cfg.lrs[0], momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       target_train_loss=cfg.target_train_loss, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    sub = (ds.x_train[: cfg.curvature_examples].to(cfg.device), ds.y_train[: cfg.curvature_examples].to(cfg.device))
    rows = []
    for seed in cfg.seeds:
        for lr in cfg.lrs:
            for b in cfg.batch_sizes:
                name = f"lr{lr:g}_B{b}_seed{seed}"
                net, _, res = train_model(out, name, ds, cfg.model, mkw, recipe(cfg, seed=seed, lr=lr, batch_size=b),
                                          progress)
                lam = top_eigenvalues(hessian(net, F.cross_entropy, sub), k=1, tol=1e-4, seed=seed)
                noise = gradient_noise(net, F.cross_entropy, sub, batch_size=b, lr=lr)
                rows.append({"run": name, "lr": lr, "batch": b, "seed": seed, "lr_over_B": lr / b,
                             "fitted": res.steps_to_fit is not None, "steps": res.steps,
                             "train_loss": res.final["train_loss"], "test_acc": res.final["test_acc"],
                             "lambda_max": float(lam.value[0]), "lambda_residual": float(lam.extra["residuals"][0]),
                             "trace_sigma": float(noise.value), "trace_sigma_stderr": float(noise.stderr)})
    return _report(cfg, ds, rows, out)


def _cells(rows) -> list[dict]:
    """Fitted runs averaged over seeds per (η, B) cell."""
    cells = defaultdict(list)
    for r in rows:
        if r["fitted"]:
            cells[(r["lr"], r["batch"])].append(r)
    return [{"lr": lr, "batch": b, "lr_over_B": lr / b, "lambda_max": float(np.mean([r["lambda_max"] for r in rs])),
             "test_acc": float(np.mean([r["test_acc"] for r in rs]))} for (lr, b), rs in cells.items()]


def _report(cfg, ds, rows, out: Path) -> dict:
    cells = _cells(rows)
    groups = defaultdict(list)
    for c in cells:
        groups[round(math.log(c["lr_over_B"]), 6)].append(c)
    lam_all = [c["lambda_max"] for c in cells]
    total = math.log(max(lam_all) / min(lam_all)) if len(lam_all) > 1 and min(lam_all) > 0 else 0.0
    spreads = {}
    for g in groups.values():
        if len(g) > 1:
            lam, acc = [c["lambda_max"] for c in g], [c["test_acc"] for c in g]
            spreads[f"{g[0]['lr_over_B']:.3g}"] = {
                "lambda_spread": round(math.log(max(lam) / min(lam)) / total, 3) if total > 0 else math.nan,
                "acc_spread": round(max(acc) - min(acc), 4), "runs": len(g)}
    claims = []
    if not spreads or total <= 0:
        claims.append(CLAIMS["equal_temperature"].not_evaluable("no η/B group with two fitted cells", spreads))
    else:
        ok = all(s["lambda_spread"] <= cfg.similar_tol and s["acc_spread"] <= cfg.acc_tol for s in spreads.values())
        claims.append(CLAIMS["equal_temperature"].judge(spreads, ok))
    if len({c["lr_over_B"] for c in cells}) >= 3:
        res = stats.spearmanr([c["lr_over_B"] for c in cells], [c["lambda_max"] for c in cells])
        rho, p = float(res.statistic), float(res.pvalue)
        claims.append(CLAIMS["flatter"].judge({"rho": round(rho, 3), "p": round(p, 4), "cells": len(cells)},
                                              rho <= cfg.rho_max and p < 0.05))
    else:
        claims.append(CLAIMS["flatter"].not_evaluable("fewer than three distinct η/B among fitted runs"))
    unfit = [r["run"] for r in rows if not r["fitted"]]
    claims.append(CLAIMS["all_fit"].judge({"not fitted": unfit, "runs": len(rows)}, not unfit))
    fig = save(temperature_figure(rows), out / "figures" / "lr_over_batch.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/lr_over_batch.png": "λ_max of the Hessian (left) and test accuracy (right) against the SGD "
                                     "temperature η/B, one line per batch size B; hollow markers: runs that did not "
                                     "reach the target loss. Points with equal η/B should sit at equal heights."})


PRESET = Preset(name="jastrzebski2017-lr-batch",
                title="Jastrzębski et al. 2017 — the SGD temperature η/B decides sharpness and generalization",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.lrs) * len(c.batch_sizes))
