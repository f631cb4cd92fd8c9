"""``neyshabur2019-width`` — Neyshabur, Li, Bhojanapalli, LeCun & Srebro, "Towards understanding the role of
over-parametrization in generalization of neural networks", ICLR 2019 (arXiv 1805.12076).

Two-layer ReLU nets x ↦ V relu(Ux) of widths h = 2³…2¹² are trained by SGD to the same training
cross-entropy (0.01, the stopping rule of their code, github.com/bneyshabur/over-parametrization:
SGD, momentum 0.9, batch 64, lr 0.001, ≤ 1000 epochs, CIFAR-10). Their findings (Fig. 1, 3 and 5):
the test error keeps falling as h grows past the width that already fits the training set, while the
parameter count grows; norm-based capacities — the spectral complexity of Bartlett et al. 2017 and
the product of Frobenius norms (Neyshabur et al. 2015), both over the margin — grow with h; the
distance of each hidden unit from its initialization, ‖uᵢ − uᵢ⁰‖₂, shrinks with h (their unit-wise
capacity, the key to their bound that decreases with h).

Here: mnist1d (CPU default; ``--set data=cifar10 lr=0.001 max_epochs=1000 widths=8,…,32768`` with the
files is the paper's recipe), lr 0.05 and ≤ 150 epochs (theirs, 0.001, needs far more on a CPU), the
registry measures of ``dlscope.measure`` (margin γ = 10th
percentile of the training margins, Jiang et al. 2020) and the unit-wise distance of the first layer.
Claims are the signs of Kendall τ(width, measure) over the widths that reached the target loss,
each held or not; the measured τ and its p-value are reported.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from scipy import stats

from ..measure import measure_all
from ..report.figures import save
from ..report.figures.neyshabur2019 import width_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model

# registry measures (dlscope.measure.MEASURES) reported per net; the claims use some of them
MEASURE_NAMES = ("params", "log_spectral_complexity_over_margin", "log_prod_of_fro_over_margin",
                 "log_spectral_complexity", "log_prod_of_fro", "frobenius_distance", "dist_from_init", "path_norm")


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # the paper: CIFAR-10 (also SVHN, MNIST)
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model: x ↦ V relu(Ux + b) + c
    widths: tuple[int, ...] = tuple(2 ** k for k in range(3, 13))  # h = 8 … 4096 (the paper: 2³ … 2¹⁵)
    # SGD (their code's, but lr ×50: 0.001 needs ~10× the epochs on a CPU)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    max_epochs: float = 150            # budget (theirs: 1000); narrow nets that cannot fit stop here
    eval_every_epochs: float = 5
    target_train_loss: float = 0.01    # every net trained to this cross-entropy (their stopping rule)
    # claim tolerances
    alpha: float = 0.05                # the τ of a claim must also have p < alpha
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if list(self.widths) != sorted(set(self.widths)) or len(self.widths) < 3:
            raise ValueError("widths must be at least three increasing hidden-layer sizes")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, widths=(64, 256, 1024), max_epochs=200, seeds=(0, 1))

# (key, column, expected sign of τ(width, column), what Neyshabur et al. found)
SIGNS = (("test_error", "test_error", -1, "the test error keeps falling as the net grows past interpolation",
          "Fig. 1 (left)"),
         ("params", "params", +1, "the number of parameters grows", "Fig. 1"),
         ("spectral", "log_spectral_complexity_over_margin", +1, "the spectral complexity over the margin "
          "(Bartlett et al. 2017) grows with width", "Fig. 5 (spec-ℓ2,1 bound)"),
         ("frobenius", "log_prod_of_fro_over_margin", +1, "the product of Frobenius norms over the margin "
          "(Neyshabur et al. 2015) grows with width", "Fig. 5 (Fro bound)"),
         ("unit_distance", "unit_distance", -1, "the distance of each hidden unit from its initialization, "
          "‖uᵢ − uᵢ⁰‖₂ (mean over units), shrinks with width", "Fig. 3 and §3 (unit-wise capacity)"))

CLAIMS = declare(
    **{k: ClaimSpec(text, f"Neyshabur et al. 2019, {src}", f"Kendall τ_b(width, {col}) has sign {sign:+d}, p < alpha, "
                    "over every (width, seed) of the widths that reached the target loss in every seed")
       for k, col, sign, text, src in SIGNS},
    fitted=ClaimSpec("the nets compared reach the target training loss", "experimental control",
                     "at least three widths fit in every seed", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=cfg.eval_every_epochs, batch_size=cfg.batch_size,
                       lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       target_train_loss=cfg.target_train_loss, seed=seed, device=cfg.device)


def unit_distances(net: torch.nn.Module, init: torch.nn.Module) -> dict:
    """‖uᵢ − uᵢ⁰‖₂ of every hidden unit (rows of the first layer's weight, bias included) and ‖vᵢ‖₂ of its
    outgoing weights (columns of the second layer): mean, max, and the Frobenius distance ‖U − U⁰‖_F."""
    linear = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    first, last = linear[0], linear[-1]
    first0 = next(m for m in init.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        du = torch.cat([first.weight - first0.weight, (first.bias - first0.bias)[:, None]], 1).norm(dim=1)
        v = last.weight.norm(dim=0)
    return {"unit_distance": float(du.mean()), "unit_distance_max": float(du.max()),
            "first_layer_distance": float(du.norm()), "outgoing_norm": float(v.mean())}


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    rows = []
    for seed in cfg.seeds:
        for h in cfg.widths:
            net, init, res = train_model(out, f"h{h}_seed{seed}", ds, "mlp", {"widths": (h,)}, recipe(cfg, seed=seed),
                                         progress)
            meas = measure_all(net, init, ds.to(cfg.device), names=MEASURE_NAMES, max_cost="norms", seed=seed)
            rows.append({"width": h, "seed": seed, "fitted": res.steps_to_fit is not None, "epochs": res.final["epoch"],
                         "train_loss": res.final["train_loss"], "train_error": 1 - res.final["train_acc"],
                         "test_error": 1 - res.final["test_acc"], **{k: float(v.value) for k, v in meas.items()},
                         **unit_distances(net, init)})
    return _report(cfg, ds, rows, out)


def _report(cfg: Config, ds, rows: list, out: Path) -> dict:
    fit_widths = [h for h in cfg.widths if all(r["fitted"] for r in rows if r["width"] == h)]
    claims, taus = [], {}
    for key, col, sign, _, _ in SIGNS:
        means = [float(np.mean([r[col] for r in rows if r["width"] == h])) for h in fit_widths]
        if len(fit_widths) < 3:
            claims.append(CLAIMS[key].not_evaluable("fewer than three widths reached the target loss"))
            continue
        pairs = [(r["width"], r[col]) for r in rows if r["width"] in fit_widths]  # every seed: the spread counts
        t = stats.kendalltau(*zip(*pairs))
        taus[col] = (float(t.statistic), float(t.pvalue))
        claims.append(CLAIMS[key].judge({"tau": round(float(t.statistic), 3), "p": round(float(t.pvalue), 5),
                                         "widths": fit_widths, "means": [round(m, 4) for m in means]},
                                        np.sign(t.statistic) == sign and t.pvalue < cfg.alpha))
    claims.append(CLAIMS["fitted"].judge({"widths that fit in every seed": fit_widths}, len(fit_widths) >= 3))
    cols = [c for _, c, _, _, _ in SIGNS[2:]] + ["frobenius_distance", "outgoing_norm"]
    fig = save(width_figure(rows, cfg.widths, fit_widths, cols), out / "figures" / "width.png")
    return preset_result(ds, claims, rows, [fig], out, taus=taus, captions={
        "figures/width.png": f"Two-layer ReLU nets on {ds.name} trained to cross-entropy {cfg.target_train_loss:g}: "
            "(a) train and test error vs width; (b) capacity measures vs width, each divided by its value at the "
            f"narrowest fitted width (mean ± sd over {len(cfg.seeds)} seeds); shaded: widths that did not reach "
            "the target loss."})


PRESET = Preset(name="neyshabur2019-width",
                title="Neyshabur et al. 2019 — wider two-layer nets generalize better; unit-wise distance shrinks",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.widths))
