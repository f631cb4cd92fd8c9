"""``jiang2020-fantastic-measures`` (lite) — Jiang, Neyshabur, Mobahi, Krishnan & Bengio,
"Fantastic generalization measures and where to find them", ICLR 2020, §4–6 and Table 1.

A full grid over hyperparameters (width, depth, learning rate, batch size, weight decay,
dropout: every axis given ≥ 2 values) × seeds, each net trained with SGD until its training
cross-entropy reaches the same value (their 0.01; nets that never get there are left out, as in
the paper). For each net every measure of :data:`dlscope.measure.MEASURES` (up to ``max_cost``)
and the generalization gap g = train accuracy − test accuracy. Per measure μ:

* Kendall τ(μ, g) over all nets;
* granulated Ψ = mean over axes i of ψ_i, ψ_i = mean τ over the groups of nets that differ only
  in axis i (same seed);
* the conditional-mutual-information score K(μ) = min_S I(V_μ; V_g | U_S) / H(V_g | U_S), computed
  as the PGDL scoring program does (S over pairs of distinct hyperparameters, all ordered pairs of
  nets, binary signs; :func:`dlscope.measure.conditional_mi`);
* the sign-error of Dziugaite et al. 2020 over coupled pairs.

Their claim, checked and not forced: flatness / PAC-Bayes measures rank above the spectral
products and the parameter count (by Ψ and by K). Measures follow the conventions of Jiang et
al.'s reference code (path norms square biases too, BatchNorm folded; param_norm sums the layer
weights only; each measure's ``convention`` is in the registry's settings).
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .. import models
from ..measure import MEASURES, conditional_mi, generalization_gap, granulated_tau, kendall_tau, measure_all, \
    sign_error
from ..report.figures import save
from ..report.figures.jiang2020 import measure_ranking
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_sd as mean_std

# Hyperparameter axes: Config field holding the values → column name in the table.
AXES = {"widths": "width", "depths": "depth", "lrs": "lr", "batch_sizes": "batch_size",
        "weight_decays": "weight_decay", "dropouts": "dropout"}
COSTS = ("cheap", "forward", "norms", "expensive")
# Measure families of Jiang et al.'s Table 1 (the claim compares "flatness" with "spectral" and "params").
FAMILIES = {
    "params": ("params",),
    "margin": ("inverse_margin",),
    "spectral": ("log_prod_of_spec", "log_prod_of_spec_over_margin", "log_sum_of_spec",
                 "log_sum_of_spec_over_margin", "log_spec_init_main", "log_spec_orig_main", "fro_over_spec",
                 "log_spectral_complexity", "log_spectral_complexity_init", "log_spectral_complexity_over_margin"),
    "norm": ("log_prod_of_fro", "log_prod_of_fro_over_margin", "log_sum_of_fro", "log_sum_of_fro_over_margin",
             "frobenius_distance", "param_norm", "dist_from_init"),
    "path": ("path_norm", "path_norm_over_margin", "l1_path_norm"),
    "flatness": ("pacbayes_flatness", "pacbayes_init", "pacbayes_orig", "pacbayes_mag_flatness",
                 "sharpness_flatness", "sharpness_mag_flatness"),
    "sharpness": ("keskar_sharpness", "keskar_sharpness_subspace"),
}
FAMILY = {m: f for f, ms in FAMILIES.items() for m in ms}
# "Spectral products" of the claim: Jiang et al.'s spec-based rows, ∏‖A_i‖²_σ with and without 1/γ².
SPECTRAL_PRODUCTS = ("log_prod_of_spec", "log_prod_of_spec_over_margin", "log_sum_of_spec",
                     "log_sum_of_spec_over_margin")


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"                       # mnist1d embedded; mnist, cifar10 from files
    data_root: Optional[str] = None
    n_train: Optional[int] = None               # stratified training subset (None: all)
    n_test: Optional[int] = None
    # model
    model: str = "cnn"                          # Jiang et al. train NiN convnets; cnn = AlexNet-small blocks
    widths: tuple[int, ...] = (8, 16)           # cnn: channels per block, FC 8w and 4w (Jiang: 2 widths)
    depths: tuple[int, ...] = (1, 2)            # cnn: conv blocks (Jiang: 2, 3, 4 NiN blocks)
    # SGD (a grid: widths × depths × lrs × batch_sizes × weight_decays × dropouts)
    lrs: tuple[float, ...] = (0.01, 0.02)       # SGD step size (Jiang: 0.1, 0.032, 0.01); 0.03 killed w8 d2 b32 nets
    batch_sizes: tuple[int, ...] = (32, 128)    # Jiang: 32 … 512
    weight_decays: tuple[float, ...] = (0.0, 5e-4)  # L2 coefficient (Jiang: 0, 1e-4, 5e-4)
    dropouts: tuple[float, ...] = (0.0,)        # dropout after the FC layers (Jiang: 0, 0.25, 0.5)
    momentum: float = 0.9
    max_epochs: int = 300                       # budget (evaluated every epoch); nets that miss the target are left out
    target_train_loss: float = 0.01             # every net trained to this training cross-entropy (Jiang: 0.01)
    # measurement
    max_cost: str = "expensive"                 # cheap | forward | norms | expensive (flatness searches)
    measures: tuple[str, ...] = ()              # subset of the registry (empty: all up to max_cost)
    flatness_examples: int = 1000               # seeded training subset for the flatness searches
    pacbayes_samples: int = 10                  # Monte-Carlo draws per σ in the PAC-Bayes σ′ bisection
    sharpness_steps: int = 10                   # projected-ascent steps in the worst-case sharpness α′
    seeds: tuple[int, ...] = (0, 1)             # Ψ compares nets of the same seed
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.max_cost not in COSTS:
            raise ValueError(f"max_cost must be one of {', '.join(COSTS)}")
        bad = [m for m in self.measures if m not in MEASURES]
        if bad:
            raise ValueError(f"unknown measures {bad}; choose among {', '.join(MEASURES)}")
        if len(self.grid()) * len(self.seeds) < 2:
            raise ValueError("the grid × seeds must hold at least two nets")
        if any(self.dropouts) and "dropout" not in models.model_kwargs(self.model):
            raise ValueError(f"model {self.model!r} has no dropout; use dropouts=0")
        recipe(self, seed=self.seeds[0])

    def axes(self) -> list[str]:
        """The varied hyperparameters (table columns)."""
        return [col for f, col in AXES.items() if len(getattr(self, f)) > 1]

    def grid(self) -> list[dict]:
        return [dict(zip(AXES.values(), v)) for v in itertools.product(*(getattr(self, f) for f in AXES))]


QUICK = dict(n_train=500, n_test=500, widths=(6, 12), lrs=(0.02, 0.04), weight_decays=(0.0,), seeds=(0,),
             target_train_loss=0.1, flatness_examples=250, pacbayes_samples=5, sharpness_steps=5)

CLAIMS = declare(
    psi=ClaimSpec("flatness / PAC-Bayes measures rank above spectral products and the parameter count (granulated "
                  "Kendall Ψ)", "Jiang et al. 2020, Tables 1–2 and §7",
                  "mean Ψ over flatness measures > mean over spectral products and > params"),
    cmi=ClaimSpec("flatness / PAC-Bayes measures rank above spectral products and the parameter count (conditional "
                  "mutual information K as the PGDL scoring program computes it, blind to the sign of the "
                  "correlation)",
                  "Jiang et al. 2020, Tables 1–2 and §7",
                  "mean K over flatness measures > mean over spectral products and > params"),
    fitted=ClaimSpec("every net reaches the target training cross-entropy",
                     "experimental control (nets that do not are left out, as in Jiang et al.)", "all nets",
                     control=True),
)


def recipe(cfg: Config, *, seed: int, lr: float | None = None, batch_size: int | None = None,
           weight_decay: float | None = None, **_) -> TrainConfig:
    """The recipe of one grid point (defaults: the first value of each axis), evaluated every epoch."""
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=1, batch_size=batch_size or cfg.batch_sizes[0],
                       lr=lr or cfg.lrs[0], momentum=cfg.momentum,
                       weight_decay=cfg.weight_decays[0] if weight_decay is None else weight_decay,
                       target_train_loss=cfg.target_train_loss, seed=seed, device=cfg.device)


def _run_name(h: dict, seed: int) -> str:
    return (f"w{h['width']}_d{h['depth']}_lr{h['lr']:g}_b{h['batch_size']}_wd{h['weight_decay']:g}"
            f"_do{h['dropout']:g}_s{seed}")


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    names = list(cfg.measures) or None
    options = {"flatness_examples": cfg.flatness_examples, "pacbayes": {"samples": cfg.pacbayes_samples},
               "sharpness": {"steps": cfg.sharpness_steps}}
    nets = []
    for seed in cfg.seeds:
        for h in cfg.grid():
            mkw = {**size_kwargs(cfg.model, h["width"], h["depth"]),
                   **({"dropout": h["dropout"]} if h["dropout"] else {})}
            tc = recipe(cfg, seed=seed, lr=h["lr"], batch_size=h["batch_size"], weight_decay=h["weight_decay"])
            net, init, res = train_model(out, _run_name(h, seed), ds, cfg.model, mkw, tc, progress)
            gap = generalization_gap(net, ds)
            row = {"run": _run_name(h, seed), **h, "seed": seed, "steps": res.steps,
                   "fitted": res.steps_to_fit is not None, "train_loss": res.final["train_loss"],
                   "train_acc": gap.extra["train_acc"], "test_acc": gap.extra["test_acc"], "gap": float(gap.value)}
            if row["fitted"]:  # Jiang et al. measure only nets that reached the target cross-entropy
                ms = measure_all(net, init, ds, names=names, max_cost=cfg.max_cost, seed=seed, options=options)
                row.update({k: MEASURES[k].sign * float(v.value) for k, v in ms.items()})
            nets.append(row)
    return _report(cfg, ds, nets, out)


def _finite(values: pd.Series) -> pd.Series:
    """+∞ (σ′ = 0: a net with no flat direction) ranks above every finite value; NaN stays NaN."""
    v = values.astype(float)
    top = v[np.isfinite(v)].abs().max() if np.isfinite(v).any() else 1.0
    return v.replace([np.inf, -np.inf], [10 * top + 1, -10 * top - 1])


def evaluate_measures(nets: list[dict], measures: list[str], axes: list[str]) -> list[dict]:
    """τ, Ψ (with each ψ_axis), K and sign-error of every measure over the fitted nets."""
    df = pd.DataFrame([r for r in nets if r["fitted"]])
    rows = []
    for m in measures:
        sub = df.assign(**{m: _finite(df[m])}).dropna(subset=[m])
        row = {"measure": m, "family": FAMILY.get(m, "other"), "n_models": len(sub)}
        if len(sub) < 2:
            rows.append({**row, "tau": math.nan, "Psi": math.nan, "cmi": math.nan, "sign_error": math.nan})
            continue
        psi = granulated_tau(sub, m, axes=axes, group_by=["seed"])
        cmi = conditional_mi(sub, m, axes=axes)
        try:
            se = float(sign_error(sub, m, axes=axes, group_by=["seed"]).value)
        except ValueError:  # no coupled pairs left
            se = math.nan
        row.update(tau=round(kendall_tau(sub[m], sub["gap"]), 4), Psi=round(float(psi.value), 4),
                   **{f"psi_{a}": round(v, 4) for a, v in psi.extra["psi"].items()},
                   cmi=round(float(cmi.value), 5), cmi_argmin=",".join(cmi.extra["argmin_set"]) or "{}",
                   sign_error=round(se, 4))
        rows.append(row)
    return rows


def _family_mean(table: list[dict], members, key: str) -> float:
    vals = [r[key] for r in table if r["measure"] in members and not math.isnan(r[key])]
    return round(float(np.mean(vals)), 4) if vals else math.nan


def _report(cfg: Config, ds, nets: list[dict], out: Path) -> dict:
    axes = cfg.axes()
    fitted = [r for r in nets if r["fitted"]]
    measures = [m for m in MEASURES if fitted and m in fitted[0]]
    table = evaluate_measures(nets, measures, axes) if len(fitted) >= 2 else []
    claims = []
    flat = [m for m in FAMILIES["flatness"] if m in measures]
    for key, col in (("psi", "Psi"), ("cmi", "cmi")):
        f, sp, p = (_family_mean(table, flat, col), _family_mean(table, SPECTRAL_PRODUCTS, col),
                    _family_mean(table, ("params",), col))
        measured = {"flatness": f, "spectral_products": sp, "params": p}
        if not flat or math.isnan(f):
            claims.append(CLAIMS[key].not_evaluable("no flatness measure was computed (max_cost or too few nets)",
                                                    measured))
        else:
            claims.append(CLAIMS[key].judge(measured, f > sp and f > p))
    unfit = [r["run"] for r in nets if not r["fitted"]]
    claims.append(CLAIMS["fitted"].judge({"fitted": len(fitted), "not fitted": unfit}, not unfit))
    figs = []
    if table:
        figs.append(save(measure_ranking(table, axes), out / "figures" / "measures.png"))
    gaps = [r["gap"] for r in fitted]
    return preset_result(ds, claims, table, figs, out, axes=axes, gap=mean_std(gaps) if gaps else None, nets=nets,
                         captions={"figures/measures.png": "Each measure's Kendall τ with the generalization gap, its "
                                   "granulated Ψ (dots: ψ per hyperparameter) and its conditional mutual information "
                                   "K (hatched where τ < 0: K ignores the sign), coloured by family."})


PRESET = Preset(name="jiang2020-fantastic-measures",
                title="Jiang et al. 2020 (lite) — which complexity measure predicts the generalization gap?",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.grid()))
