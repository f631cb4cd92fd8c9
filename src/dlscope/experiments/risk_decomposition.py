"""``risk-decomposition`` — approximation, estimation and optimization error, measured on a planted teacher.

The lecture (seed 002, "Risk Decomposition"): with g* the ground truth, h_opt the best hypothesis of
the class on the data distribution, ĥ_opt the best on the training data and ĥ the trained one,

    R(ĥ) − R(g*) = [R(h_opt) − R(g*)]      approximation error (representation power)
                 + [R(ĥ_opt) − R(h_opt)]   estimation error   (generalization)
                 + [R(ĥ) − R(ĥ_opt)]       optimization error.

Here g* is known: ``data.planted.planted_teacher`` draws labels from p*(y | x) = softmax(T(x)) of a
two-layer ReLU teacher of width 16 in ℝ⁸ (3 classes), so the Bayes predictor is the teacher and every
risk is computed exactly over the label noise, R(h) = E_x[−Σ_c p*(c|x) log p_h(c|x)] (cross-entropy),
averaged over ``n_test`` fresh inputs (its standard error over x is reported). The class is a
one-hidden-layer ReLU student of width w. Estimated by:

* h_opt(w): the student trained on ``population_n`` fresh samples (the "huge sample"), best training
  loss of ``restarts`` runs — its own estimation error is O(p/population_n), reported as a bias;
* ĥ_opt(w, n): the best training loss among ĥ and ``restarts`` longer runs with a cosine-decayed step
  on the n training examples (the empirical risk minimizer, as found);
* ĥ(w, n): one SGD run of the plain recipe (constant step, ``sgd_steps``).

The terms need not be positive as estimated: ĥ can beat the empirical minimizer on the population
(stopping early regularizes), which is then a negative "optimization error". Claims: approximation
error falls with width; estimation error falls with n; the three terms add up to the excess risk
R(ĥ) − R(g*) measured directly on a second, independent population sample (a control of the
bookkeeping: the sum is an identity on one sample, so the check is across samples).
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from scipy import stats

from ..data import Dataset, planted
from ..report.figures import save
from ..report.figures.risk_decomposition import decomposition_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, preset_result, train_model
from .stats import difference, mean_sd

TERMS = ("approximation", "estimation", "optimization")


@dataclasses.dataclass(frozen=True)
class Config:
    # data: the planted teacher (data.planted: ℝ⁸, width 16, 3 classes, labels ~ p*(y|x))
    data: str = "planted-teacher"
    data_root: Optional[str] = None    # unused (synthetic)
    n_train: Optional[int] = None      # unused: the sample sizes are ``sizes``
    n_test: Optional[int] = 20000      # fresh inputs on which population risks are computed (each sample)
    teacher_seed: int = 0              # which teacher; every seed reuses it
    # model: one hidden layer of ReLU units
    widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)  # the teacher has 16
    # SGD of ĥ (the plain recipe)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 50
    sgd_steps: int = 1000              # ĥ: constant step, this many steps
    # measurement
    sizes: tuple[int, ...] = (250, 1000, 4000)  # training-set sizes n (nested prefixes of one draw)
    restarts: int = 2                  # extra runs for ĥ_opt, and runs for h_opt (best training loss wins)
    erm_steps: int = 3000              # ĥ_opt runs: cosine-decayed step, this many steps
    population_n: int = 50000          # h_opt: the student trained on this many fresh samples
    population_steps: int = 6000       # … for this many steps of batch population_batch
    population_batch: int = 500
    # claim tolerances
    z: float = 2.0                     # differences count beyond z standard errors
    seeds: tuple[int, ...] = (0, 1)    # training samples, inits and SGD orders
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        for name in ("widths", "sizes"):
            v = getattr(self, name)
            if list(v) != sorted(set(v)) or len(v) < 2 or v[0] < 1:
                raise ValueError(f"{name} must be at least two increasing positive integers")
        if self.restarts < 1 or self.population_n < 1 or self.n_test is None or self.n_test < 100:
            raise ValueError("restarts ≥ 1, population_n ≥ 1 and n_test ≥ 100 are needed")
        recipe(self, seed=self.seeds[0])


QUICK = dict(widths=(1, 4, 16), sizes=(250, 2000), restarts=1, sgd_steps=600, erm_steps=1500,
             population_n=20000, population_steps=2500, n_test=10000)

CLAIMS = declare(
    approximation=ClaimSpec("approximation error R(h_opt) − R(g*) falls as the class grows (wider students)",
                            "the lecture, 'Risk Decomposition' (representation power)",
                            "Kendall τ(width, mean approximation error) ≤ −0.6 and narrowest − widest > z se"),
    estimation=ClaimSpec("estimation error R(ĥ_opt) − R(h_opt) falls as the training set grows",
                         "the lecture, 'Risk Decomposition' (generalization)",
                         "Kendall τ(n, mean estimation error over widths) = −1 and smallest n − largest n > z se"),
    closes=ClaimSpec("approximation + estimation + optimization error = the excess risk R(ĥ) − R(g*) measured on an "
                     "independent population sample", "experimental control (the decomposition is an identity)",
                     "every row: |sum on sample 1 − direct on sample 2| ≤ the two-sided 95 % Bonferroni bound "
                     "(in standard errors over the inputs)", control=True),
)


def recipe(cfg: Config, *, seed: int, kind: str = "sgd", **_) -> TrainConfig:
    """kind: sgd (ĥ), erm (ĥ_opt restarts: cosine decay, longer), population (h_opt)."""
    steps = {"sgd": cfg.sgd_steps, "erm": cfg.erm_steps, "population": cfg.population_steps}[kind]
    return TrainConfig(max_steps=steps, eval_every=max(1, steps // 4), lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, schedule="constant" if kind == "sgd" else "cosine",
                       batch_size=cfg.population_batch if kind == "population" else cfg.batch_size, seed=seed,
                       device=cfg.device)


def _sample(cfg: Config, n: int, draw_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, y, _ = planted.planted_teacher(n, cfg.teacher_seed, draw_seed=draw_seed)
    return x, y


def population_risk(net, params: dict, x: torch.Tensor) -> np.ndarray:
    """Per-input expected cross-entropy −Σ_c p*(c|x) log p_h(c|x), exact over the label noise (float64)."""
    with torch.no_grad():
        logp = torch.log_softmax(net(x.to(next(net.parameters()).device)).double().cpu(), dim=1)
    return (-(planted.teacher_probs(params, x) * logp).sum(1)).numpy()


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    params = planted.teacher_params(cfg.teacher_seed)
    pop = [_sample(cfg, cfg.n_test, 10 ** 6 + k)[0] for k in (1, 2)]  # P1: the terms; P2: the direct check
    p_star = [planted.teacher_probs(params, x) for x in pop]
    bayes = [(-(p * p.log()).sum(1)).numpy() for p in p_star]  # R(g*) per input: the entropy of p*
    xt, yt = _sample(cfg, 2000, 10 ** 6 + 3)                     # a labeled test set for the run records
    rows = []
    for seed in cfg.seeds:
        x, y = _sample(cfg, cfg.sizes[-1], seed)
        xp, yp = _sample(cfg, cfg.population_n, 10 ** 6 + 100 + seed)
        big = Dataset("planted-teacher", xp, yp, xt, yt, 3, {"teacher_seed": cfg.teacher_seed, "seed": seed})
        for w in cfg.widths:
            mk = {"widths": (w,)}
            opt = [train_model(out, f"pop_w{w}_seed{seed}_r{r}", big, "mlp", mk,
                               recipe(cfg, seed=seed + 1000 * r, kind="population"), progress)
                   for r in range(cfg.restarts)]
            h_opt = min(opt, key=lambda t: t.result.final["train_loss"]).net
            for n in cfg.sizes:
                ds = Dataset("planted-teacher", x[:n], y[:n], xt, yt, 3, {"teacher_seed": cfg.teacher_seed,
                                                                         "seed": seed, "n": n})
                fits = [train_model(out, f"sgd_w{w}_n{n}_seed{seed}", ds, "mlp", mk, recipe(cfg, seed=seed), progress)]
                fits += [train_model(out, f"erm_w{w}_n{n}_seed{seed}_r{r}", ds, "mlp", mk,
                                     recipe(cfg, seed=seed + 1000 * (r + 1), kind="erm"), progress)
                         for r in range(cfg.restarts)]
                h_hat, h_erm = fits[0].net, min(fits, key=lambda t: t.result.final["train_loss"]).net
                rows.append(_row(w, n, seed, h_hat, h_erm, h_opt, params, pop, bayes, fits))
    return _report(cfg, rows, out, Dataset("planted-teacher", x, y, xt, yt, 3, {"teacher_seed": cfg.teacher_seed}))


def _row(w, n, seed, h_hat, h_erm, h_opt, params, pop, bayes, fits) -> dict:
    r = {name: population_risk(net, params, pop[0]) for name, net in (("hat", h_hat), ("erm", h_erm), ("opt", h_opt))}
    terms = {"approximation": r["opt"] - bayes[0], "estimation": r["erm"] - r["opt"],
             "optimization": r["hat"] - r["erm"]}
    direct = population_risk(h_hat, params, pop[1]) - bayes[1]
    total = sum(terms.values())
    m = len(pop[0])
    return {"width": w, "n": n, "seed": seed, "params": sum(p.numel() for p in h_hat.parameters()),
            **{t: float(v.mean()) for t, v in terms.items()},
            **{f"{t}_se": float(v.std(ddof=1) / math.sqrt(m)) for t, v in terms.items()},
            "excess_sum": float(total.mean()), "excess_direct": float(direct.mean()),
            "closure_se": float(math.sqrt(total.var(ddof=1) / m + direct.var(ddof=1) / len(direct))),
            "bayes_risk": float(bayes[0].mean()), "train_loss_hat": fits[0].result.final["train_loss"],
            "train_loss_erm": min(f.result.final["train_loss"] for f in fits)}


def _report(cfg: Config, rows: list, out: Path, ds) -> dict:
    def per_seed(key, **match):
        return [np.mean([r[key] for r in rows if r["seed"] == s and all(r[k] == v for k, v in match.items())])
                for s in cfg.seeds]

    claims = []
    a = {w: per_seed("approximation", width=w, n=cfg.sizes[-1]) for w in cfg.widths}
    tau = float(stats.kendalltau(cfg.widths, [np.mean(v) for v in a.values()]).statistic)
    d = difference(a[cfg.widths[0]], a[cfg.widths[-1]], z=cfg.z)
    ok = None if d["significant"] is None else tau <= -0.6 and d["diff"] > 0 and d["significant"]
    claims.append(CLAIMS["approximation"].judge({"tau": round(tau, 3), "narrowest − widest": d, "by width (mean ± sd)":
                                                 {str(w): mean_sd(v) for w, v in a.items()}}, ok,
                                                None if ok is not None else "one seed: no spread"))
    e = {n: per_seed("estimation", n=n) for n in cfg.sizes}
    tau = float(stats.kendalltau(cfg.sizes, [np.mean(v) for v in e.values()]).statistic)
    d = difference(e[cfg.sizes[0]], e[cfg.sizes[-1]], z=cfg.z)
    ok = None if d["significant"] is None else tau == -1.0 and d["diff"] > 0 and d["significant"]
    claims.append(CLAIMS["estimation"].judge({"tau": round(tau, 3), "smallest − largest n": d, "by n (mean ± sd)":
                                              {str(n): mean_sd(v) for n, v in e.items()}}, ok,
                                             None if ok is not None else "one seed: no spread"))
    gaps = [abs(r["excess_sum"] - r["excess_direct"]) / r["closure_se"] for r in rows]
    bound = float(stats.norm.ppf(1 - 0.025 / len(rows)))  # Bonferroni over rows (they share the samples)
    claims.append(CLAIMS["closes"].judge({"max |sum − direct| / se": round(max(gaps), 3), "rows": len(rows),
                                          "Bonferroni bound": round(bound, 3)}, max(gaps) <= bound))
    fig = save(decomposition_figure(rows, cfg.widths, cfg.sizes, TERMS), out / "figures" / "risk_decomposition.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/risk_decomposition.png": "Excess cross-entropy risk R(ĥ) − R(g*) of one-hidden-layer ReLU students "
            "split into approximation (h_opt vs the teacher), estimation (empirical minimizer vs h_opt) and "
            "optimization error (SGD result vs empirical minimizer), one panel per training-set size, mean over "
            f"{len(cfg.seeds)} seeds; black: the excess risk measured directly on an independent population "
            "sample (± 2 se over seeds). The teacher has 16 hidden units."})


PRESET = Preset(name="risk-decomposition",
                title="The lecture's risk decomposition — approximation, estimation and optimization error",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.widths) * (c.restarts + len(c.sizes) * (1 + c.restarts)))
