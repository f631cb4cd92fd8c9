"""``li2018-landscape`` — Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of
neural nets", NeurIPS 2018.

The same deep ResNet trained with and without its skip connections ("plain", He et al.'s
"-noshort" nets), then the training loss on a 2-D slice θ* + α δ₁ + β δ₂ through each
solution, along seeded Gaussian directions with filter normalization (each filter of δ
rescaled to the norm of the corresponding filter of θ*; batch-norm parameters not moved).
Li et al.'s Figure 5: without skip connections a deep net's landscape becomes chaotic and
non-convex; with them it stays smooth and nearly convex. Quantified here two ways (their
Fig. 7 uses the second): the fraction of slice points where the slice's own 2×2 discrete
Hessian has a negative eigenvalue, and |λ_min/λ_max| of the full Hessian at the solution.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch.nn.functional as F

from ..measure import bottom_eigenvalues, hessian, slice_2d, top_eigenvalues
from ..report import plots
from ..train import TrainConfig
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, preset_result, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    depth: int = 32                    # ResNet depth 6n+2 (Li et al.: 20, 56, 110; chaos grows with depth)
    norm: str = "batch"                # batch norm, as in Li et al.
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4         # Li et al. 2018, §6: 5e-4
    batch_size: int = 128
    max_steps: int = 2000
    grid: int = 21                     # slice resolution per axis (Li et al.: 51)
    span: float = 1.0                  # α, β ∈ [−span, span]
    slice_examples: int = 1000         # training examples on which the slice is evaluated
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        check_common(self)
        if (self.depth - 2) % 6 or self.depth < 8:
            raise ValueError("depth must be 6n+2 (8, 14, 20, 26, ...)")

    def train_config(self) -> TrainConfig:
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr, momentum=self.momentum,
                           weight_decay=self.weight_decay, schedule="cosine", eval_every=max(1, self.max_steps // 10),
                           seed=self.seed, device=self.device)


QUICK = dict(n_train=1000, n_test=1000, depth=20, max_steps=500, grid=11, slice_examples=500)


def nonconvex_fraction(z: np.ndarray, h: float) -> float:
    """Fraction of interior grid points where the finite-difference Hessian of the slice
    [[z_αα, z_αβ], [z_αβ, z_ββ]] has a negative eigenvalue."""
    zaa = (z[2:, 1:-1] - 2 * z[1:-1, 1:-1] + z[:-2, 1:-1]) / h**2
    zbb = (z[1:-1, 2:] - 2 * z[1:-1, 1:-1] + z[1:-1, :-2]) / h**2
    zab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / (4 * h**2)
    lam_min = 0.5 * (zaa + zbb) - np.sqrt(0.25 * (zaa - zbb) ** 2 + zab**2)
    return float((lam_min < 0).mean())


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seed)
    sub = (ds.x_train[: cfg.slice_examples].to(cfg.device), ds.y_train[: cfg.slice_examples].to(cfg.device))
    rows, slices = [], {}
    for name, residual in (("residual", True), ("plain", False)):
        net, res = train_model(out, name, ds, "resnet", {"depth": cfg.depth, "residual": residual, "norm": cfg.norm},
                               cfg.train_config(), progress)
        if progress:
            progress(f"slice {name}", 0, 1)
        s = slice_2d(net, F.cross_entropy, sub, span=(-cfg.span, cfg.span), steps=cfg.grid, seed=cfg.seed)
        z = np.asarray(s.value, dtype=float)
        H = hessian(net, F.cross_entropy, sub)
        top = float(top_eigenvalues(H, k=1, tol=1e-3, seed=cfg.seed).value[0])
        bottom = float(bottom_eigenvalues(H, k=1, tol=1e-3, seed=cfg.seed).value[0])
        slices[name] = (np.asarray(s.extra["alphas"]), np.asarray(s.extra["betas"]), z)
        rows.append({"net": name, "depth": cfg.depth, "train_loss": res.final["train_loss"],
                     "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"],
                     "slice_center": float(z[cfg.grid // 2, cfg.grid // 2]), "slice_max": float(z.max()),
                     "nonconvex_fraction": nonconvex_fraction(z, 2 * cfg.span / (cfg.grid - 1)),
                     "lambda_max": top, "lambda_min": bottom, "abs_min_over_max": abs(bottom) / top})
        if progress:
            progress(f"slice {name}", 1, 1)
    r, p = rows
    claims = [
        Claim("the slice around the residual net is more convex than around the plain net",
              "Li et al. 2018, Fig. 5", "non-convex fraction (residual) < (plain)",
              {"residual": round(r["nonconvex_fraction"], 3), "plain": round(p["nonconvex_fraction"], 3)},
              r["nonconvex_fraction"] < p["nonconvex_fraction"]),
        Claim("the residual solution has less negative curvature relative to positive: smaller |λ_min/λ_max|",
              "Li et al. 2018, Fig. 7", "|λ_min/λ_max| (residual) < (plain)",
              {"residual": round(r["abs_min_over_max"], 4), "plain": round(p["abs_min_over_max"], 4)},
              r["abs_min_over_max"] < p["abs_min_over_max"]),
        Claim("skip connections make the deep net easier to train: lower training loss in the same budget",
              "He et al. 2016, Fig. 6; Li et al. 2018, Table 1", "train loss (residual) < (plain)",
              {"residual": round(r["train_loss"], 4), "plain": round(p["train_loss"], 4)},
              r["train_loss"] < p["train_loss"]),
    ]
    fig = plots.save(plots.landscape_figure(slices), out / "figures" / "landscape_2d.png")
    return preset_result(ds, claims, rows, [fig], out)


register(Preset(
    name="li2018-landscape",
    title="Li et al. 2018 — skip connections keep the loss landscape of a deep net smooth",
    claims=("residual slice more convex than plain", "residual |λ_min/λ_max| smaller",
            "residual trains to lower loss"),
    Config=Config, quick=QUICK, run=run))
