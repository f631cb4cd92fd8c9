"""``he2016-plain-vs-residual`` — He, Zhang, Ren & Sun, "Deep residual learning for image recognition",
CVPR 2016 (the seed talk's "Deeper networks" and "Training deep plain nets vs deep residual nets").

The degradation problem (He et al. Fig. 1 and Fig. 6, CIFAR-10): a deeper *plain* net has a higher
*training* error than a shallower one trained the same way — not overfitting, an optimization
failure — while residual nets of the same depths (h(x) = x + F(x)) do not degrade and win at depth.
Here: dlscope's CIFAR-style ResNets of depth 6n+2 (``resnet``: 3 stages of n basic blocks, option-B
projections), plain (``residual=False``) and residual, with BatchNorm (He et al.) and without it
(``norm="none"``: the residual branches start at zero, Fixup-style), every net trained by the same SGD
recipe and budget, ≥ 2 seeds (mean ± sd). On CPU: mnist1d and depths 8–44; mnist1d nets eventually
fit every training example, so the budget is a few epochs — the claims are "at the same budget", as
He et al. state them.

Paper scale (a GPU): ``dlscope run he2016-plain-vs-residual --set data=cifar10 --set depths=20,32,44,56,110
--set norms=batch --set lr=0.1 --set weight_decay=1e-4 --set schedule=multistep --set max_steps=64000
--set eval_every=1000 --set seeds=0,1,2 --device cuda`` (He et al. §4.2: batch 128, η = 0.1 divided by 10
at 32k and 48k of 64k steps, weight decay 1e-4, momentum 0.9; their augmentation is ``augment``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from ..report.figures import save
from ..report.figures.he2016 import degradation_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import difference, mean_sd

NORMS = {"batch": "bn", "none": "nobn"}


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # mnist1d embedded; cifar10 for the paper's experiment
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model
    depths: tuple[int, ...] = (8, 20, 32, 44)  # ResNet depths 6n+2 (He et al.: 20, 32, 44, 56, 110)
    norms: tuple[str, ...] = ("batch", "none")  # with BatchNorm (He et al.) and without
    width: int = 1                     # channel multiplier (16, 32, 64 channels per stage)
    # SGD (He et al. §4.2: η = 0.1, momentum 0.9, weight decay 1e-4, batch 128)
    lr: float = 0.05                   # 0.1 diverges in the first steps of the deep plain nets without BN on mnist1d
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 128
    schedule: str = "cosine"           # He et al.: ÷10 at 50% and 75% of the budget (set multistep + milestones)
    max_steps: int = 600               # ≈ 19 epochs of mnist1d: before the shallow nets fit every example
    eval_every: int = 50               # training-error curves (He et al. Fig. 6)
    # claim tolerances
    z: float = 2.0                     # a difference counts beyond z standard errors (paired over seeds)
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if any((d - 2) % 6 or d < 8 for d in self.depths) or list(self.depths) != sorted(set(self.depths)):
            raise ValueError("depths must be increasing values 6n+2 (8, 14, 20, 26, 32, 44, 56, 110, ...)")
        if len(self.depths) < 2 or any(n not in NORMS for n in self.norms):
            raise ValueError(f"at least two depths; norms among {list(NORMS)}")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, depths=(8, 20), norms=("batch",), max_steps=120, eval_every=60)


def _claims():
    specs = {}
    for norm, tag in NORMS.items():
        what = "with BatchNorm" if norm == "batch" else "without normalization"
        specs[f"degradation_{tag}"] = ClaimSpec(
            f"{what}: the deepest plain net has a higher training error than the shallowest plain net at the same "
            "budget (degradation)", "He et al. 2016, Fig. 1 and Fig. 6 (left)",
            "paired difference of final training errors > z standard errors")
        specs[f"no_degradation_{tag}"] = ClaimSpec(
            f"{what}: residual nets do not degrade — training error does not increase with depth within noise",
            "He et al. 2016, Fig. 6 (middle)", "no step to a deeper depth raises the mean training error beyond z se")
        specs[f"residual_wins_{tag}"] = ClaimSpec(
            f"{what}: at the deepest depth the residual net has a lower test error than the plain net",
            "He et al. 2016, Table 6 and Fig. 6", "paired difference (plain − residual) > z standard errors")
    return declare(**specs)


CLAIMS = _claims()


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, schedule=cfg.schedule, eval_every=cfg.eval_every, seed=seed,
                       device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    rows, curves = [], {}
    for norm in cfg.norms:
        for depth in cfg.depths:
            for kind in ("plain", "residual"):
                for seed in cfg.seeds:
                    name = f"{kind}{depth}_{norm}_seed{seed}"
                    _, _, res = train_model(out, name, ds, "resnet", {"depth": depth, "residual": kind == "residual",
                                                                      "norm": norm, "width": cfg.width},
                                            recipe(cfg, seed=seed), progress)
                    rows.append({"norm": norm, "depth": depth, "net": kind, "seed": seed,
                                 "train_error": 1 - res.final["train_acc"], "test_error": 1 - res.final["test_acc"],
                                 "train_loss": res.final["train_loss"], "diverged": res.diverged})
                    curves[(norm, kind, depth, seed)] = [(m["step"], 1 - m["train_acc"]) for m in res.metrics]
    return _report(cfg, ds, rows, curves, out)


def _errors(rows, norm, kind, depth, key="train_error"):
    return [r[key] for r in sorted(rows, key=lambda r: r["seed"])
            if r["norm"] == norm and r["net"] == kind and r["depth"] == depth]


def _report(cfg, ds, rows, curves, out: Path) -> dict:
    claims, lo, hi = [], cfg.depths[0], cfg.depths[-1]
    for norm, tag in NORMS.items():
        keys = [f"degradation_{tag}", f"no_degradation_{tag}", f"residual_wins_{tag}"]
        if norm not in cfg.norms:
            claims += [CLAIMS[k].not_evaluable(f"norm={norm!r} was not run (norms={list(cfg.norms)})") for k in keys]
            continue
        if any(r["diverged"] for r in rows if r["norm"] == norm):
            claims += [CLAIMS[k].not_evaluable("a run diverged") for k in keys]
            continue
        if len(cfg.seeds) < 2:
            claims += [CLAIMS[k].not_evaluable("one seed: no spread to judge a difference by") for k in keys]
            continue
        d = difference(_errors(rows, norm, "plain", hi), _errors(rows, norm, "plain", lo), z=cfg.z)
        claims.append(CLAIMS[keys[0]].judge({"plain train error": {dd: mean_sd(_errors(rows, norm, "plain", dd))
                                                                   for dd in (lo, hi)}, f"{hi} − {lo}": d},
                                            d["significant"] and d["diff"] > 0))
        steps = [difference(_errors(rows, norm, "residual", b), _errors(rows, norm, "residual", a), z=cfg.z)
                 for a, b in zip(cfg.depths, cfg.depths[1:])]
        rises = [f"{a}→{b}" for (a, b), s in zip(zip(cfg.depths, cfg.depths[1:]), steps)
                 if s["significant"] and s["diff"] > 0]
        claims.append(CLAIMS[keys[1]].judge({"residual train error": {dd: mean_sd(_errors(rows, norm, "residual", dd))
                                                                      for dd in cfg.depths},
                                             "significant rises": rises}, not rises))
        w = difference(_errors(rows, norm, "plain", hi, "test_error"), _errors(rows, norm, "residual", hi, "test_error"),
                       z=cfg.z)
        claims.append(CLAIMS[keys[2]].judge({"test error at depth " + str(hi): {
            k: mean_sd(_errors(rows, norm, k, hi, "test_error")) for k in ("plain", "residual")}, "plain − residual": w},
            w["significant"] and w["diff"] > 0))
    fig = save(degradation_figure(rows, curves), out / "figures" / "degradation.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/degradation.png": "Top: training error along SGD (mean over seeds; thin: plain, thick: residual; "
                                   "one colour per depth), as in He et al.'s Fig. 6. Bottom: final training and test "
                                   "error against depth, mean ± sd over seeds — plain nets degrade with depth, "
                                   "residual nets do not. Columns: with BatchNorm, without normalization."})


PRESET = Preset(name="he2016-plain-vs-residual",
                title="He et al. 2016 — the degradation problem: deeper plain nets train worse, residual nets do not",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 2 * len(c.norms) * len(c.depths) * len(c.seeds))
