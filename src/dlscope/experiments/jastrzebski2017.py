"""``jastrzebski2017-lr-batch`` — Jastrzębski, Kenton, Arpit, Ballas, Fischer, Bengio & Storkey,
"Three factors influencing minima in SGD", 2017 (ICANN 2018); Chaudhari & Soatto, "Stochastic
gradient descent performs variational inference", ICLR 2018.

SGD as a discretized SDE has noise of scale (η/B)·Σ: the "temperature" η/B, not η and B
separately, decides which minima SGD settles in. A grid of learning rates η and batch sizes
B trained to the same training loss; at each end point λ_max of the Hessian (Lanczos),
the gradient-noise trace tr Σ, and the test accuracy. Claims: runs with the same η/B reach
similar λ_max and test accuracy; a larger η/B finds flatter minima (smaller λ_max), up to
the η/B beyond which training no longer reaches the target.
"""
from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from pathlib import Path
from typing import Optional

import torch.nn.functional as F
from scipy import stats

from ..measure import gradient_noise, hessian, top_eigenvalues
from ..report import plots
from ..train import TrainConfig
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, preset_result, size_kwargs, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    model: str = "cnn"
    width: int = 32
    depth: int = 2
    lrs: tuple[float, ...] = (0.005, 0.01, 0.02, 0.04)   # η grid
    batch_sizes: tuple[int, ...] = (32, 64, 128, 256)   # B grid; η/B = const along the diagonals
    momentum: float = 0.9              # heavy ball: the temperature becomes η/(B(1 − β)), still ∝ η/B
    target_train_loss: float = 0.05    # every run trained to this training cross-entropy
    max_epochs: int = 300
    curvature_examples: int = 1000     # training examples for λ_max and tr Σ
    similar_tol: float = 0.25          # "similar": log-range of λ_max within an η/B group ≤ this × log-range over the grid
    acc_tol: float = 0.02              # "similar": test-accuracy spread within an η/B group
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        check_common(self)

    def train_config(self, lr: float = 0.01, batch: int = 64, n: int = 4000) -> TrainConfig:
        spe = -(-n // batch)
        return TrainConfig(max_steps=self.max_epochs * spe, batch_size=batch, lr=lr, momentum=self.momentum,
                           eval_every=spe, target_train_loss=self.target_train_loss, seed=self.seed,
                           device=self.device)


QUICK = dict(n_train=2000, n_test=1000, lrs=(0.01, 0.04), batch_sizes=(32, 128), curvature_examples=500)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seed)
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    sub = (ds.x_train[: cfg.curvature_examples].to(cfg.device), ds.y_train[: cfg.curvature_examples].to(cfg.device))
    rows = []
    for lr in cfg.lrs:
        for b in cfg.batch_sizes:
            net, res = train_model(out, f"lr{lr:g}_B{b}", ds, cfg.model, mkw, cfg.train_config(lr, b, ds.n_train),
                                   progress)
            lam = top_eigenvalues(hessian(net, F.cross_entropy, sub), k=1, tol=1e-4, seed=cfg.seed)
            noise = gradient_noise(net, F.cross_entropy, sub, batch_size=b, lr=lr)
            rows.append({"lr": lr, "batch": b, "lr_over_B": lr / b, "fitted": res.steps_to_fit is not None,
                         "steps": res.steps, "train_loss": res.final["train_loss"], "test_acc": res.final["test_acc"],
                         "lambda_max": float(lam.value[0]), "lambda_residual": float(lam.extra["residuals"][0]),
                         "trace_sigma": float(noise.value), "trace_sigma_stderr": float(noise.stderr)})
    return _report(cfg, ds, rows, out)


def _report(cfg, ds, rows, out: Path) -> dict:
    groups = defaultdict(list)
    for r in rows:
        if r["fitted"]:
            groups[round(math.log(r["lr_over_B"]), 6)].append(r)
    fitted = [r for r in rows if r["fitted"]]
    all_lam = [r["lambda_max"] for r in fitted] or [1.0]
    total = math.log(max(all_lam) / min(all_lam)) or 1.0  # the effect size across the whole grid
    spreads = {}
    for g in groups.values():
        if len(g) > 1:
            lam = [r["lambda_max"] for r in g]
            acc = [r["test_acc"] for r in g]
            spreads[f"{g[0]['lr_over_B']:.3g}"] = {"lambda_spread": round(math.log(max(lam) / min(lam)) / total, 3),
                                                  "acc_spread": round(max(acc) - min(acc), 4), "runs": len(g)}
    claims = []
    if spreads:
        ok = all(s["lambda_spread"] <= cfg.similar_tol and s["acc_spread"] <= cfg.acc_tol for s in spreads.values())
        claims.append(Claim("runs with equal η/B reach similar sharpness (λ_max) and test accuracy",
                            "Jastrzębski et al. 2017, §4.2 and Fig. 2",
                            f"in every η/B group: log-range of λ_max ≤ {cfg.similar_tol} × its log-range over the "
                            f"grid, test-accuracy range ≤ {cfg.acc_tol}",
                            spreads, ok))
    if len({r["lr_over_B"] for r in fitted}) >= 3:
        rho = stats.spearmanr([r["lr_over_B"] for r in fitted], [r["lambda_max"] for r in fitted]).statistic
        claims.append(Claim("a larger η/B finds flatter minima (smaller λ_max), among runs that fit",
                            "Jastrzębski et al. 2017, §4.1; Chaudhari & Soatto 2018",
                            "Spearman ρ(η/B, λ_max) ≤ −0.5", {"rho": round(float(rho), 3), "runs": len(fitted)},
                            bool(rho <= -0.5)))
    unfit = [f"lr{r['lr']:g}_B{r['batch']}" for r in rows if not r["fitted"]]
    claims.append(Claim(f"every run of the grid reaches the target training loss {cfg.target_train_loss} "
                        "(beyond the limit, large η/B no longer trains)", "Jastrzębski et al. 2017, §4.1",
                        "no run left unfitted", {"not_fitted": unfit}, not unfit))
    fig = plots.save(plots.temperature_figure(rows), out / "figures" / "lr_over_batch.png")
    return preset_result(ds, claims, rows, [fig], out)


register(Preset(
    name="jastrzebski2017-lr-batch",
    title="Jastrzębski et al. 2017 — the SGD temperature η/B decides sharpness and generalization",
    claims=("equal η/B → similar λ_max and test accuracy", "larger η/B → smaller λ_max (up to a limit)"),
    Config=Config, quick=QUICK, run=run))
