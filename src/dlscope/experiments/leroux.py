"""``leroux-one-layer`` — the experiment Nicolas Le Roux proposes in a comment on Sébastien Bubeck's
post "Deep stuff about deep learning?" (2015; seed 004): "compare the decrease in training loss when
you optimize only one layer, keeping the others fixed. You'll see that doing this on any layer but the
last has almost no effect at all."

An MLP is trained with every layer for ``warm_steps`` (a partially trained net, where the loss can
still fall); from that same net, SGD continues for ``max_steps`` with only one layer trained
(``TrainConfig.train_only``; the others frozen, see :mod:`dlscope.train.subset`), once per layer,
and once with the whole net. Measured: the relative reduction of the full training loss,
r = (L_start − L_end) / L_start, per layer and for the whole net, over seeds. The claim asks every
layer but the last to reduce the loss by less than ``ratio`` × the last layer's reduction.

On MNIST: ``--set data=mnist width=512``.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Optional

from torch import nn

from ..report.figures import save
from ..report.figures.leroux import one_layer_figure
from ..train import TrainConfig, fit
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all)
    n_test: Optional[int] = None
    # model: an MLP, one "layer" = one Linear module (weights and bias)
    model: str = "mlp"
    width: int = 256
    depth: int = 3                    # hidden layers: depth + 1 trainable layers in all
    # SGD (the same recipe for the common start and every continuation)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    warm_steps: int = 60              # every layer trained this long first: the common, partially trained start
    max_steps: int = 2000             # the budget of each continuation (one layer, or the whole net)
    eval_every: int = 100
    # claim tolerances
    ratio: float = 0.25               # "almost no effect": a non-last layer's reduction below this × the last's
    seeds: tuple[int, ...] = (0, 1)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if self.model != "mlp":
            raise ValueError("leroux-one-layer trains an MLP (one layer = one Linear module); size it with width, depth")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=1000, n_test=500, width=64, depth=2, warm_steps=30, max_steps=300, eval_every=50)

CLAIMS = declare(
    last_only=ClaimSpec("continuing from the same net with one layer trained and the others fixed, only the last "
                        "layer reduces the training loss substantially; any other layer has almost no effect",
                        "N. Le Roux, comment of 20 March 2015 on Bubeck's \"Deep stuff about deep learning?\"",
                        "mean over seeds: every non-last layer's relative loss reduction < ratio × the last "
                        "layer's"),
    whole_net=ClaimSpec("training the whole net for the same budget reduces the loss at least as much as any "
                        "single layer", "experimental control", "mean reduction of the whole net ≥ every layer's",
                        control=True),
)


def recipe(cfg: Config, *, seed: int, train_only: tuple = (), warm: bool = False, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.warm_steps if warm else cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr,
                       momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       eval_every=min(cfg.eval_every, cfg.warm_steps) if warm else cfg.eval_every,
                       train_only=train_only, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    mkw = {"widths": (cfg.width,) * cfg.depth}
    rows, curves = [], {}
    for seed in cfg.seeds:
        start, _, res = train_model(out, f"start_seed{seed}", ds, "mlp", mkw, recipe(cfg, seed=seed, warm=True),
                                    progress)
        layers = [n for n, m in start.named_modules() if isinstance(m, nn.Linear)]
        l0 = res.final["train_loss"]
        for i, name in enumerate(layers + ["whole net"]):
            label = name if name == "whole net" else f"layer {i + 1}" + (" (last)" if i == len(layers) - 1 else "")
            only = () if name == "whole net" else (name,)
            net = copy.deepcopy(start)
            cb = (lambda s, t, k=label: progress(f"{k} (seed {seed})", s, t)) if progress else None
            tag = "whole" if name == "whole net" else f"layer{i + 1}"
            r = fit(net, ds, recipe(cfg, seed=seed, train_only=only), run_dir=out / "runs" / f"{tag}_seed{seed}",
                    progress=cb, extra_config={"start": f"runs/start_seed{seed}", "model_build": {"name": "mlp", **mkw}})
            trained = sum(p.numel() for n, p in net.named_parameters() if not only or n.startswith(name + "."))
            rows.append({"seed": seed, "trained": label, "module": name, "parameters trained": trained,
                         "start loss": round(l0, 5), "end loss": round(r.final["train_loss"], 5),
                         "reduction": round((l0 - r.final["train_loss"]) / l0, 5),
                         "end test acc": round(r.final["test_acc"], 4), "diverged": r.diverged})
            if seed == cfg.seeds[0]:
                curves[label] = ([m["step"] for m in r.metrics], [m["train_loss"] for m in r.metrics])
    return _report(cfg, ds, rows, curves, out)


def _report(cfg, ds, rows, curves, out: Path) -> dict:
    labels = list(dict.fromkeys(r["trained"] for r in rows))
    red = {}
    for lab in labels:
        m, se = mean_se([r["reduction"] for r in rows if r["trained"] == lab])
        red[lab] = {"mean": round(m, 4), "se": None if se is None else round(se, 4)}
    last = next(lab for lab in labels if lab.endswith("(last)"))
    others = [lab for lab in labels if lab not in (last, "whole net")]
    measured = {"reduction per layer (mean, se)": red,
                "largest non-last / last": round(max(red[o]["mean"] for o in others) / red[last]["mean"], 4)
                if red[last]["mean"] > 0 else None}
    if len(cfg.seeds) < 2 or any(r["diverged"] for r in rows):
        c1 = CLAIMS["last_only"].not_evaluable("needs ≥ 2 seeds and no diverged run", measured)
    else:
        c1 = CLAIMS["last_only"].judge(measured, red[last]["mean"] > 0
                                       and all(red[o]["mean"] < cfg.ratio * red[last]["mean"] for o in others))
    c2 = CLAIMS["whole_net"].judge({k: v["mean"] for k, v in red.items()},
                                   all(red["whole net"]["mean"] >= v["mean"] for v in red.values()))
    start = next(r["start loss"] for r in rows if r["seed"] == cfg.seeds[0])
    fig = save(one_layer_figure(curves, start, red), out / "figures" / "one_layer_at_a_time.png")
    return preset_result(ds, [c1, c2], rows, [fig], out, captions={
        "figures/one_layer_at_a_time.png": f"From the same partially trained MLP (every layer trained {cfg.warm_steps} "
                                           f"steps), SGD continues {cfg.max_steps} steps with one layer trained and "
                                           "the others frozen, or with the whole net (dashed). Left: training loss "
                                           "(seed 0). Right: relative reduction of the training loss, mean ± 2 se "
                                           "over seeds."})


PRESET = Preset(name="leroux-one-layer",
                title="Le Roux (comment on Bubeck 2015) — train one layer at a time: does only the last one matter?",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds) * (c.depth + 3))  # the start, each of the depth + 1 layers, the whole net
