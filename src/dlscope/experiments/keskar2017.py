"""``keskar2017-large-batch`` — Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, "On large-batch
training for deep learning: generalization gap and sharp minima", ICLR 2017.

The same network trained from the same initialization with a small batch (SB) and a large batch
of ≈ 10 % of the training set (LB), both to the same training cross-entropy, for each seed.
Measured at each solution: Keskar et al.'s ε-sharpness (Metric 2.1, their Table 2), λ_max of the
training-loss Hessian (Lanczos; the "large positive eigenvalues" of their §2.1, measured as
λ_max by Yao et al. 2018), its trace (Hutch++), average/adaptive sharpness, the test accuracy,
and the loss/accuracy along (1 − α) θ_SB + α θ_LB, α ∈ [−1, 2] (their Figure 3). Claims are
paired differences over seeds that must exceed two standard errors; with one seed they are not
evaluable.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional

import torch.nn.functional as F

from ..measure import classification_error, interpolate, sharpness_summary
from ..report.figures import save
from ..report.figures.keskar2017 import keskar_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import difference, mean_sd


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all)
    n_test: Optional[int] = None
    # model
    model: str = "cnn"                # Keskar et al.'s C1 is a CNN; F1 (mlp) works too
    width: int = 32
    depth: int = 2
    # SGD (the same η for both batch sizes; the paper used Adam)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64              # SB (the paper: 256)
    large_fraction: float = 0.1       # LB = this fraction of the training set (the paper: 10 %)
    max_epochs: int = 300             # budget for each, in epochs (evaluated every epoch)
    target_train_loss: float = 0.02   # both trained to this training cross-entropy
    # measurement
    curvature_examples: int = 1000    # training examples used for Hessian and sharpness measures
    keskar_eps: float = 1e-3          # ε of Metric 2.1 (the paper: 1e-3 and 5e-4)
    # claim tolerances
    z: float = 2.0                    # a paired difference counts beyond z standard errors
    seeds: tuple[int, ...] = (0, 1, 2)  # one SB/LB pair per seed
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if not 0 < self.large_fraction <= 1:
            raise ValueError("large_fraction must lie in (0, 1]")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=1000, seeds=(0, 1), curvature_examples=500)

CLAIMS = declare(
    sharpness=ClaimSpec("the large-batch solution is sharper: larger ε-sharpness (Metric 2.1)",
                        "Keskar et al. 2017, Table 2", "mean over seeds of log(LB/SB) > z standard errors"),
    lambda_max=ClaimSpec("the large-batch solution has a larger top Hessian eigenvalue λ_max",
                         "Keskar et al. 2017, §2.1 (large positive eigenvalues); Yao et al. 2018, Fig. 1",
                         "mean over seeds of log(LB/SB) > z standard errors"),
    generalization=ClaimSpec("the large-batch solution has lower test accuracy (the generalization gap)",
                             "Keskar et al. 2017, Table 2", "mean over seeds of SB − LB > z standard errors"),
    same_loss=ClaimSpec("both batch sizes reach the same training loss", "experimental control",
                        "every run reaches target_train_loss", control=True),
)


def recipe(cfg: Config, *, seed: int, batch_size: int | None = None, **_) -> TrainConfig:
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=1, batch_size=batch_size or cfg.batch_size,
                       lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       target_train_loss=cfg.target_train_loss, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    large = max(1, round(cfg.large_fraction * ds.n_train))
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    sub = (ds.x_train[: cfg.curvature_examples].to(cfg.device), ds.y_train[: cfg.curvature_examples].to(cfg.device))
    test = (ds.x_test.to(cfg.device), ds.y_test.to(cfg.device))
    rows, nets = [], {}
    for seed in cfg.seeds:
        for tag, batch in (("SB", cfg.batch_size), ("LB", large)):
            net, _, res = train_model(out, f"{tag}_seed{seed}", ds, cfg.model, mkw,
                                      recipe(cfg, seed=seed, batch_size=batch), progress)
            s = sharpness_summary(net, F.cross_entropy, sub, seed=seed, keskar_eps=cfg.keskar_eps)
            rows.append({"run": f"{tag}_seed{seed}", "tag": tag, "batch": batch, "seed": seed, "steps": res.steps,
                         "fitted": res.steps_to_fit is not None, "train_loss": res.final["train_loss"],
                         "test_acc": res.final["test_acc"],
                         **{k: float(v.value[0] if k == "lambda_max" else v.value) for k, v in s.items()},
                         "trace_stderr": float(s["trace"].stderr)})
            nets[(tag, seed)] = net
    seed0 = cfg.seeds[0]
    line = {}
    for split, d in (("train", sub), ("test", test)):
        r = interpolate(nets[("SB", seed0)], nets[("LB", seed0)], F.cross_entropy, d, steps=31, span=(-1.0, 2.0),
                        error_fn=classification_error)
        line[split] = {"alpha": list(r.extra["t"]), "loss": [float(v) for v in r.value],
                       "acc": [1 - float(e) for e in r.extra["errors"]]}
    return _report(cfg, ds, rows, line, out, large)


def _paired(cfg, rows, key, log=False):
    sb = {r["seed"]: r[key] for r in rows if r["tag"] == "SB"}
    lb = {r["seed"]: r[key] for r in rows if r["tag"] == "LB"}
    a = [math.log(lb[s]) if log else sb[s] for s in cfg.seeds]
    b = [math.log(sb[s]) if log else lb[s] for s in cfg.seeds]
    return {"SB (mean ± sd)": mean_sd(sb.values()), "LB (mean ± sd)": mean_sd(lb.values()),
            ("log LB/SB" if log else "SB − LB"): difference(a, b, z=cfg.z)}


def _judge(spec, measured, key_diff, ok_unfit):
    d = measured[key_diff]
    if not ok_unfit:
        return spec.not_evaluable("a run did not reach the target loss", measured)
    if d["significant"] is None:
        return spec.not_evaluable("one seed: no spread to judge a difference against", measured)
    return spec.judge(measured, d["significant"] and d["diff"] > 0)


def _report(cfg, ds, rows, line, out: Path, large: int) -> dict:
    fitted = all(r["fitted"] for r in rows)
    positive = all(r["keskar_sharpness"] > 0 and r["lambda_max"] > 0 for r in rows)
    claims = [
        _judge(CLAIMS["sharpness"], _paired(cfg, rows, "keskar_sharpness", log=True), "log LB/SB",
               fitted and positive),
        _judge(CLAIMS["lambda_max"], _paired(cfg, rows, "lambda_max", log=True), "log LB/SB", fitted and positive),
        _judge(CLAIMS["generalization"], _paired(cfg, rows, "test_acc"), "SB − LB", fitted),
        CLAIMS["same_loss"].judge({r["run"]: round(r["train_loss"], 4) for r in rows}, fitted),
    ]
    figs = [save(keskar_figure(rows, line, cfg.batch_size, large), out / "figures" / "keskar.png")]
    return preset_result(ds, claims, rows, figs, out, interpolation=line, captions={
        "figures/keskar.png": "Left: training (solid) and test (dashed) loss and accuracy along the line from the "
                              "small-batch (α = 0) to the large-batch (α = 1) solution (Keskar et al.'s Fig. 3); "
                              "right: λ_max and ε-sharpness of each solution (dots: seeds)."})


PRESET = Preset(name="keskar2017-large-batch",
                title="Keskar et al. 2017 — large-batch training finds sharp minima that generalize worse",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: 2 * len(c.seeds))
