"""``sagun2017-hessian-outliers`` — Sagun, Evci, Güney, Dauphin & Bottou, "Empirical analysis of the
Hessian of over-parametrized neural networks", 2017 (after Sagun, Bottou & LeCun 2016).

The spectrum of the training-loss Hessian of a trained net is a bulk concentrated near zero plus a
few outliers; the bulk scales with the parameters, the outliers depend on the data — about as many
as there are classes (Sagun et al. 2016, 2017) — and they come from the Gauss–Newton part
G = (1/N) Σ_i J_iᵀ ∇²_z ℓ J_i of H = G + (1/N) Σ_i Σ_c (∂ℓ/∂z_c) ∇²z_c (Sagun et al. 2017, §2, "the
covariance of gradients of model outputs"; Papyan 2019 traces the C outliers to class means of
those gradients).

Measured on a small MLP trained on C = 10 classes, in float64: the exact spectrum of H and of G
(dense matrices from p products each, :func:`dlscope.measure.hessian` / :func:`~dlscope.measure.ggn`,
then ``eigvalsh``). Bulk edge: outliers are eigenvalues individually separated from a continuous
bulk (Papyan 2020, Definitions 1.1–1.2), so the edge is put at the largest multiplicative gap
λ_k / λ_{k+1} among the top 3C positive eigenvalues; the count is that k. A spectrum without class
structure (a smooth decay, or one dominant eigenvalue) puts the gap elsewhere and fails C ± 1. The
GGN split: for each of the top C Hessian eigenvectors u (λ = uᵀHu), the share uᵀGu / λ.

Closer to the papers (MNIST): ``--set data=mnist widths=8,8 n_train=1000`` (p = 6,442: two dense
float64 matrices of 330 MB and their eigendecompositions).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..measure import ggn, hessian
from ..report.figures import save
from ..report.figures.sagun2017 import spectrum_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # C = 10 classes (mnist, fashion-mnist: --set data=mnist widths=8,8)
    data_root: Optional[str] = None
    n_train: Optional[int] = 500      # examples defining L (exact Hessians: keep the problem small)
    n_test: Optional[int] = 500
    # model
    model: str = "mlp"                # an MLP small enough for dense float64 Hessians (p = 2,698 by default)
    widths: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    # SGD (float64 throughout)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 50
    max_steps: int = 2000
    eval_every: int = 200
    target_train_loss: Optional[float] = None  # stop earlier at this training loss (None: the whole budget)
    # measurement
    search_factor: int = 3            # the bulk edge is searched among the top search_factor · C eigenvalues
    # claim tolerances
    count_tol: int = 1                # the outlier count must be C ± count_tol
    ggn_share_min: float = 0.9        # mean uᵀGu/λ over the top C Hessian eigenvectors above this
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.model != "mlp":
            raise ValueError("sagun2017-hessian-outliers uses an MLP (exact Hessians); size it with widths=")
        recipe(self, seed=self.seeds[0])


QUICK = dict(widths=(16, 16), max_steps=800)

CLAIMS = declare(
    outliers=ClaimSpec("the Hessian spectrum of a trained net is a bulk near zero plus about C outliers, C the "
                       "number of classes",
                       "Sagun et al. 2017, abstract and §3; Sagun, Bottou & LeCun 2016 (outliers ≈ classes)",
                       "count above the bulk edge (largest gap among the top 3C) within C ± count_tol, every seed"),
    ggn=ClaimSpec("the outliers come from the Gauss–Newton part G of H = G + (residual term)",
                  "Sagun et al. 2017, §2 (covariance of output gradients); Papyan 2019",
                  "mean over seeds and the top C Hessian eigenvectors u of uᵀGu/λ ≥ ggn_share_min"),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every,
                       target_train_loss=cfg.target_train_loss, dtype="float64", seed=seed, device=cfg.device)


def bulk_edge(eigs: np.ndarray, search: int) -> tuple[int, list]:
    """(k, gaps): k maximizes log(λ_k / λ_{k+1}) over the top ``search`` positive eigenvalues (descending)."""
    pos = eigs[eigs > 0][: search + 1]
    gaps = np.log(pos[:-1] / pos[1:])
    return int(np.argmax(gaps)) + 1, gaps.tolist()


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    C = ds.num_classes
    data = (ds.x_train.to(cfg.device, torch.float64), ds.y_train.to(cfg.device))
    rows, first = [], None
    for seed in cfg.seeds:
        net, _, res = train_model(out, f"mlp_seed{seed}", ds, "mlp",
                                  {"widths": tuple(cfg.widths), "activation": cfg.activation}, recipe(cfg, seed=seed),
                                  progress)
        if progress:
            progress(f"dense Hessian and GGN (seed {seed})", 0, 2)
        H = hessian(net, F.cross_entropy, data).to_dense()
        G = ggn(net, F.cross_entropy, data).to_dense()
        w, U = torch.linalg.eigh(H)
        order = torch.argsort(w, descending=True)
        eigs, U = w[order].cpu().numpy(), U[:, order]
        geigs = torch.linalg.eigvalsh(G).flip(0).cpu().numpy()
        count, gaps = bulk_edge(eigs, cfg.search_factor * C)
        shares = [float(U[:, i] @ G @ U[:, i]) / float(eigs[i]) for i in range(C)]
        rows.append({"seed": seed, "parameters": int(H.shape[0]), "train_loss": res.final["train_loss"],
                     "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"], "outliers": count,
                     "largest gap": round(float(np.exp(max(gaps))), 4), "lambda_max": float(eigs[0]),
                     "lambda_C": float(eigs[C - 1]), "median |lambda| / lambda_max": float(np.median(np.abs(eigs)) / eigs[0]),
                     "negative fraction": float(np.mean(eigs < 0)), "ggn share (mean over top C)": float(np.mean(shares)),
                     "ggn share (min over top C)": float(np.min(shares)), "diverged": res.diverged,
                     "top eigenvalues": eigs[: cfg.search_factor * C + 1].tolist()})
        if first is None:
            first = (eigs, geigs, count, shares)
    return _report(cfg, ds, rows, first, out)


def _report(cfg, ds, rows, first, out: Path) -> dict:
    C = ds.num_classes
    counts = {r["seed"]: r["outliers"] for r in rows}
    m, se = mean_se(list(counts.values()))
    measured = {"outliers per seed": counts, "mean": round(m, 3), "se": None if se is None else round(se, 3),
                "C": C, "largest gap (ratio) per seed": {r["seed"]: r["largest gap"] for r in rows},
                "median |λ| / λ_max": round(float(np.mean([r["median |lambda| / lambda_max"] for r in rows])), 6)}
    bad = len(cfg.seeds) < 2 or any(r["diverged"] for r in rows)
    claims = [CLAIMS["outliers"].not_evaluable("needs ≥ 2 seeds and no diverged run", measured) if bad else
              CLAIMS["outliers"].judge(measured, all(abs(c - C) <= cfg.count_tol for c in counts.values()))]
    sm, sse = mean_se([r["ggn share (mean over top C)"] for r in rows])
    measured = {"mean uᵀGu/λ": round(sm, 5), "se": None if sse is None else round(sse, 5),
                "min over outliers and seeds": round(min(r["ggn share (min over top C)"] for r in rows), 5)}
    claims.append(CLAIMS["ggn"].not_evaluable("needs ≥ 2 seeds and no diverged run", measured) if bad else
                  CLAIMS["ggn"].judge(measured, sm >= cfg.ggn_share_min))
    fig = save(spectrum_figure(*first, C), out / "figures" / "hessian_spectrum.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/hessian_spectrum.png": f"Seed {cfg.seeds[0]}: the exact spectrum of the training-loss Hessian "
                                        "(left, log counts) and its top 3C eigenvalues beside the Gauss–Newton "
                                        "matrix's (right); the dashed line is the bulk edge at the largest gap, the "
                                        "dotted line C."})


PRESET = Preset(name="sagun2017-hessian-outliers",
                title="Sagun et al. 2017 — the Hessian is a bulk near zero plus about C outliers from the Gauss–Newton part",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds))
