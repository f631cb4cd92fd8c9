"""``dziugaite2017-nonvacuous`` — Dziugaite & Roy, "Computing nonvacuous generalization bounds for deep
(stochastic) neural networks with many more parameters than training data", UAI 2017, Table 1; with the
data-dependent prior of Pérez-Ortiz, Rivasplata, Shawe-Taylor & Szepesvári, JMLR 2021.

Binary MNIST (digit < 5 vs ≥ 5, §4 of the paper), MLPs with one hidden layer of 600 units (T-600; the
paper also 1200 and 600², set ``architectures``), trained by SGD (momentum 0.9, η = 0.01, batch 100,
20 epochs — ``snn/experiments/run_sgd.py``), then the PAC-Bayes bound of
:func:`dlscope.measure.pacbayes_bound` optimized around the trained weights (posterior N(w, diag s²),
prior N(w₀, λI) at the initialization, λ on the union-bound grid) and certified: ê_Q by Monte Carlo,
its kl-inverse, then kl⁻¹(ê⁺, (KL + ln(2√n/δ) + grid cost)/n). The same with a prior mean learnt on a
random half of the training set (bound on the other half), on a net trained on random labels (R-600),
and, for the same nets, the VC bound and the spectrally-normalized margin bound. Without the MNIST
files (``data`` unset) the preset runs on binary mnist1d and says so.

Checked: (a) the bound is non-vacuous (< 1) for every true-label net, and below ``max_bound`` (0.5) for
each architecture's data-free bound; (b) the stochastic net's test error does not exceed its bound;
(c) on random labels the bound is ≥ ½ (chance: no classifier beats it on labels independent of x);
(d) the VC and spectral bounds of the true-label nets are ≥ 1; (e) the data-dependent prior gives a
smaller bound than the data-free one (paired over seeds). The paper's bounds: 0.16–0.22 with
n = 55 000 and 10⁶ optimization steps; the CPU default is shorter (see the README's table).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

from .. import data as D
from ..measure import (PACBAYES_OBJECTIVES as OBJECTIVES, cross_entropy_bits, pacbayes_bound,
                       spectral_margin_bound, vc_bound, vc_dimension_bounds)
from ..report.figures import save
from ..report.figures.dziugaite2017 import bounds_figure, optimization_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, preset_result, train_model
from .stats import difference, mean_se

PRIORS = ("data-free", "data-dependent")


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: Optional[str] = None         # None: mnist if its files are under data_root, else mnist1d (recorded)
    data_root: Optional[str] = None    # folder holding mnist/ (default $DLSCOPE_DATA, ~/.cache/dlscope)
    n_train: Optional[int] = 30000     # stratified subset of the 60 000 (None: all; the paper: 55 000)
    n_test: Optional[int] = None       # all 10 000 test images
    # model
    architectures: tuple[str, ...] = ("600",)  # hidden widths: 600 = T-600; the paper also 1200, 600x600
    random_labels: tuple[str, ...] = ("600",)  # architectures also trained on random labels
    # SGD (Dziugaite & Roy, run_sgd.py: momentum 0.9, η = 0.01, batch 100, 20 epochs)
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 100
    max_epochs: float = 20.0           # true labels
    eval_every_epochs: float = 5.0
    max_epochs_random: float = 60.0    # random labels (fitting them takes longer, Zhang et al. 2017)
    target_train_acc_random: float = 0.95  # stop random-label training once fitted this well
    # measurement (the PAC-Bayes optimization; the paper: RMSprop, 10⁶ steps; here Adam, shortened)
    bound_steps: int = 3000            # Adam steps on the objective, one weight draw per minibatch
    bound_lr: float = 0.01             # for ln s and ln λ
    bound_lr_mean: float = 3e-4        # for the posterior mean μ
    bound_batch: int = 500             # examples per objective step (the paper: 100)
    sigma_init: float = 0.01           # initial posterior standard deviation of every weight
    objective: str = "quad"            # quad (Pérez-Ortiz et al. f_quad) | classic (Pinsker, the paper's)
    delta: float = 0.05                # total failure probability of the certificate
    delta_mc: float = 0.01             # of which for the Monte-Carlo estimate (both papers' code: 0.01)
    mc_samples: int = 10               # weight draws per batch for ê_Q (the paper: 150 000 nets on all of it)
    mc_batch: int = 50                 # examples per Monte-Carlo batch (a fresh net each): N = draws × batches
    test_samples: int = 2              # weight draws per test batch for the stochastic net's test error
    prior_fraction: float = 0.5        # data-dependent prior: fraction of the training set for its mean
    # claim tolerances
    max_bound: float = 0.5             # (a): each architecture's data-free bound (mean over seeds) below this
    seeds: tuple[int, ...] = (0, 1)    # init, SGD order, random labels, weight draws
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        for a in self.architectures + self.random_labels:
            _widths(a)
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if not 0 < self.delta_mc < self.delta < 1:
            raise ValueError(f"need 0 < delta_mc < delta < 1, got delta={self.delta}, delta_mc={self.delta_mc}")
        if not 0 < self.prior_fraction < 1:
            raise ValueError(f"prior_fraction must lie in (0, 1), got {self.prior_fraction}")
        if self.sigma_init <= 0 or self.bound_lr <= 0 or self.bound_lr_mean <= 0:
            raise ValueError("sigma_init, bound_lr and bound_lr_mean must be > 0")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=2000, bound_steps=300, bound_batch=200, mc_samples=5, test_samples=2,
             max_epochs=10.0, max_epochs_random=30.0, seeds=(0,))

CLAIMS = declare(
    nonvacuous=ClaimSpec("the optimized PAC-Bayes bound of the true-label nets is non-vacuous",
                         "Dziugaite & Roy 2017, Table 1 (0.16–0.22 on binary MNIST)",
                         "every bound < 1, and each architecture's data-free bound (mean over seeds) < max_bound"),
    snn_below_bound=ClaimSpec("the stochastic net's test error does not exceed its certified bound",
                              "Dziugaite & Roy 2017, Table 1 (SNN test error vs bound)",
                              "no row with SNN test error − bound > 2 standard errors of the test estimate"),
    random_labels=ClaimSpec("on random labels the same procedure certifies nothing: the bound is ≥ ½ (chance)",
                            "Dziugaite & Roy 2017, Table 1 (R-600)", "every random-label bound ≥ 0.5"),
    classical_vacuous=ClaimSpec("the VC bound and the spectrally-normalized margin bound of the same nets are "
                                "vacuous", "Dziugaite & Roy 2017, §1 and Table 1 (VC dimension); Bartlett et al. "
                                "2017", "VC bound ≥ 1 and spectral bound ≥ 1 for every true-label net"),
    data_prior=ClaimSpec("a prior mean learnt on half of the training set gives a tighter bound than the "
                         "data-free prior", "Pérez-Ortiz et al. 2021, Tables 3–4 (learnt vs random priors)",
                         "bound(data-free) − bound(data-dependent) > 2 standard errors, paired over seeds, "
                         "every architecture"),
    fitted=ClaimSpec("the true-label nets reach ≤ 2% and the random-label nets ≤ 1 − target_train_acc_random "
                     "training error", "experimental control", "all nets fitted", control=True),
)


def _widths(arch: str) -> tuple[int, ...]:
    try:
        w = tuple(int(v) for v in arch.split("x"))
    except ValueError:
        w = ()
    if not w or min(w) < 1:
        raise ValueError(f"architectures are hidden widths like 600, 1200 or 600x600, got {arch!r}")
    return w


def recipe(cfg: Config, *, seed: int, labels: str = "true_labels", **_) -> TrainConfig:
    rand = labels == "random_labels"
    return TrainConfig(max_epochs=cfg.max_epochs_random if rand else cfg.max_epochs, batch_size=cfg.batch_size,
                       lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       eval_every_epochs=cfg.eval_every_epochs,
                       target_train_acc=cfg.target_train_acc_random if rand else None, seed=seed, device=cfg.device)


def binary(ds: D.Dataset) -> D.Dataset:
    """Labels 0–4 → 0 and 5–9 → 1 (Dziugaite & Roy 2017, §4: "binary MNIST")."""
    return ds.replace(y_train=(ds.y_train >= 5).long(), y_test=(ds.y_test >= 5).long(), num_classes=2,
                      meta={**ds.meta, "binarized": "digit < 5 vs ≥ 5"})


def dataset(cfg: Config) -> tuple[D.Dataset, str]:
    """Binary MNIST, or binary mnist1d when ``data`` is unset and the MNIST files are absent; and a note."""
    name = cfg.data or "mnist"
    try:
        ds = D.load(name, root=cfg.data_root, n_train=cfg.n_train, n_test=cfg.n_test, seed=cfg.seeds[0])
        note = f"{name} (binary), n = {ds.n_train}"
    except D.MissingDataError as e:
        if cfg.data is not None:
            raise
        ds = D.load("mnist1d", n_train=cfg.n_train, n_test=cfg.n_test, seed=cfg.seeds[0])
        note = f"mnist1d (binary), n = {ds.n_train}: the MNIST files were not found ({e})"
    return binary(ds), note


def _bound(net, init, ds, cfg, seed, prior, progress, name):
    cb = (lambda done, total: progress(name, done, total)) if progress else None
    return pacbayes_bound(net, cross_entropy_bits, (ds.x_train, ds.y_train), prior="init" if prior == "data-free"
                          else "data", init=init, test_data=(ds.x_test, ds.y_test), delta=cfg.delta,
                          delta_mc=cfg.delta_mc, objective=cfg.objective, steps=cfg.bound_steps, lr=cfg.bound_lr,
                          lr_mean=cfg.bound_lr_mean, batch_size=cfg.bound_batch, sigma_init=cfg.sigma_init,
                          mc_samples=cfg.mc_samples, mc_batch=cfg.mc_batch, test_samples=cfg.test_samples,
                          prior_fraction=cfg.prior_fraction, prior_epochs=cfg.max_epochs,
                          # the net's SGD recipe on the prior half; ln 2 undoes the bits' 1/ln 2 in the gradient
                          prior_lr=cfg.lr * math.log(2), prior_momentum=cfg.momentum, prior_batch=cfg.batch_size,
                          seed=seed, progress=cb)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds, note = dataset(cfg)
    ds = ds.to(cfg.device)
    rows, histories = [], {}
    for seed in cfg.seeds:
        for labels, archs in (("true_labels", cfg.architectures), ("random_labels", cfg.random_labels)):
            dsc = D.corrupt(ds, labels, seed=seed)
            for arch in archs:
                net_name = f"{'T' if labels == 'true_labels' else 'R'}-{arch}"
                run_name = f"{net_name}_seed{seed}"
                net, init, res = train_model(out, run_name, dsc, "mlp", {"widths": _widths(arch)},
                                             recipe(cfg, seed=seed, labels=labels), progress)
                x, y = dsc.x_train, dsc.y_train
                train_err = 1 - res.final["train_acc"]
                vcd = vc_dimension_bounds(net, ds.input_shape).value["piecewise_linear_upper"]
                common = {"net": net_name, "labels": labels, "seed": seed, "train_error": round(train_err, 5),
                          "test_error": round(1 - res.final["test_acc"], 5), "sgd_steps": res.steps,
                          "vc_bound": float(vc_bound(vcd, ds.n_train, delta=cfg.delta, train_error=train_err)),
                          "spectral_bound": float(spectral_margin_bound(net, x, y, delta=cfg.delta))}
                for prior in PRIORS if labels == "true_labels" else PRIORS[:1]:
                    r = _bound(net, init, dsc, cfg, seed, prior, progress, f"{run_name} {prior} bound")
                    e = r.extra
                    histories[f"{run_name} {prior}"] = e["history"]
                    rows.append({**common, "prior": prior, "n": e["n"], "n_params": e["num_params"],
                                 "snn_train_error": round(e["snn_train_error"], 5),
                                 "snn_train_error_bound": round(e["snn_train_error_bound"], 5),
                                 "snn_test_error": round(e["snn_test_error"], 5),
                                 "snn_test_error_se": round(e["snn_test_error_stderr"], 5),
                                 "kl": round(e["kl"], 2), "lambda": e["lambda"], "bound": round(r.value, 5),
                                 "pinsker_bound": round(e["pinsker_bound"], 5), "mc_count": e["mc_count"],
                                 "posterior_std_median": e["posterior_std"]["median"]})
    return _report(cfg, ds, note, rows, histories, out)


def _report(cfg: Config, ds, note: str, rows: list, histories: dict, out: Path) -> dict:
    true = [r for r in rows if r["labels"] == "true_labels"]
    rand = [r for r in rows if r["labels"] == "random_labels"]
    claims = []
    free = {a: mean_se(r["bound"] for r in true if r["net"] == f"T-{a}" and r["prior"] == "data-free")
            for a in cfg.architectures}
    claims.append(CLAIMS["nonvacuous"].judge(
        {"bounds": {f"{r['net']} {r['prior']} seed{r['seed']}": r["bound"] for r in true},
         "data-free mean ± se": {a: free[a] for a in free}},
        all(r["bound"] < 1 for r in true) and all(m + 2 * (se or 0.0) < cfg.max_bound for m, se in free.values())))
    gaps = {f"{r['net']} {r['prior']} seed{r['seed']}": round(r["snn_test_error"] - r["bound"], 5) for r in rows}
    claims.append(CLAIMS["snn_below_bound"].judge(
        {"test error − bound": gaps},
        not any(r["snn_test_error"] - r["bound"] > 2 * r["snn_test_error_se"] for r in rows)))
    claims.append(CLAIMS["random_labels"].judge(
        {f"{r['net']} seed{r['seed']}": {"bound": r["bound"], "snn_test_error": r["snn_test_error"]} for r in rand},
        all(r["bound"] >= 0.5 for r in rand)))
    nets = [r for r in true if r["prior"] == "data-free"]
    claims.append(CLAIMS["classical_vacuous"].judge(
        {f"{r['net']} seed{r['seed']}": {"vc": round(r["vc_bound"], 3), "spectral": round(r["spectral_bound"], 3)}
         for r in nets}, all(r["vc_bound"] >= 1 and r["spectral_bound"] >= 1 for r in nets)))
    diffs = {}
    for a in cfg.architectures:
        pair = {p: [r["bound"] for r in true if r["net"] == f"T-{a}" and r["prior"] == p] for p in PRIORS}
        diffs[a] = difference(pair["data-free"], pair["data-dependent"])
    sig = [d["significant"] for d in diffs.values()]
    if any(s is None for s in sig):
        claims.append(CLAIMS["data_prior"].not_evaluable("one seed: a paired difference needs a spread", diffs))
    else:
        claims.append(CLAIMS["data_prior"].judge(diffs, all(s and d["diff"] > 0 for s, d in zip(sig, diffs.values()))))
    unfit = [f"{r['net']} seed{r['seed']}" for r in rows
             if r["train_error"] > (0.02 if r["labels"] == "true_labels" else 1 - cfg.target_train_acc_random)]
    claims.append(CLAIMS["fitted"].judge({"not fitted": sorted(set(unfit))}, not unfit))
    figs = [save(bounds_figure(rows), out / "figures" / "bounds.png"),
            save(optimization_figure(histories), out / "figures" / "optimization.png")]
    return preset_result(ds, claims, rows, figs, out, data_used=note, captions={
        "figures/bounds.png": f"Data: {note}. Left: generalization bounds of the same nets (log scale; above the dashed line at 1 a "
                              "bound says nothing): the optimized PAC-Bayes bound with the data-free and the "
                              "data-dependent prior, the VC bound and the spectral margin bound; dots: the "
                              "stochastic net's test error. Right: what each PAC-Bayes bound is made of — the "
                              "stochastic net's training error, the Monte-Carlo term and the PAC-Bayes term.",
        "figures/optimization.png": "The PAC-Bayes objective and KL(Q‖P) during the posterior optimization."})


PRESET = Preset(name="dziugaite2017-nonvacuous",
                title="A non-vacuous PAC-Bayes bound on binary MNIST MLPs, next to the vacuous VC and spectral "
                      "bounds",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * (len(c.architectures) + len(c.random_labels)))
