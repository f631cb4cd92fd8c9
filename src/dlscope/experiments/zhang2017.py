"""``zhang2017-random-labels`` — Zhang, Bengio, Hardt, Recht & Vinyals, "Understanding deep
learning requires rethinking generalization", ICLR 2017, Figure 1 and §2.

The same network, trained with the same SGD recipe, on the true data and on each of the
randomizations of :mod:`dlscope.data.corrupt`, and on labels corrupted with probability
p ∈ {0, 0.2, …, 1}, for each seed. What the paper found, checked here:

1. every variant is fit to (≥ 99 %) training accuracy — deep nets memorize random data;
2. random labels take longer to fit, by "a small constant factor" (Fig. 1a/1b; reproductions see
   about 2–3×): the mean slowdown over seeds must lie in a stated band;
3. test error grows with p (Fig. 1c) and reaches chance, 1 − 1/C, at p = 1 — within three binomial
   standard errors of the test-set size, so a net that learned anything would fail the check.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np
from scipy import stats

from .. import data as D
from ..report.figures import save
from ..report.figures.zhang2017 import zhang_figure1
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_sd

VARIANTS = ("true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # dataset name (mnist1d embedded; mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None    # folder holding <data>/ files (default $DLSCOPE_DATA, ~/.cache/dlscope)
    n_train: Optional[int] = None      # stratified training subset (None: all)
    n_test: Optional[int] = None       # stratified test subset (None: all)
    # model
    model: str = "cnn"                 # cnn (AlexNet-small) | mlp | conv1d | inception-small | resnet
    width: int = 32                    # cnn: channels per conv block, FC 8w and 4w; mlp: hidden units
    depth: int = 2                     # cnn: conv blocks (Zhang et al.: 2); mlp: hidden layers (1 or 3 there)
    # SGD (names as in TrainConfig)
    lr: float = 0.02                   # step size (Zhang et al.: 0.01 MLP/AlexNet, 0.1 Inception)
    momentum: float = 0.9              # Zhang et al. 2017, Appendix A
    weight_decay: float = 0.0          # no explicit regularization (the point of the experiment)
    batch_size: int = 128              # Zhang et al. 2017, Appendix A
    schedule: str = "constant"         # Zhang et al. decay ×0.95/epoch; constant keeps random labels fittable in budget
    max_steps: int = 20000             # budget per run, in SGD steps
    eval_every: int = 50               # steps between evaluations (the resolution of steps-to-fit)
    target_train_acc: float = 0.99     # "fit" means this training accuracy
    # experiment grid
    variants: tuple[str, ...] = VARIANTS  # randomizations (Figure 1a)
    fractions: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # label corruption levels p (Figure 1b, 1c)
    # claim tolerances
    slowdown_band: tuple[float, ...] = (1.2, 10.0)  # "a small constant factor": mean slowdown inside this band
    chance_z: float = 3.0              # |test error at p=1 − (1 − 1/C)| ≤ chance_z binomial standard errors
    seeds: tuple[int, ...] = (0, 1)    # each seeds data subsets, corruption, init and SGD
    device: str = "cpu"                # cpu | cuda

    def __post_init__(self):
        check_config(self)
        bad = [v for v in self.variants if v not in D.KINDS]
        if bad or any(not 0 <= p <= 1 for p in self.fractions):
            raise ValueError(f"variants must be among {', '.join(D.KINDS)} and fractions in [0, 1]")
        if len(self.slowdown_band) != 2 or not 0 < self.slowdown_band[0] < self.slowdown_band[1]:
            raise ValueError("slowdown_band must be two numbers 0 < lo < hi")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1200, n_test=1000, fractions=(0.0, 0.4, 1.0), max_steps=4000, eval_every=25, seeds=(0,))

CLAIMS = declare(
    fit=ClaimSpec("every variant — true, random and partially random labels, shuffled, random and Gaussian "
                     "inputs — is fit to ≥ 99 % training accuracy", "Zhang et al. 2017, §2 and Fig. 1a",
                     "every run of every seed reaches the target within the budget"),
    slowdown=ClaimSpec("random labels take longer to fit than true labels, by a small constant factor",
                          "Zhang et al. 2017, Fig. 1a/1b (reproductions: about 2–3×)",
                          "mean over seeds of steps(random)/steps(true) inside slowdown_band"),
    growth=ClaimSpec("test error grows with the label-corruption level p", "Zhang et al. 2017, Fig. 1c",
                        "Kendall τ(p, mean test error) ≥ 0.8 over at least three levels"),
    chance=ClaimSpec("at p = 1 the test error is chance, 1 − 1/C", "Zhang et al. 2017, Fig. 1c",
                        "|mean test error − (1 − 1/C)| ≤ chance_z binomial standard errors of the test set"),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, schedule=cfg.schedule, eval_every=cfg.eval_every,
                       target_train_acc=cfg.target_train_acc, seed=seed, device=cfg.device)


def _run_name(kind: str, p: float) -> str:
    if kind == "random_labels" and p == 1.0:
        return "random_labels"
    if p == 0.0:
        return "true_labels"
    return f"{kind}_p{p:g}" if kind == "random_labels" else kind


def _jobs(cfg: Config) -> list[tuple[str, float]]:
    jobs = [(v, 1.0 if v != "true_labels" else 0.0) for v in cfg.variants]
    jobs += [("random_labels", p) for p in cfg.fractions if 0.0 < p < 1.0]
    if 0.0 in cfg.fractions and "true_labels" not in cfg.variants:
        jobs.append(("true_labels", 0.0))
    if 1.0 in cfg.fractions and "random_labels" not in cfg.variants:
        jobs.append(("random_labels", 1.0))
    return jobs


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    rows, curves = [], {}
    for seed in cfg.seeds:
        for kind, p in _jobs(cfg):
            name = _run_name(kind, p)
            dsc = D.corrupt(ds, kind, fraction=p if kind == "random_labels" else 1.0, seed=seed)
            res = train_model(out, f"{name}_seed{seed}", dsc, cfg.model, mkw, recipe(cfg, seed=seed), progress).result
            rows.append({"run": name, "seed": seed, "kind": kind, "p": p, "steps_to_fit": res.steps_to_fit,
                         "steps": res.steps, "diverged": res.diverged, "train_acc": res.final["train_acc"],
                         "test_acc": res.final["test_acc"], "test_error": 1 - res.final["test_acc"]})
            curves[(name, seed)] = res.metrics
    return _report(cfg, ds, rows, curves, out)


def _report(cfg: Config, ds, rows: list, curves: dict, out: Path) -> dict:
    chance = 1 - 1 / ds.num_classes
    by = {(r["run"], r["seed"]): r for r in rows}
    claims = []
    unfit = [f"{r['run']} (seed {r['seed']})" for r in rows if r["steps_to_fit"] is None]
    claims.append(CLAIMS["fit"].judge({"runs": len(rows), "not fitted": unfit,
                                              "lowest train accuracy": min(r["train_acc"] for r in rows)}, not unfit))
    pairs = [(by.get(("true_labels", s)), by.get(("random_labels", s))) for s in cfg.seeds]
    pairs = [(t, r) for t, r in pairs if t is not None and r is not None]
    lo, hi = cfg.slowdown_band
    if not pairs:
        claims.append(CLAIMS["slowdown"].not_evaluable("needs true_labels and random_labels runs"))
    elif any(t["steps_to_fit"] is None or r["steps_to_fit"] is None for t, r in pairs):
        claims.append(CLAIMS["slowdown"].not_evaluable("a true- or random-label run did not fit"))
    else:
        factors = [r["steps_to_fit"] / t["steps_to_fit"] for t, r in pairs]
        m = float(np.mean(factors))
        claims.append(CLAIMS["slowdown"].judge({
            "slowdown (mean ± sd)": mean_sd(factors), "per seed": [round(f, 3) for f in factors],
            "steps true": [t["steps_to_fit"] for t, _ in pairs], "steps random": [r["steps_to_fit"] for _, r in pairs],
            "band": [lo, hi]}, lo <= m <= hi))
    levels = sorted({r["p"] for r in rows if r["kind"] in ("true_labels", "random_labels")})
    err = {p: float(np.mean([r["test_error"] for r in rows if r["p"] == p and r["kind"] in
                             ("true_labels", "random_labels")])) for p in levels}
    if len(levels) >= 3:
        tau = float(stats.kendalltau(levels, [err[p] for p in levels]).statistic)
        claims.append(CLAIMS["growth"].judge({"tau": round(tau, 3), "mean test error by p": {
            f"{p:g}": round(e, 4) for p, e in err.items()}}, tau >= 0.8))
    else:
        claims.append(CLAIMS["growth"].not_evaluable("needs at least three corruption levels"))
    if 1.0 in err:
        se = math.sqrt(chance * (1 - chance) / (ds.n_test * len(cfg.seeds)))
        claims.append(CLAIMS["chance"].judge({"test error at p=1": round(err[1.0], 4),
                                                        "chance": round(chance, 4), "binomial se": round(se, 4)},
                                             abs(err[1.0] - chance) <= cfg.chance_z * se))
    else:
        claims.append(CLAIMS["chance"].not_evaluable("p = 1 was not run"))
    seed0 = cfg.seeds[0]
    results = {r["run"]: {**r, "curve": curves[(r["run"], r["seed"])]} for r in rows if r["seed"] == seed0}
    fig = save(zhang_figure1(results, chance), out / "figures" / "figure1.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/figure1.png": f"Zhang et al. 2017, Fig. 1 on {ds.name} (seed {seed0}): (a) training loss per "
                               "variant — all reach zero; (b) steps to fit grow with the corruption level; (c) "
                               "test error grows from the true-label error to chance (dashed)."})


PRESET = Preset(name="zhang2017-random-labels",
                title="Zhang et al. 2017 — deep nets fit random labels (Figure 1)",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(_jobs(c)))
