"""``li2018-landscape`` — Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of
neural nets", NeurIPS 2018.

The same deep ResNet trained with and without its skip connections ("plain", He et al.'s
"-noshort" nets), then the training loss on a 2-D slice θ* + α δ₁ + β δ₂ through each solution,
along seeded Gaussian directions with filter normalization (each filter of δ rescaled to the norm
of the corresponding filter of θ*; batch-norm parameters not moved). Li et al.'s Figure 5: without
skip connections a deep net's landscape becomes chaotic and non-convex; with them it stays smooth
and nearly convex. Quantified two ways: the fraction of slice points where the slice's own 2×2
discrete Hessian has a negative eigenvalue, and |λ_min/λ_max| of the Hessian at the solution (their
Fig. 7 maps this ratio over the slice).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch.nn.functional as F

from ..measure import bottom_eigenvalues, hessian, slice_2d, top_eigenvalues
from ..report.figures import save
from ..report.figures.li2018 import landscape_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model
    depth: int = 32                    # ResNet depth 6n+2 (Li et al.: 20, 56, 110; chaos grows with depth)
    norm: str = "batch"                # batch norm, as in Li et al.
    # SGD
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4         # Li et al. 2018, §6: 5e-4
    batch_size: int = 128
    schedule: str = "cosine"           # Li et al. divide by 10 at epochs 150, 225, 275 of 300; cosine is its smooth form
    max_steps: int = 2000
    eval_every: int = 200
    # measurement
    grid: int = 21                     # slice resolution per axis (Li et al.: 51)
    span: float = 1.0                  # α, β ∈ [−span, span]
    slice_examples: int = 1000         # training examples on which the slice is evaluated
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if (self.depth - 2) % 6 or self.depth < 8:
            raise ValueError("depth must be 6n+2 (8, 14, 20, 26, ...)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=1000, depth=20, max_steps=500, eval_every=100, grid=11, slice_examples=500)

CLAIMS = declare(
    convex=ClaimSpec("the slice around the residual net is more convex than around the plain net",
                     "Li et al. 2018, Fig. 5", "non-convex fraction (residual) < (plain), every seed"),
    curvature=ClaimSpec("the residual solution has less negative curvature relative to positive: smaller "
                        "|λ_min/λ_max|", "Li et al. 2018, Fig. 7", "|λ_min/λ_max| (residual) < (plain), every seed"),
    trainability=ClaimSpec("skip connections make the deep net easier to train: lower training loss in the same "
                           "budget", "He et al. 2016, Fig. 6; Li et al. 2018, Table 1",
                           "train loss (residual) < (plain), every seed"),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, schedule=cfg.schedule, eval_every=cfg.eval_every, seed=seed,
                       device=cfg.device)


def nonconvex_fraction(z: np.ndarray, h: float) -> float:
    """Fraction of interior grid points where the finite-difference Hessian of the slice
    [[z_αα, z_αβ], [z_αβ, z_ββ]] has a negative eigenvalue."""
    zaa = (z[2:, 1:-1] - 2 * z[1:-1, 1:-1] + z[:-2, 1:-1]) / h**2
    zbb = (z[1:-1, 2:] - 2 * z[1:-1, 1:-1] + z[1:-1, :-2]) / h**2
    zab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / (4 * h**2)
    lam_min = 0.5 * (zaa + zbb) - np.sqrt(0.25 * (zaa - zbb) ** 2 + zab**2)
    return float((lam_min < 0).mean())


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    sub = (ds.x_train[: cfg.slice_examples].to(cfg.device), ds.y_train[: cfg.slice_examples].to(cfg.device))
    rows, slices = [], {}
    for seed in cfg.seeds:
        for name, residual in (("residual", True), ("plain", False)):
            net, _, res = train_model(out, f"{name}_seed{seed}", ds, "resnet",
                                      {"depth": cfg.depth, "residual": residual, "norm": cfg.norm},
                                      recipe(cfg, seed=seed), progress)
            if progress:
                progress(f"slice {name}", 0, 1)
            s = slice_2d(net, F.cross_entropy, sub, span=(-cfg.span, cfg.span), steps=cfg.grid, seed=seed)
            z = np.asarray(s.value, dtype=float)
            H = hessian(net, F.cross_entropy, sub)
            top = float(top_eigenvalues(H, k=1, tol=1e-3, seed=seed).value[0])
            bottom = float(bottom_eigenvalues(H, k=1, tol=1e-3, seed=seed).value[0])
            if seed == cfg.seeds[0]:
                slices[name] = (np.asarray(s.extra["alphas"]), np.asarray(s.extra["betas"]), z)
            rows.append({"net": name, "seed": seed, "depth": cfg.depth, "train_loss": res.final["train_loss"],
                         "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"],
                         "slice_center": float(z[cfg.grid // 2, cfg.grid // 2]), "slice_max": float(z.max()),
                         "nonconvex_fraction": nonconvex_fraction(z, 2 * cfg.span / (cfg.grid - 1)),
                         "lambda_max": top, "lambda_min": bottom, "abs_min_over_max": abs(bottom) / top})
            if progress:
                progress(f"slice {name}", 1, 1)
    return _report(cfg, ds, rows, slices, out)


def _compare(cfg, rows, key):
    pairs = [(next(r for r in rows if r["net"] == "residual" and r["seed"] == s),
              next(r for r in rows if r["net"] == "plain" and r["seed"] == s)) for s in cfg.seeds]
    measured = {"residual": [round(r[key], 4) for r, _ in pairs], "plain": [round(p[key], 4) for _, p in pairs]}
    return measured, all(r[key] < p[key] for r, p in pairs)


def _report(cfg, ds, rows, slices, out: Path) -> dict:
    claims = [CLAIMS[k].judge(*_compare(cfg, rows, col)) for k, col in
              (("convex", "nonconvex_fraction"), ("curvature", "abs_min_over_max"), ("trainability", "train_loss"))]
    fig = save(landscape_figure(slices), out / "figures" / "landscape_2d.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/landscape_2d.png": f"log10 training loss on a 2-D filter-normalized slice through the residual "
                                    f"(left) and plain (right) ResNet-{cfg.depth} (seed {cfg.seeds[0]}); the star "
                                    "is the trained net. Li et al.'s Fig. 5: the plain net's slice is chaotic."})


PRESET = Preset(name="li2018-landscape",
                title="Li et al. 2018 — skip connections keep the loss landscape of a deep net smooth",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run)
