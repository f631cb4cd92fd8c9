"""``bubeck-recipe`` — the classic recipe of Sébastien Bubeck's post "Deep stuff about deep learning?"
(2015; seed 004), after Krizhevsky, Sutskever & Hinton 2012: a convolutional net with ReLU
non-linearities and max-pooling, dropout in the fully connected layers, data augmentation by
translations, and SGD whose rate is divided by 10 when the training error plateaus.

The recipe against the same net without one ingredient at a time (same seeds, same budget): a
constant rate (no ÷10), no dropout, no augmentation, average instead of max pooling, tanh instead
of ReLU. Measured: the final test accuracy; each claim is the paired difference over seeds (recipe
− ablation), held when it exceeds z standard errors in the direction the literature reports:

* ÷10 on a plateau: Krizhevsky et al. 2012 §5 (the error falls after each division; He et al. 2016,
  Fig. 1, the same with milestones);
* dropout: Hinton et al. 2012; Srivastava et al. 2014, Fig. 4 (lower test error at equal architecture);
* translations: Krizhevsky et al. 2012 §4.1 ("without this scheme, our network suffers from
  substantial overfitting");
* max-pooling: Scherer, Müller & Behnke 2010 (max-pooling beats subsampling / averaging);
* ReLU: Krizhevsky et al. 2012 §3.1 and Fig. 1 (faster training than tanh, so better at a fixed budget).

The plateau rule (:func:`dlscope.train.plateau_drops`): the training loss, evaluated once per epoch,
has not improved by ``plateau_tol`` (relative) for ``plateau_patience`` epochs. Translations on
mnist1d: :mod:`dlscope.train.augment` shifts each signal by up to 4 positions.

On images (crops and flips): ``--set data=cifar10 width=64 max_epochs=100 --device cuda``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from ..report.figures import save
from ..report.figures.bubeck import recipe_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import difference, mean_sd

# ablation -> (what it changes in the model, what it changes in the SGD recipe)
VARIANTS = {"recipe": ({}, {}), "constant_lr": ({}, {"schedule": "constant"}),
            "no_dropout": ({"dropout": 0.0}, {}), "no_augmentation": ({}, {"augment": False}),
            "avg_pool": ({"pool": "avg"}, {}), "tanh": ({"activation": "tanh"}, {})}
SOURCES = {"constant_lr": "Krizhevsky et al. 2012, §5; He et al. 2016, Fig. 1",
           "no_dropout": "Hinton et al. 2012; Srivastava et al. 2014, Fig. 4",
           "no_augmentation": "Krizhevsky et al. 2012, §4.1",
           "avg_pool": "Scherer, Müller & Behnke 2010", "tanh": "Krizhevsky et al. 2012, §3.1 and Fig. 1"}
WHAT = {"constant_lr": "dividing the rate by 10 on a training plateau", "no_dropout": "dropout",
        "no_augmentation": "augmentation by translations", "avg_pool": "max-pooling (instead of average pooling)",
        "tanh": "ReLU (instead of tanh)"}


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files; crops and flips on images)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all)
    n_test: Optional[int] = None
    # model: the AlexNet-style CNN (conv–ReLU–max-pool blocks, two hidden FC layers)
    model: str = "cnn"
    width: int = 32                   # conv channels; FC layers 8·width and 4·width
    depth: int = 2
    dropout: float = 0.5              # in the FC layers (Hinton et al. 2012: ½)
    # SGD
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    schedule: str = "plateau"         # ÷ plateau_factor when the training loss plateaus
    plateau_factor: float = 10.0
    plateau_patience: int = 5         # epochs (evaluation points) without improvement
    plateau_tol: float = 0.01         # relative improvement that counts
    max_epochs: int = 60
    eval_every_epochs: float = 1.0
    augment: bool = True              # random shifts by up to 4 positions (1-D); crops and flips (images)
    # ablations
    variants: tuple[str, ...] = tuple(VARIANTS)
    # claim tolerances
    z: float = 2.0                    # a paired difference counts beyond z standard errors
    seeds: tuple[int, ...] = (0, 1, 2)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.model != "cnn":
            raise ValueError("bubeck-recipe ablates the CNN's ReLU and max-pooling; model must be cnn")
        if "recipe" not in self.variants or not set(self.variants) <= set(VARIANTS):
            raise ValueError(f"variants must include 'recipe' and be among {', '.join(VARIANTS)}")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=500, width=16, max_epochs=30, seeds=(0, 1))

CLAIMS = declare(**{name: ClaimSpec(f"{WHAT[name]} raises the final test accuracy", SOURCES[name],
                                    f"mean over seeds of acc(recipe) − acc({name}) > z standard errors")
                    for name in SOURCES},
                 finished=ClaimSpec("every run trained its whole budget without diverging", "experimental control",
                                    "no diverged run", control=True))


def recipe(cfg: Config, *, seed: int, variant: str = "recipe", **_) -> TrainConfig:
    tc = dict(max_epochs=cfg.max_epochs, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
              weight_decay=cfg.weight_decay, schedule=cfg.schedule, plateau_factor=cfg.plateau_factor,
              plateau_patience=cfg.plateau_patience, plateau_tol=cfg.plateau_tol,
              eval_every_epochs=cfg.eval_every_epochs, augment=cfg.augment, seed=seed, device=cfg.device)
    return TrainConfig(**{**tc, **VARIANTS[variant][1]})


def model_kwargs(cfg: Config, variant: str) -> dict:
    kw = {"channels": (cfg.width,) * cfg.depth, "fc": (8 * cfg.width, 4 * cfg.width), "dropout": cfg.dropout}
    return {**kw, **VARIANTS[variant][0]}


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    rows, curves = [], {}
    for seed in cfg.seeds:
        for v in cfg.variants:
            _, _, res = train_model(out, f"{v}_seed{seed}", ds, "cnn", model_kwargs(cfg, v), recipe(cfg, seed=seed,
                                                                                                   variant=v), progress)
            rows.append({"variant": v, "seed": seed, "test_acc": res.final["test_acc"],
                         "train_acc": res.final["train_acc"], "train_loss": res.final["train_loss"],
                         "final_lr": res.final["lr"], "rate_drops": sum(1 for a, b in zip(res.metrics, res.metrics[1:])
                                                                         if b["lr"] < a["lr"]),
                         "diverged": res.diverged})
            if seed == cfg.seeds[0] and v in ("recipe", "constant_lr"):
                curves[v] = {k: [m[k] for m in res.metrics] for k in ("epoch", "test_acc", "lr")}
    return _report(cfg, ds, rows, curves, out)


def _report(cfg, ds, rows, curves, out: Path) -> dict:
    acc = {v: {r["seed"]: r["test_acc"] for r in rows if r["variant"] == v} for v in cfg.variants}
    diverged = any(r["diverged"] for r in rows)
    claims = []
    for name in SOURCES:
        if name not in cfg.variants:
            claims.append(CLAIMS[name].not_evaluable(f"the ablation {name!r} was not run (variants)"))
            continue
        d = difference([acc["recipe"][s] for s in cfg.seeds], [acc[name][s] for s in cfg.seeds], z=cfg.z)
        measured = {"recipe": mean_sd(acc["recipe"].values()), name: mean_sd(acc[name].values()), "difference": d}
        no_drop = name == "constant_lr" and not any(r["rate_drops"] for r in rows if r["variant"] == "recipe")
        if d["significant"] is None or diverged or no_drop:
            claims.append(CLAIMS[name].not_evaluable("the recipe's rate was never divided within the budget" if no_drop
                                                     else "needs ≥ 2 seeds and no diverged run", measured))
        else:
            claims.append(CLAIMS[name].judge(measured, d["significant"] and d["diff"] > 0))
    claims.append(CLAIMS["finished"].judge({f"{r['variant']} seed {r['seed']}": r["diverged"] for r in rows}, not diverged))
    fig = save(recipe_figure(rows, curves), out / "figures" / "recipe_ablations.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/recipe_ablations.png": "Left: final test accuracy of the classic recipe (blue) and of the recipe "
                                        "without one ingredient (grey), seeds as dots. Right: test accuracy (solid) "
                                        "and learning rate (dotted) along training of the recipe and of its "
                                        "constant-rate twin (first seed)."})


PRESET = Preset(name="bubeck-recipe",
                title="Bubeck 2015 — the classic recipe (ReLU, max-pooling, dropout, translations, ÷10 on a plateau) "
                      "and what each ingredient buys",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * len(c.variants))
