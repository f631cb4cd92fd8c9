"""``dauphin2014-saddles`` — Dauphin, Pascanu, Gulcehre, Cho, Ganguli & Bengio, "Identifying and
attacking the saddle point problem in high-dimensional non-convex optimization", NeurIPS 2014.

Bray & Dean (2007) predict, for Gaussian random fields in high dimension, that critical points
with high error are saddles whose index α (fraction of negative Hessian eigenvalues) grows
with the error ε, and that local minima (α = 0) concentrate near the lowest errors. Dauphin et
al. (Fig. 1) measured α against ε on small nets. Here, on an MLP small enough for an exact
Hessian eigendecomposition:

* along SGD training, the index at each evaluation point (a probe of the training loop);
* critical points at many loss levels, found by minimizing ‖∇L‖² (Pennington & Bahri 2017)
  from points on the segment between the initialization and the trained network.

Claim: the index grows with the loss — Spearman ρ(loss, α) over the critical points (and over
the training trajectory) is positive. α uses the threshold −10⁻³ λ_max (see
:func:`dlscope.measure.critical.hessian_index`).
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

from .. import models
from ..measure.critical import hessian_index, minimize_gradient_norm
from ..report import plots
from ..train import TrainConfig, evaluate
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, preset_result, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = 500       # examples defining L (exact Hessians: keep the problem small)
    n_test: Optional[int] = 500
    model: str = "mlp"                 # an MLP small enough for dense Hessians
    widths: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 50
    max_steps: int = 2000
    eval_points: int = 10              # trajectory points at which the index is measured
    starts: int = 8                    # critical-point searches, started at θ0 + s(θ_T − θ0), s ∈ [0, 1]
    critical_steps: int = 500          # Adam steps on ‖∇L‖²
    critical_lr: float = 1e-3
    rel_threshold: float = 1e-3        # eigenvalues < −rel_threshold·λ_max count as negative
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        check_common(self)
        if self.model != "mlp":
            raise ValueError("dauphin2014-saddles uses an MLP (exact Hessians); set widths= to size it")

    def train_config(self) -> TrainConfig:
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr, momentum=self.momentum,
                           eval_every=max(1, self.max_steps // self.eval_points), seed=self.seed, device=self.device)


QUICK = dict(widths=(24, 24), max_steps=1200, eval_points=6, starts=5, critical_steps=200)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seed)
    data = (ds.x_train.to(cfg.device), ds.y_train.to(cfg.device))

    def index(net):
        return hessian_index(net, F.cross_entropy, data, rel_threshold=cfg.rel_threshold, seed=cfg.seed)

    mkw = {"widths": tuple(cfg.widths), "activation": cfg.activation}
    probes = {"index": lambda net, _ds: index(net).value}
    net, res = train_model(out, "sgd", ds, cfg.model, mkw, cfg.train_config(), progress, probes=probes)
    torch.manual_seed(cfg.seed)
    init = models.build(cfg.model, input_shape=ds.input_shape, num_classes=ds.num_classes, **mkw).to(cfg.device)
    trajectory = [{"step": 0, "train_loss": evaluate(init, *data, F.cross_entropy)[0], "index": index(init).value}]
    trajectory += [{"step": m["step"], "train_loss": m["train_loss"], "index": m["index"]} for m in res.metrics]
    crit = []
    p0, p1 = dict(init.named_parameters()), dict(net.named_parameters())
    for i, s in enumerate(np.linspace(0.0, 1.0, cfg.starts)):
        if progress:
            progress("critical points", i, cfg.starts)
        start = copy.deepcopy(net)
        with torch.no_grad():
            for k, p in start.named_parameters():
                p.copy_(p0[k] + float(s) * (p1[k] - p0[k]))
        point, r = minimize_gradient_norm(start, F.cross_entropy, data, steps=cfg.critical_steps, lr=cfg.critical_lr)
        idx = index(point)
        crit.append({"start_s": round(float(s), 3), "start_loss": r.extra["initial_loss"],
                     "start_grad_norm": r.extra["initial_grad_norm"], "loss": r.extra["loss"],
                     "grad_norm": r.value, "index": idx.value, "lambda_min": idx.extra.get("lambda_min"),
                     "lambda_max": idx.extra.get("lambda_max")})
    if progress:
        progress("critical points", cfg.starts, cfg.starts)
    return _report(cfg, ds, trajectory, crit, out)


def _report(cfg, ds, trajectory, crit, out: Path) -> dict:
    rho_c = stats.spearmanr([c["loss"] for c in crit], [c["index"] for c in crit]).statistic
    rho_t = stats.spearmanr([t["train_loss"] for t in trajectory], [t["index"] for t in trajectory]).statistic
    low = min(crit, key=lambda c: c["loss"])
    claims = [
        Claim("at critical points the index (fraction of negative curvature) grows with the loss",
              "Dauphin et al. 2014, Fig. 1; Bray & Dean 2007", "Spearman ρ(loss, index) > 0.5",
              {"rho": round(float(rho_c), 3), "points": len(crit),
               "max_grad_norm": round(max(c["grad_norm"] for c in crit), 4)}, bool(rho_c > 0.5)),
        Claim("along SGD training the index falls as the loss falls", "Dauphin et al. 2014, §3",
              "Spearman ρ(loss, index) > 0.5", {"rho": round(float(rho_t), 3), "points": len(trajectory)},
              bool(rho_t > 0.5)),
        Claim("the lowest-loss critical point is (nearly) a minimum: index ≈ 0", "Dauphin et al. 2014, Fig. 1",
              "index < 0.02", {"loss": round(low["loss"], 5), "index": round(low["index"], 4)},
              low["index"] < 0.02),
    ]
    fig = plots.save(plots.saddles_figure(trajectory, crit), out / "figures" / "index_vs_loss.png")
    table = [{"kind": "critical point", **c} for c in crit] + [{"kind": "trajectory", **t} for t in trajectory]
    return preset_result(ds, claims, table, [fig], out)


register(Preset(
    name="dauphin2014-saddles",
    title="Dauphin et al. 2014 — high-loss critical points are saddles: the index grows with the loss",
    claims=("index grows with loss at critical points (rank correlation)", "index falls along training",
            "lowest critical point has index ≈ 0"),
    Config=Config, quick=QUICK, run=run))
