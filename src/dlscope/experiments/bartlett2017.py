"""``bartlett2017-spectral-margins`` — Bartlett, Foster & Telgarsky, "Spectrally-normalized margin
bounds for neural networks", NeurIPS 2017, Figures 1–2 and §1.

The same network, from the same initialization with the same SGD recipe, trained for the same
number of steps on the true labels and on uniformly random labels. At every evaluation point a
probe logs the spectral complexity

    R_A = (∏ᵢ ρᵢ‖Aᵢ‖_σ) · (Σᵢ ‖Aᵢᵀ‖_{2,1}^{2/3} / ‖Aᵢ‖_σ^{2/3})^{3/2}     (reference M_i = 0)

of the bias-augmented chain Ãᵢ = [[Aᵢ, cᵢ], [0, 1]] on inputs (x, 1) — the nets have biases, and
this is the chain the bound covers (:func:`dlscope.measure.spectral_complexity`) — and the
spectral product ∏ρᵢ‖Ãᵢ‖_σ (their Fig. 1 follows these "Lipschitz constants" across epochs,
marking the first epoch of zero training error); after training, the training-set margins
M(f(x), y) = f(x)_y − max_{j≠y} f(x)_j and the normalized margins M / (R ‖X̃‖_F / n) with R the
entrywise-ℓ1 variant of R_A that their figures use (their Fig. 2 plots both densities;
‖X̃‖²_F = ‖X‖²_F + n). Checked here:

1. the raw margin distributions of the two nets overlap more than the normalized ones —
   separation is |2·AUC − 1|, AUC = P(M_true > M_random) over pairs of training points;
2. the random-label net's normalized margins are smaller (median ratio random/true < 1);
3. R_A grows faster when fitting random labels: from the same initialization, after the same
   number of steps, it is larger (the fraction of evaluation points where it is larger is
   reported too — early on the true-label net's R_A can grow faster);
4. the complexity term of the bound, ‖X̃‖_F R_A / (γ n) at γ = the 10th-percentile margin
   (R_A of eq. 1.2, augmented chain), is larger for the random-label net, as its test error
   is. The bound itself with explicit constants (:func:`spectral_margin_bound`) and the VC bound
   (:func:`vc_bound`, piecewise-linear VC dimension) are printed next to the test errors. On
   these nets both are vacuous: Dudley's integral saturates (its minimizer reaches α = √n, where
   it equals 4 whatever the net), the Rademacher term is then capped at 1/2 (a [0, 1]-valued
   class), and every bound sits at ≈ 1 + its confidence term, so bound values cannot order the
   nets; the unsaturated term ‖X̃‖_F R_A / (γ n) beside them can.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np
from scipy import stats

from .. import data as D
from ..measure import (margins, normalized_margins, spectral_complexity, spectral_margin_bound, vc_bound,
                       vc_dimension_bounds)
from ..report.figures import save
from ..report.figures.bartlett2017 import complexity_curves, margin_densities
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_sd as mean_std

LABELS = ("true_labels", "random_labels")


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # mnist1d embedded; mnist, cifar10 from files (the paper: cifar10, mnist)
    data_root: Optional[str] = None    # folder holding <data>/ files (default $DLSCOPE_DATA, ~/.cache/dlscope)
    n_train: Optional[int] = None      # stratified training subset (None: all)
    n_test: Optional[int] = None       # stratified test subset (None: all)
    # model
    model: str = "cnn"                 # the paper: AlexNet on cifar10; cnn is Zhang et al.'s AlexNet-small
    width: int = 32                    # cnn: channels per conv block, FC 8w and 4w
    depth: int = 2                     # cnn: conv blocks
    # SGD
    lr: float = 0.02                   # SGD step size (the zhang2017 recipe: the same nets, the same fit)
    momentum: float = 0.9
    weight_decay: float = 0.0          # none: the bound must explain generalization without it
    batch_size: int = 128
    max_steps: int = 4000              # both nets train this many SGD steps: Fig. 1 follows both for the same
                                       # epochs, past zero training error (mnist1d random labels fit at ≈ 2500)
    eval_every: int = 50               # steps between evaluation points (and R_A probes)
    fit_acc: float = 0.99              # "fitted": training accuracy ≥ this (marks the first-fit step, no early stop)
    # measurement
    delta: float = 0.05                # confidence 1 − δ of the printed bounds
    seeds: tuple[int, ...] = (0, 1)    # one true/random pair per seed (init, SGD order, random labels)
    device: str = "cpu"                # cpu | cuda

    def __post_init__(self):
        check_config(self)
        if not 0 < self.delta < 1:
            raise ValueError("delta must lie in (0, 1)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=1000, seeds=(0,), max_steps=1600)

CLAIMS = declare(
    separation=ClaimSpec("raw margins separate the true- and random-label nets less clearly than normalized margins "
                         "do", "Bartlett et al. 2017, Fig. 2",
                         "separation |2·AUC − 1| of normalized > of raw, mean over seeds"),
    smaller=ClaimSpec("the random-label net's normalized margins are smaller", "Bartlett et al. 2017, Fig. 2",
                      "median normalized margin ratio random/true < 1 for every seed"),
    growth=ClaimSpec("R_A grows faster during training on random labels", "Bartlett et al. 2017, §1 and Fig. 1",
                     "R_A(random) > R_A(true) after the same number of steps from the same initialization, every "
                     "seed"),
    complexity_term=ClaimSpec("the spectral bound's complexity term ‖X̃‖_F R_A/(γn) is larger for the random-label "
                              "net, as its test error is (bound values, vacuous or not, are in the table)",
                              "Bartlett et al. 2017, §1 and Fig. 1",
                              "term(random) > term(true) and test error(random) > test error(true), every seed "
                              "(γ = 10th-percentile training margin)"),
    fitted=ClaimSpec("every net ends with ≥ 99 % training accuracy", "experimental control",
                     "all runs fit within max_steps", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every, seed=seed, device=cfg.device)


def _complexity_probe(model, ds) -> dict:
    """R_A (M_i = 0) and ∏ρ_i‖A_i‖_σ at an evaluation point, logged into metrics.jsonl."""
    r = spectral_complexity(model, ds.input_shape)
    return {"R_A": float(r), "prod_spec": r.extra["prod_spec"]}


def _separation(a: np.ndarray, b: np.ndarray) -> float:
    """|2·AUC − 1| with AUC = P(a > b) + ½P(a = b) (Mann–Whitney): 0 identical, 1 disjoint."""
    auc = stats.mannwhitneyu(a, b).statistic / (len(a) * len(b))
    return abs(2.0 * float(auc) - 1.0)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    rows, curves, dists = [], {}, {}
    for seed in cfg.seeds:
        for kind in LABELS:
            name = f"{kind}_seed{seed}"
            dsc = D.corrupt(ds, kind, seed=seed)
            net, init, res = train_model(out, name, dsc, cfg.model, mkw, recipe(cfg, seed=seed), progress,
                                         probes={"complexity": _complexity_probe})
            c0 = _complexity_probe(init, ds)  # R_A at step 0 (the same initialization for both labels)
            x, y = dsc.x_train.to(cfg.device), dsc.y_train.to(cfg.device)
            comp = spectral_complexity(net, ds.input_shape)
            raw = margins(net, x, y).cpu().numpy()
            norm = normalized_margins(net, x, y, complexity=comp, norm="l1").cpu().numpy()  # the figures' variant
            bound = spectral_margin_bound(net, x, y, complexity=comp, delta=cfg.delta)
            vcd = vc_dimension_bounds(net, ds.input_shape).value["piecewise_linear_upper"]
            train_err = 1 - res.final["train_acc"]
            first_fit = next((m["step"] for m in res.metrics if m["train_acc"] >= cfg.fit_acc), None)
            gamma10 = float(np.quantile(raw, 0.1))
            x_fro = math.sqrt(float(x.double().pow(2).sum()) + (len(x) if comp.settings["input_augmented"] else 0))
            vcb = vc_bound(vcd, ds.n_train, delta=cfg.delta, train_error=train_err, num_classes=ds.num_classes)
            curves[name] = [(0, c0["R_A"], c0["prod_spec"])] + [
                (m["step"], m["complexity"]["R_A"], m["complexity"]["prod_spec"]) for m in res.metrics]
            dists[name] = (raw, norm)
            rows.append({"run": name, "labels": kind, "seed": seed, "steps": res.steps,
                         "first_fit_step": first_fit, "fitted": res.final["train_acc"] >= cfg.fit_acc,
                         "train_error": round(train_err, 4),
                         "test_error": round(1 - res.final["test_acc"], 4),
                         "R_A_init": c0["R_A"], "R_A": float(comp), "prod_spec": comp.extra["prod_spec"],
                         "median_margin": float(np.median(raw)), "median_normalized_margin": float(np.median(norm)),
                         # the bound's complexity term ‖X̃‖_F R_A / (γ n) at γ = 10th-percentile margin
                         "complexity_term": x_fro * float(comp) / (gamma10 * len(x)) if gamma10 > 0 else math.inf,
                         "x_fro": x_fro, "n": len(x),
                         "spectral_bound": float(bound), "spectral_bound_vacuous": bound.extra["vacuous"],
                         "bound_gamma": bound.extra["gamma"], "bound_dudley": bound.extra["dudley"],
                         "bound_rademacher_capped": bound.extra["rademacher_capped"],
                         "vc_dim_upper": vcd, "vc_bound": float(vcb), "vc_bound_vacuous": vcb.extra["vacuous"]})
            conventions = {"biases": comp.settings["biases"], "normalized_margins": "R_A with the entrywise ℓ1 norm "
                           "(Bartlett et al.'s figures), ‖X̃‖_F", "complexity_term": "R_A of eq. (1.2), (2,1) norm"}
    return _report(cfg, ds, rows, curves, dists, out, conventions)


def _pairs(cfg, rows):
    by = {r["run"]: r for r in rows}
    return [(s, by[f"true_labels_seed{s}"], by[f"random_labels_seed{s}"]) for s in cfg.seeds]


def _growth(true_curve, rand_curve) -> dict:
    """R_A of the two runs at the evaluation steps both reached (same init, so equal at step 0)."""
    t, r = {s: a for s, a, _ in true_curve}, {s: a for s, a, _ in rand_curve}
    common = sorted(set(t) & set(r) - {0})
    last = common[-1]
    return {"step": last, "ratio": r[last] / t[last], "frac_larger": float(np.mean([r[s] > t[s] for s in common]))}


def _report(cfg: Config, ds, rows: list, curves: dict, dists: dict, out: Path, conventions: dict) -> dict:
    pairs = _pairs(cfg, rows)
    sep = {s: {"raw": _separation(dists[f"true_labels_seed{s}"][0], dists[f"random_labels_seed{s}"][0]),
               "normalized": _separation(dists[f"true_labels_seed{s}"][1], dists[f"random_labels_seed{s}"][1])}
           for s in cfg.seeds}
    for s, t, r in pairs:
        for row in (t, r):
            row.update(separation_raw=round(sep[s]["raw"], 4), separation_normalized=round(sep[s]["normalized"], 4))
    claims = []
    raw_sep, norm_sep = mean_std(v["raw"] for v in sep.values()), mean_std(v["normalized"] for v in sep.values())
    claims.append(CLAIMS["separation"].judge({"raw": raw_sep, "normalized": norm_sep}, norm_sep[0] > raw_sep[0]))
    ratios = [r["median_normalized_margin"] / t["median_normalized_margin"] for _, t, r in pairs]
    claims.append(CLAIMS["smaller"].judge({"median ratio": mean_std(ratios), "per seed": [round(v, 4) for v in ratios]},
                                          all(v < 1 for v in ratios)))
    grow = [_growth(curves[t["run"]], curves[r["run"]]) for _, t, r in pairs]
    claims.append(CLAIMS["growth"].judge(
        {"ratio at end": mean_std(g["ratio"] for g in grow), "step": [g["step"] for g in grow],
         "fraction of eval points larger": mean_std(g["frac_larger"] for g in grow)},
        all(g["ratio"] > 1 for g in grow)))
    both = [(t, r) for _, t, r in pairs]
    claims.append(CLAIMS["complexity_term"].judge(
        {lab: {k: mean_std(p[i][k] for p in both) for k in ("complexity_term", "spectral_bound", "vc_bound",
                                                             "test_error")}
         for i, lab in enumerate(LABELS)},
        all(r["complexity_term"] > t["complexity_term"] and r["test_error"] > t["test_error"] for t, r in both)))
    unfit = [r["run"] for r in rows if not r["fitted"]]
    claims.append(CLAIMS["fitted"].judge({r["run"]: round(1 - r["train_error"], 4) for r in rows}, not unfit))
    seed0 = cfg.seeds[0]
    fig_dir = out / "figures"
    figs = [save(margin_densities({lab: dists[f"{lab}_seed{seed0}"] for lab in LABELS}), fig_dir / "margins.png"),
            save(complexity_curves(curves, rows), fig_dir / "complexity.png")]
    quantiles = {k: {"raw": np.quantile(v[0], [0.1, 0.5, 0.9]).tolist(),
                     "normalized": np.quantile(v[1], [0.1, 0.5, 0.9]).tolist()} for k, v in dists.items()}
    return preset_result(ds, claims, rows, figs, out, curves={k: [list(p) for p in v] for k, v in curves.items()},
                         margin_quantiles=quantiles, conventions=conventions, captions={
                             "figures/margins.png": f"Bartlett et al.'s Fig. 2 (seed {seed0}): densities of the raw "
                             "margins (left) and of the spectrally-normalized margins (right; R_A with the entrywise "
                             "ℓ1 norm as in their figures, biases as a constant input) of the true- and random-label "
                             "nets on their training sets; normalized, the two separate.",
                             "figures/complexity.png": "R_A and the product of spectral norms of the bias-augmented "
                             "chain along training (x: first fit), and each net's bounds and complexity term "
                             "‖X̃‖_F R_A/(γn) next to its measured test error (dotted: 1; the spectral bound sits at "
                             "its cap ≈ 1 + confidence when Dudley's integral saturates)."})


PRESET = Preset(name="bartlett2017-spectral-margins",
                title="Bartlett et al. 2017 — spectrally-normalized margins separate true from random labels",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 2 * len(c.seeds))
