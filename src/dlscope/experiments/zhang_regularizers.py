"""``zhang2017-regularizers`` — Zhang, Bengio, Hardt, Recht & Vinyals, "Understanding deep learning requires
rethinking generalization", ICLR 2017, §3 and Table 1 (Table 2 for dropout): "explicit regularization
may improve generalization performance, but is neither necessary nor by itself sufficient".

The five nets of Table 1 — the small Inception, the same without BatchNorm, the small AlexNet, MLP
3×512 and 1×512 — trained with and without data augmentation (random crop; on 1-D data a random
shift) and weight decay, on true labels and on random labels; plus the question of seed 004, "why is
dropout enough to avoid overfitting?", measured: a dropout-rate sweep (0, 0.25, 0.5) against the
generalization gap, and random labels with dropout. Every run is trained to ``target_train_acc``.

The paper (Table 1, CIFAR-10, test accuracy %): Inception 89.05 / 89.31 / 86.03 / 85.75 for (crop,
wd) = (yes, yes) / (yes, no) / (no, yes) / (no, no), random labels 9.78; w/o BatchNorm 83.00 / 82.00
(no crop; wd yes / no), random 10.12; AlexNet 81.22 / 79.66 / 77.36 / 76.07, random 9.86; MLP 3×512
53.35 / 52.39, random 10.48; MLP 1×512 50.39 / 50.51, random 10.61; every train accuracy ≥ 99.34.
§3: with weight decay Inception and the MLPs still fit random labels perfectly, AlexNet fails to
converge; InceptionV3 with dropout and weight decay fits ImageNet's random labels "extremely well if
not perfectly" (Table 2); turning every regularizer off costs ImageNet 18 points of top-1 (59.80 %),
removing BatchNorm costs CIFAR-10 "only 3∼4 %".

CPU default: mnist1d, 500 training examples, Inception at width 1/8 and AlexNet at 32 channels, a
constant step. Paper scale — ``--set scale=paper --device cuda``: every field still at its CPU
default takes the paper's value (CIFAR-10, full widths, AlexNet 64 channels with FC 384/192, the
0.95-per-epoch decay, bf16 + channels-last); the table then carries the paper's numbers beside the
measured ones. Differences that remain: dlscope trains on 32×32 images with pad-4 crops and flips
(the paper: 28×28 crops, so its AlexNet and MLPs have fewer input weights) and uses weight decay 5e-4
(the paper's coefficient is not restated in §3). Estimated wall time on one H100-class GPU: ≈ 30 min
(unmeasured: no GPU was lent to this task; Inception 1.6 GFLOP per image per step, ~22 runs to 99 %).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from .. import data as D
from ..report.figures import save
from ..report.figures.zhang_regularizers import dropout_figure, table1_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import difference

ARCHS = ("inception", "inception-nobn", "alexnet", "mlp-3x512", "mlp-1x512")
# Table 1 test accuracies (fractions) by (arch, labels, crop, weight decay)
PAPER = {("inception", "true", True, True): .8905, ("inception", "true", True, False): .8931,
         ("inception", "true", False, True): .8603, ("inception", "true", False, False): .8575,
         ("inception", "random", False, False): .0978, ("inception-nobn", "true", False, True): .8300,
         ("inception-nobn", "true", False, False): .8200, ("inception-nobn", "random", False, False): .1012,
         ("alexnet", "true", True, True): .8122, ("alexnet", "true", True, False): .7966,
         ("alexnet", "true", False, True): .7736, ("alexnet", "true", False, False): .7607,
         ("alexnet", "random", False, False): .0986, ("mlp-3x512", "true", False, True): .5335,
         ("mlp-3x512", "true", False, False): .5239, ("mlp-3x512", "random", False, False): .1048,
         ("mlp-1x512", "true", False, True): .5039, ("mlp-1x512", "true", False, False): .5051,
         ("mlp-1x512", "random", False, False): .1061}
# --set scale=paper: the paper's values for every field still at its CPU default
PAPER_SCALE = dict(data="cifar10", n_train=None, inception_width=1.0, alexnet_width=64, schedule="exponential",
                   max_epochs=150.0, eval_every_epochs=1.0)


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"              # the paper: CIFAR-10
    data_root: Optional[str] = None
    n_train: Optional[int] = 500       # stratified training subset (the paper: all 50 000)
    n_test: Optional[int] = None
    # model
    architectures: tuple[str, ...] = ARCHS  # Table 1's five nets
    inception_width: float = 0.125     # channel multiplier of the small Inception (the paper: 1)
    alexnet_width: int = 32            # AlexNet-small conv channels, FC 6w and 3w (the paper: 64, FC 384/192)
    mlp_width: int = 512               # MLP 1×w and 3×w (the paper: 512)
    # SGD (Zhang et al. 2017, Appendix A)
    lr: float = 0.01                   # AlexNet, MLPs and Inception w/o BN (the paper: 0.01 for AlexNet/MLPs)
    lr_inception: float = 0.1          # the Inception with BatchNorm (the paper: 0.1)
    momentum: float = 0.9
    weight_decay: float = 5e-4         # the coefficient when weight decay is on (off: 0)
    batch_size: int = 128
    schedule: str = "constant"         # the paper: exponential, ×0.95 per epoch
    max_epochs: float = 300            # budget per run
    eval_every_epochs: float = 2
    target_train_acc: float = 0.99     # "fit"
    amp_bf16: bool = False             # CUDA fast path (scale=paper turns these on with a CUDA device)
    channels_last: bool = False
    # measurement
    dropout_arch: str = "mlp-3x512"    # the net of the dropout sweep (MLPs and AlexNet have dropout)
    dropout_rates: tuple[float, ...] = (0.0, 0.25, 0.5)
    random_with_regularizers: bool = True  # random labels also with weight decay, and with the top dropout rate
    scale: str = "cpu"                 # cpu | paper (see the module docstring)
    # claim tolerances
    few_points: float = 0.10           # "a few points": |regularized − unregularized| test accuracy bound
    generalizes_margin: float = 0.2    # unregularized test accuracy − chance must exceed this
    random_fit_acc: float = 0.95       # random labels count as fitted "extremely well if not perfectly" (Table 2)
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        if self.scale not in ("cpu", "paper"):
            raise ValueError(f"scale must be cpu or paper, got {self.scale!r}")
        if self.scale == "paper":
            defaults = {f.name: f.default for f in dataclasses.fields(self)}
            cuda = str(self.device).startswith("cuda")
            for k, v in {**PAPER_SCALE, **({"amp_bf16": True, "channels_last": True} if cuda else {})}.items():
                if getattr(self, k) == defaults[k]:
                    object.__setattr__(self, k, v)
        check_config(self)
        bad = [a for a in (*self.architectures, self.dropout_arch) if a not in ARCHS]
        if bad or self.dropout_arch in ("inception", "inception-nobn"):
            raise ValueError(f"architectures must be among {', '.join(ARCHS)}; dropout_arch an MLP or alexnet")
        if any(not 0 <= p < 1 for p in self.dropout_rates) or 0.0 not in self.dropout_rates:
            raise ValueError("dropout_rates must lie in [0, 1) and include 0")
        recipe(self, seed=self.seeds[0], arch="inception", weight_decay=True, augment=True)


# --quick: the two MLPs only (the small Inception costs ≈ 22 ms a step on mnist1d whatever its width,
# overhead-bound: with it --quick took 76–88 s on a quiet 2-core machine; without the Inceptions the
# batchnorm claim is not evaluable), random labels without regularizers only.
QUICK = dict(n_train=200, n_test=500, architectures=("mlp-1x512", "mlp-3x512"), inception_width=0.0625,
             dropout_arch="mlp-1x512", dropout_rates=(0.0, 0.5), random_with_regularizers=False, max_epochs=250,
             eval_every_epochs=5, seeds=(0, 1))

CLAIMS = declare(
    fit=ClaimSpec("every net fits the true training labels with and without each regularizer",
                  "Zhang et al. 2017, Table 1 (train accuracy 99.8–100 %)",
                  "every true-label run reaches target_train_acc"),
    generalizes=ClaimSpec("with every regularizer off, every net still generalizes", "Zhang et al. 2017, Table 1 "
                          "(no crop, no weight decay: 50.5–85.8 % vs 10 % chance)", "per net: mean test accuracy − "
                          "chance ≥ generalizes_margin, beyond 2 se over seeds"),
    not_necessary=ClaimSpec("explicit regularizers change test accuracy by a few points only", "Zhang et al. 2017, "
                            "§3 and Table 1 (largest gain 5.2 points, AlexNet)", "per net: mean best regularized − "
                            "unregularized test accuracy ≤ few_points"),
    batchnorm=ClaimSpec("removing BatchNorm changes the Inception's test accuracy by a few points; it still fits true "
                        "and random labels", "Zhang et al. 2017, §3.1 ('only 3∼4 %') and Table 1",
                        "|mean acc(Inception) − acc(w/o BN)| ≤ few_points, both fit"),
    random_fit=ClaimSpec("regularizers do not prevent fitting random labels (weight decay: Inception and MLPs; "
                         "dropout) — AlexNet with weight decay is the paper's exception", "Zhang et al. 2017, §3 "
                         "and Table 2 ('extremely well if not perfectly')", "every random-label run reaches train "
                         "accuracy ≥ random_fit_acc, AlexNet + weight decay reported apart"),
    dropout=ClaimSpec("why is dropout enough? — it is not what makes the net generalize: dropout changes the "
                      "generalization gap by a few points at most", "seed 004, question (ii); Zhang et al. 2017, §3",
                      "|mean gap(top rate) − gap(0)| ≤ few_points (gap = train − test accuracy)"),
    finite=ClaimSpec("no run diverged", "experimental control", "every training loss finite", control=True),
)


def arch_kwargs(cfg: Config, arch: str, dropout: float = 0.0) -> tuple[str, dict]:
    w = cfg.alexnet_width
    return {"inception": ("inception-small", {"width": cfg.inception_width}),
            "inception-nobn": ("inception-small-nobn", {"width": cfg.inception_width}),
            "alexnet": ("cnn", {"channels": (w, w), "fc": (6 * w, 3 * w), "dropout": dropout}),
            "mlp-3x512": ("mlp", {"widths": (cfg.mlp_width,) * 3, "dropout": dropout}),
            "mlp-1x512": ("mlp", {"widths": (cfg.mlp_width,), "dropout": dropout})}[arch]


def recipe(cfg: Config, *, seed: int, arch: str = "alexnet", weight_decay: bool = False, augment: bool = False,
           **_) -> TrainConfig:
    return TrainConfig(max_epochs=cfg.max_epochs, eval_every_epochs=cfg.eval_every_epochs, batch_size=cfg.batch_size,
                       lr=cfg.lr_inception if arch == "inception" else cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay if weight_decay else 0.0, schedule=cfg.schedule, augment=augment,
                       target_train_acc=cfg.target_train_acc, amp_bf16=cfg.amp_bf16, channels_last=cfg.channels_last,
                       seed=seed, device=cfg.device)


def jobs(cfg: Config) -> list[tuple[str, str, bool, bool, float]]:
    """(arch, labels, crop, weight decay, dropout) of every run of one seed: Table 1, then the extras."""
    out = []
    for a in cfg.architectures:
        cols = [(True, True), (True, False), (False, True), (False, False)] if a in ("inception", "alexnet") \
            else [(False, True), (False, False)]
        out += [(a, "true", c, w, 0.0) for c, w in cols] + [(a, "random", False, False, 0.0)]
        if cfg.random_with_regularizers:
            out.append((a, "random", False, True, 0.0))
    out += [(cfg.dropout_arch, "true", False, False, p) for p in cfg.dropout_rates]
    if cfg.random_with_regularizers:
        out.append((cfg.dropout_arch, "random", False, False, max(cfg.dropout_rates)))
    return list(dict.fromkeys(out))


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    rows = []
    for seed in cfg.seeds:
        rnd = D.corrupt(ds, "random_labels", fraction=1.0, seed=seed)
        for arch, labels, crop, wd, p in jobs(cfg):
            model, kw = arch_kwargs(cfg, arch, p)
            tag = f"{'_crop' if crop else ''}{'_wd' if wd else ''}{f'_drop{p:g}' if p else ''}"
            name = f"{arch}_{labels}{tag}_seed{seed}"
            res = train_model(out, name, rnd if labels == "random" else ds, model, kw,
                              recipe(cfg, seed=seed, arch=arch, weight_decay=wd, augment=crop), progress).result
            rows.append({"arch": arch, "labels": labels, "crop": crop, "weight_decay": wd, "dropout": p, "seed": seed,
                         "fitted": res.steps_to_fit is not None, "epochs": res.final.get("epoch"),
                         "diverged": res.diverged, "train_acc": res.final["train_acc"],
                         "test_acc": res.final["test_acc"],
                         "gap": res.final["train_acc"] - res.final["test_acc"],
                         "paper_test_acc": PAPER.get((arch, labels, crop, wd)) if cfg.data == "cifar10" and not p
                         else None})
    return _report(cfg, ds, rows, out)


def _sel(rows, **m):
    return [r for r in rows if all(r[k] == v for k, v in m.items())]


def _acc(rows, seeds, **m) -> list:
    return [np.mean([r["test_acc"] for r in _sel(rows, seed=s, **m)]) for s in seeds]


def _report(cfg: Config, ds, rows: list, out: Path) -> dict:
    chance, claims = 1 / ds.num_classes, []
    true = _sel(rows, labels="true")
    claims.append(CLAIMS["fit"].judge({"runs": len(true), "not fitted": [
        f"{r['arch']} crop={r['crop']} wd={r['weight_decay']} dropout={r['dropout']:g} seed {r['seed']}"
        for r in true if not r["fitted"]]}, all(r["fitted"] for r in true)))
    gen, nec, gen_ok, nec_ok = {}, {}, True, True
    for a in cfg.architectures:
        base = _acc(rows, cfg.seeds, arch=a, labels="true", crop=False, weight_decay=False, dropout=0.0)
        d = difference(base, [chance] * len(base))
        gen[a] = {"test acc − chance": d["diff"], "se": d["se"]}
        gen_ok = gen_ok and (None if d["se"] is None else d["diff"] >= cfg.generalizes_margin and d["significant"])
        cols = {(r["crop"], r["weight_decay"]) for r in _sel(rows, arch=a, labels="true", dropout=0.0)}
        cols -= {(False, False)}
        best = max((_acc(rows, cfg.seeds, arch=a, labels="true", crop=c, weight_decay=w, dropout=0.0) for c, w in cols),
                   key=np.mean)
        nec[a] = difference(best, base)
        nec_ok = nec_ok and nec[a]["diff"] <= cfg.few_points
    claims.append(CLAIMS["generalizes"].judge(gen, gen_ok, None if gen_ok is not None else "one seed: no spread"))
    claims.append(CLAIMS["not_necessary"].judge({a: {"best − none": v["diff"], "se": v["se"]} for a, v in nec.items()},
                                                nec_ok))
    if {"inception", "inception-nobn"} <= set(cfg.architectures):
        m = dict(labels="true", crop=False, weight_decay=False, dropout=0.0)
        d = difference(_acc(rows, cfg.seeds, arch="inception", **m), _acc(rows, cfg.seeds, arch="inception-nobn", **m))
        fits = all(r["fitted"] for r in _sel(rows, arch="inception-nobn", weight_decay=False))
        claims.append(CLAIMS["batchnorm"].judge({"BN − no BN": d, "w/o BN fits true and random": fits},
                                                abs(d["diff"]) <= cfg.few_points and fits))
    else:
        claims.append(CLAIMS["batchnorm"].not_evaluable("needs the inception and inception-nobn architectures"))
    rnd = _sel(rows, labels="random")
    exc = [r for r in rnd if r["arch"] == "alexnet" and r["weight_decay"]]
    rest = [r for r in rnd if r not in exc]
    claims.append(CLAIMS["random_fit"].judge({
        "runs": len(rest), "lowest train accuracy": round(min(r["train_acc"] for r in rest), 4),
        "below random_fit_acc": [f"{r['arch']} wd={r['weight_decay']} dropout={r['dropout']:g} seed {r['seed']}"
                                 for r in rest if r["train_acc"] < cfg.random_fit_acc],
        "AlexNet + weight decay (paper: fails)": [round(r["train_acc"], 4) for r in exc]},
        all(r["train_acc"] >= cfg.random_fit_acc for r in rest)))
    top = max(cfg.dropout_rates)
    gap = {p: [_sel(rows, arch=cfg.dropout_arch, labels="true", crop=False, weight_decay=False, dropout=p,
                    seed=s)[0]["gap"] for s in cfg.seeds] for p in cfg.dropout_rates}
    d = difference(gap[top], gap[0.0])
    claims.append(CLAIMS["dropout"].judge({"gap(top) − gap(0)": d, "gap by rate (mean)": {
        f"{p:g}": round(float(np.mean(v)), 4) for p, v in gap.items()}}, abs(d["diff"]) <= cfg.few_points))
    claims.append(CLAIMS["finite"].judge({"diverged": sum(r["diverged"] for r in rows)},
                                         not any(r["diverged"] for r in rows)))
    figs = [save(table1_figure(rows, cfg.architectures, chance), out / "figures" / "table1.png"),
            save(dropout_figure(rows, cfg.dropout_arch, cfg.dropout_rates), out / "figures" / "dropout.png")]
    return preset_result(ds, claims, rows, figs, out, captions={
        "figures/table1.png": f"Zhang et al. 2017, Table 1 on {ds.name}: test accuracy (bars, mean ± sd over "
            f"{len(cfg.seeds)} seeds) and train accuracy (dots) of each net with and without crop/shift augmentation "
            "and weight decay, and on random labels; dashed: chance; crosses: the paper's CIFAR-10 test accuracy.",
        "figures/dropout.png": f"Seed 004's question (ii): {cfg.dropout_arch} with dropout rates "
            f"{', '.join(f'{p:g}' for p in cfg.dropout_rates)} — train and test accuracy and the generalization gap "
            "(mean ± sd over seeds), and the training accuracy reached on random labels with the top rate."})


PRESET = Preset(name="zhang2017-regularizers",
                title="Zhang et al. 2017, Table 1 — explicit regularizers are neither necessary nor sufficient; "
                      "why is dropout enough?",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(jobs(c)))
