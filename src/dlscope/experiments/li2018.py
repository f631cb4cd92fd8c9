"""``li2018-landscape`` — Li, Xu, Taylor, Studer & Goldstein, "Visualizing the loss landscape of
neural nets", NeurIPS 2018.

The same deep ResNet trained with and without its skip connections ("plain", He et al.'s
"-noshort" nets), then the training loss on a 2-D slice θ* + α δ₁ + β δ₂ through each solution,
along seeded Gaussian directions with filter normalization (each filter of δ rescaled to the norm
of the corresponding filter of θ*; batch-norm parameters not moved). Li et al.'s Figure 5: without
skip connections a deep net's landscape becomes chaotic and non-convex; with them it stays smooth
and nearly convex. Quantified two ways: the fraction of slice points where the slice's own 2×2
discrete Hessian has a negative eigenvalue, and Li et al.'s Fig. 7 map of |λ_min/λ_max| of the
full Hessian over the slice — on a coarse sub-grid of the slice (their 51×51 map costs two Lanczos
runs per point), for the parameters their code uses: weights with more than one dimension, in eval
mode (tomgoldstein/loss-landscape, ``hess_vec_prod.min_max_hessian_eigs``:
``params = [p for p in net.parameters() if len(p.size()) > 1]``; ``plot_hessian_eigen.py`` fills
the map point by point; ``plot_2D.plot_2d_eig_ratio`` draws |min/max| on a 0–0.5 colour scale).
The maps are compared by a one-sided Mann–Whitney test on their values (residual smaller than
plain): a rank statistic, so a few chaotic points with huge ratios cannot decide it alone, and it
asks what Fig. 7 shows — that the plain net's map is dominated by larger ratios.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch.nn.functional as F
from scipy import stats

from ..measure import eigenvalue_ratio_map, slice_2d
from ..report.figures import save
from ..report.figures.li2018 import landscape_figure, ratio_map_figure
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
    curvature_grid: int = 5            # |λ_min/λ_max| on a curvature_grid² sub-grid of the slice (Li et al.: all 51²)
    curvature_examples: int = 500      # training examples defining the Hessian at each sub-grid point
    curvature_steps: int = 60          # Lanczos products per point at most (both ends to 1e-2 of ρ(H), Li's eigsh tol)
    # claim tolerances
    p_max: float = 0.05                # one-sided Mann–Whitney p below which the residual map counts as smaller
    seeds: tuple[int, ...] = (0,)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if (self.depth - 2) % 6 or self.depth < 8:
            raise ValueError("depth must be 6n+2 (8, 14, 20, 26, ...)")
        if self.curvature_grid < 3 or self.curvature_grid % 2 == 0:
            raise ValueError("curvature_grid must be odd and ≥ 3 (the sub-grid holds the solution at its centre)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=1000, depth=14, max_steps=400, eval_every=100, grid=9, slice_examples=400,
             curvature_grid=3, curvature_examples=128, curvature_steps=20)

CLAIMS = declare(
    convex=ClaimSpec("the slice around the residual net is more convex than around the plain net",
                     "Li et al. 2018, Fig. 5", "non-convex fraction (residual) < (plain), every seed"),
    curvature=ClaimSpec("around the residual solution the Hessian has less negative curvature relative to positive "
                        "over the slice: a map of smaller |λ_min/λ_max|", "Li et al. 2018, Fig. 7",
                        "|λ_min/λ_max| over the sub-grid (weights of dim > 1): residual < plain by a one-sided "
                        "Mann–Whitney test, p < p_max, every seed"),
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
    rows, slices, maps = [], {}, {}
    for seed in cfg.seeds:
        for name, residual in (("residual", True), ("plain", False)):
            net, _, res = train_model(out, f"{name}_seed{seed}", ds, "resnet",
                                      {"depth": cfg.depth, "residual": residual, "norm": cfg.norm},
                                      recipe(cfg, seed=seed), progress)
            if progress:
                progress(f"slice {name}", 0, 1)
            s = slice_2d(net, F.cross_entropy, sub, span=(-cfg.span, cfg.span), steps=cfg.grid, seed=seed)
            z = np.asarray(s.value, dtype=float)
            if progress:
                progress(f"slice {name}", 1, 1)
                progress(f"curvature map {name}", 0, 1)
            hsub = (sub[0][: cfg.curvature_examples], sub[1][: cfg.curvature_examples])
            m = eigenvalue_ratio_map(net, F.cross_entropy, hsub, span=(-cfg.span, cfg.span), steps=cfg.curvature_grid,
                                     seed=seed, max_steps=cfg.curvature_steps)
            ratio = np.asarray(m.value, dtype=float)
            if seed == cfg.seeds[0]:
                slices[name] = (np.asarray(s.extra["alphas"]), np.asarray(s.extra["betas"]), z)
                maps[name] = (np.asarray(m.extra["alphas"]), np.asarray(m.extra["betas"]), ratio)
            c = cfg.curvature_grid // 2
            rows.append({"net": name, "seed": seed, "depth": cfg.depth, "train_loss": res.final["train_loss"],
                         "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"],
                         "slice_center": float(z[cfg.grid // 2, cfg.grid // 2]), "slice_max": float(z.max()),
                         "nonconvex_fraction": nonconvex_fraction(z, 2 * cfg.span / (cfg.grid - 1)),
                         "ratio_map": ratio.tolist(), "ratio_mean_clipped": float(np.nanmean(np.minimum(ratio, 0.5))),
                         "lambda_max_map": np.asarray(m.extra["lambda_max"]).tolist(),
                         "lambda_min_map": np.asarray(m.extra["lambda_min"]).tolist(),
                         "ratio_converged": bool(np.all(m.extra["converged"])),
                         "lambda_max": float(m.extra["lambda_max"][c][c]),
                         "lambda_min": float(m.extra["lambda_min"][c][c]), "abs_min_over_max": float(ratio[c, c])})
            if progress:
                progress(f"curvature map {name}", 1, 1)
    return _report(cfg, ds, rows, slices, maps, out)


def _pairs(cfg, rows):
    return [(next(r for r in rows if r["net"] == "residual" and r["seed"] == s),
             next(r for r in rows if r["net"] == "plain" and r["seed"] == s)) for s in cfg.seeds]


def _compare(cfg, rows, key):
    pairs = _pairs(cfg, rows)
    measured = {"residual": [round(r[key], 4) for r, _ in pairs], "plain": [round(p[key], 4) for _, p in pairs]}
    return measured, all(r[key] < p[key] for r, p in pairs)


def map_test(residual_map, plain_map) -> dict:
    """One-sided Mann–Whitney U test that the residual map's ratios are smaller than the plain map's
    (U counts pairs with residual < plain, ties ½; normal approximation with continuity correction)."""
    a = np.asarray(residual_map, dtype=float).ravel()
    b = np.asarray(plain_map, dtype=float).ravel()
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    t = stats.mannwhitneyu(a, b, alternative="less", method="asymptotic", use_continuity=True)
    return {"U": float(t.statistic), "p": float(t.pvalue), "n": [len(a), len(b)]}


def _curvature_claim(cfg, rows):
    per_seed = {}
    for r, p in _pairs(cfg, rows):
        per_seed[r["seed"]] = {"mean clipped ratio (residual)": round(r["ratio_mean_clipped"], 4),
                               "mean clipped ratio (plain)": round(p["ratio_mean_clipped"], 4),
                               **{k: (round(v, 5) if isinstance(v, float) else v)
                                  for k, v in map_test(r["ratio_map"], p["ratio_map"]).items()}}
    measured = {"per seed": per_seed, "grid": f"{cfg.curvature_grid}×{cfg.curvature_grid}",
                "params": "weights of dim > 1"}
    if any(min(v["n"]) < 2 for v in per_seed.values()):
        return CLAIMS["curvature"].not_evaluable("fewer than two sub-grid points with λ_max > 0", measured)
    return CLAIMS["curvature"].judge(measured, all(v["p"] < cfg.p_max for v in per_seed.values()))


def _report(cfg, ds, rows, slices, maps, out: Path) -> dict:
    claims = [CLAIMS[k].judge(*_compare(cfg, rows, col)) for k, col in
              (("convex", "nonconvex_fraction"), ("trainability", "train_loss"))]
    claims.insert(1, _curvature_claim(cfg, rows))
    figs = [save(landscape_figure(slices), out / "figures" / "landscape_2d.png"),
            save(ratio_map_figure(maps), out / "figures" / "eigenvalue_ratio_map.png")]
    return preset_result(ds, claims, rows, figs, out, captions={
        "figures/landscape_2d.png": f"log10 training loss on a 2-D filter-normalized slice through the residual "
                                    f"(left) and plain (right) ResNet-{cfg.depth} (seed {cfg.seeds[0]}); the star "
                                    "is the trained net. Li et al.'s Fig. 5: the plain net's slice is chaotic.",
        "figures/eigenvalue_ratio_map.png": f"|λ_min/λ_max| of the Hessian (weights of dim > 1, eval mode) on a "
                                            f"{cfg.curvature_grid}×{cfg.curvature_grid} sub-grid of the same slices "
                                            f"(seed {cfg.seeds[0]}), colour scale 0–0.5 as Li et al.'s Fig. 7: "
                                            "dark is locally convex, bright is strong negative curvature."})


PRESET = Preset(name="li2018-landscape",
                title="Li et al. 2018 — skip connections keep the loss landscape of a deep net smooth",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 2 * len(c.seeds))
