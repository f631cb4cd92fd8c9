"""``zhang2017-random-labels`` — Zhang, Bengio, Hardt, Recht & Vinyals, "Understanding deep
learning requires rethinking generalization", ICLR 2017, Figure 1 and §2.

The same network, trained with the same SGD recipe, on the true data and on each of
the randomizations of :mod:`dlscope.data.corrupt`, and on labels corrupted with
probability p ∈ {0, 0.2, …, 1}. What the paper found, checked here:

1. every variant is fit to (≥99%) training accuracy — deep nets memorize random data;
2. random labels take longer to fit, by "a small constant factor" (reported here as the
   ratio of steps-to-fit; reproductions see about 2–3×);
3. test error grows with p and reaches chance, 1 − 1/C, at p = 1 — the same model and
   training procedure generalize or not depending only on the data.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np
from scipy import stats

from .. import data as D
from ..report import plots
from ..train import TrainConfig
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, preset_result, size_kwargs, train_model

VARIANTS = ("true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"              # dataset name (mnist1d embedded; mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None    # folder holding <data>/ files (default $DLSCOPE_DATA, ~/.cache/dlscope)
    n_train: Optional[int] = None      # stratified training subset (None: all)
    n_test: Optional[int] = None       # stratified test subset (None: all)
    model: str = "cnn"                 # cnn (AlexNet-small) | mlp | conv1d | inception-small | resnet
    width: int = 32                    # cnn: channels per conv block, FC 8w and 4w; mlp: hidden units
    depth: int = 2                     # cnn: conv blocks (Zhang et al.: 2); mlp: hidden layers (1 or 3 there)
    lr: float = 0.02                   # SGD step size (Zhang et al.: 0.01 MLP/AlexNet, 0.1 Inception)
    momentum: float = 0.9              # Zhang et al. 2017, Appendix A
    batch_size: int = 128              # Zhang et al. 2017, Appendix A
    weight_decay: float = 0.0          # no explicit regularization (the point of the experiment)
    schedule: str = "constant"         # Zhang et al. decay ×0.95/epoch; constant keeps random labels fittable in budget
    max_steps: int = 20000             # budget per run, in SGD steps
    eval_every: int = 50               # steps between evaluations (the resolution of steps-to-fit)
    target_train_acc: float = 0.99     # "fit" means this training accuracy
    fractions: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # label corruption levels p (Figure 1b, 1c)
    variants: tuple[str, ...] = VARIANTS  # randomizations (Figure 1a)
    seed: int = 0                      # seeds data subsets, corruption, init and SGD
    device: str = "cpu"                # cpu | cuda
    chance_tolerance: float = 0.03     # |test error at p=1 − (1 − 1/C)| allowed, in absolute error

    def __post_init__(self):
        check_common(self)
        bad = [v for v in self.variants if v not in D.KINDS]
        if bad or any(not 0 <= p <= 1 for p in self.fractions):
            raise ValueError(f"variants must be among {', '.join(D.KINDS)} and fractions in [0, 1]")

    def train_config(self) -> TrainConfig:
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr, momentum=self.momentum,
                           weight_decay=self.weight_decay, schedule=self.schedule, eval_every=self.eval_every,
                           target_train_acc=self.target_train_acc, seed=self.seed, device=self.device)


QUICK = dict(n_train=2000, n_test=1000, max_steps=4000, eval_every=25)


def _run_name(kind: str, p: float) -> str:
    if kind == "random_labels" and p == 1.0:
        return "random_labels"
    if p == 0.0:
        return "true_labels"
    return f"{kind}_p{p:g}" if kind == "random_labels" else kind


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seed)
    tc = cfg.train_config()
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    jobs = [(v, 1.0 if v != "true_labels" else 0.0) for v in cfg.variants]
    jobs += [("random_labels", p) for p in cfg.fractions if 0.0 < p < 1.0]
    if 0.0 in cfg.fractions and "true_labels" not in cfg.variants:
        jobs.append(("true_labels", 0.0))
    if 1.0 in cfg.fractions and "random_labels" not in cfg.variants:
        jobs.append(("random_labels", 1.0))
    results = {}
    for kind, p in jobs:
        name = _run_name(kind, p)
        dsc = D.corrupt(ds, kind, fraction=p if kind == "random_labels" else 1.0, seed=cfg.seed)
        _, res = train_model(out, name, dsc, cfg.model, mkw, tc, progress)
        results[name] = {"kind": kind, "p": p, "steps_to_fit": res.steps_to_fit, "steps": res.steps,
                         "train_acc": res.final["train_acc"], "test_acc": res.final["test_acc"],
                         "test_error": 1 - res.final["test_acc"], "curve": res.metrics}
    return _report(cfg, ds, results, out)


def _report(cfg: Config, ds, results: dict, out: Path) -> dict:
    chance = 1 - 1 / ds.num_classes
    table = [{k: v for k, v in r.items() if k != "curve"} | {"run": n} for n, r in results.items()]
    by_p = sorted(((r["p"], r) for r in results.values() if r["kind"] in ("true_labels", "random_labels")),
                  key=lambda t: t[0])
    ps = [p for p, _ in by_p]
    errs = [r["test_error"] for _, r in by_p]
    claims = []
    unfit = {n: round(r["train_acc"], 4) for n, r in results.items() if r["steps_to_fit"] is None}
    claims.append(Claim(
        f"every variant reaches ≥{cfg.target_train_acc:.0%} training accuracy within {cfg.max_steps} steps",
        "Zhang et al. 2017, §2 and Fig. 1a", f"all {len(results)} runs fit",
        {n: r["train_acc"] for n, r in results.items()}, not unfit))
    if "true_labels" in results and "random_labels" in results:
        s_true, s_rand = results["true_labels"]["steps_to_fit"], results["random_labels"]["steps_to_fit"]
        factor = (s_rand / s_true) if s_true and s_rand else None
        claims.append(Claim("random labels take longer to fit than true labels, by a small constant factor",
                            "Zhang et al. 2017, Fig. 1a/1b (reproductions: about 2–3×)", "slowdown factor > 1",
                            {"steps_true": s_true, "steps_random": s_rand,
                             "slowdown": None if factor is None else round(factor, 3)},
                            factor is not None and factor > 1))
    if len(ps) >= 3:
        tau = stats.kendalltau(ps, errs).statistic
        claims.append(Claim("test error grows with the label-corruption level p",
                            "Zhang et al. 2017, Fig. 1c", "Kendall τ(p, test error) ≥ 0.8",
                            {"tau": round(float(tau), 3), "test_error": dict(zip(map(str, ps), np.round(errs, 4)))},
                            bool(tau >= 0.8)))
    if 1.0 in ps:
        e1 = errs[ps.index(1.0)]
        claims.append(Claim("at p = 1 test error is chance, 1 − 1/C", "Zhang et al. 2017, Fig. 1c",
                            f"{chance:.3f} ± {cfg.chance_tolerance}", round(e1, 4),
                            abs(e1 - chance) <= cfg.chance_tolerance))
    fig_dir = out / "figures"
    figures = [plots.save(plots.zhang_figure1(results, chance), fig_dir / "figure1.png")]
    return preset_result(ds, claims, table, figures, out)


register(Preset(
    name="zhang2017-random-labels",
    title="Zhang et al. 2017 — deep nets fit random labels (Figure 1)",
    claims=("all variants fit to ≥99% train accuracy", "random labels are slower to fit (factor reported)",
            "test error grows with p and is chance at p = 1"),
    Config=Config, quick=QUICK, run=run))
