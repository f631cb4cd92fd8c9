"""``garipov2018-mode-connectivity`` — Garipov, Izmailov, Podoprikhin, Vetrov & Wilson, "Loss
surfaces, mode connectivity, and fast ensembling of DNNs", NeurIPS 2018; Draxler, Veschgini,
Salmhofer & Hamprecht, "Essentially no barriers in neural network energy landscape", ICML 2018.

Pairs of networks trained from different seeds are joined by (i) the straight line, (ii) a
quadratic Bezier curve whose control point is trained on the expected loss along the curve, and
(iii) a nudged elastic band refined by AutoNEB. One barrier definition for all paths and for loss
and error: B = max_t [L(θ(t)) − ((1 − t) L(θ_0) + t L(θ_1))]. Claims, over the pairs: the straight
line crosses a clear barrier (the training error rises well above the end points'); the trained
curve and the NEB path have a barrier near zero — absolutely, and next to the line's.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import torch.nn.functional as F

from ..measure import classification_error, find_path, interpolate
from ..report.figures import save
from ..report.figures.garipov2018 import paths_figure
from ..train import TrainConfig
from .base import Preset, Progress
from .claims import ClaimSpec, declare
from .recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from .stats import mean_se


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    # model
    model: str = "cnn"
    width: int = 32
    depth: int = 2
    # SGD for the end points
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    max_steps: int = 20000
    eval_every: int = 50
    target_train_loss: float = 0.02    # both end points trained to this cross-entropy
    # measurement: the paths
    curve_steps: int = 2000            # SGD steps training the Bezier control point (Garipov et al.: 600 epochs)
    curve_lr: float = 0.05
    neb_steps: int = 500               # NEB steps per AutoNEB cycle
    neb_pivots: int = 3                # initial interior pivots
    path_examples: Optional[int] = None  # training examples used to train/evaluate paths (None: all)
    # claim tolerances
    clear_error_barrier: float = 0.1   # the line's training-error barrier must exceed this (10 points)
    near_zero: float = 0.05            # a curve's loss barrier (cross-entropy) must stay below this …
    near_zero_fraction: float = 0.1    # … and below this fraction of the line's loss barrier
    seeds: tuple[int, ...] = (0, 1, 2, 3)  # consecutive seeds form the pairs of end points: (0, 1), (2, 3)
    device: str = "cpu"

    def __post_init__(self):
        check_config(self)
        if len(self.seeds) < 2 or len(self.seeds) % 2 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be an even number of different seeds (pairs of end points)")
        recipe(self, seed=self.seeds[0])


QUICK = dict(n_train=2000, n_test=1000, curve_steps=800, neb_steps=300, seeds=(0, 1))

CLAIMS = declare(
    linear=ClaimSpec("the straight line between two independently trained minima crosses a clear barrier",
                     "Garipov et al. 2018, Fig. 1 (left); Draxler et al. 2018, Fig. 1",
                     "mean training-error barrier of the line over pairs > clear_error_barrier"),
    bezier=ClaimSpec("a trained quadratic Bezier curve joins them with a loss barrier near zero",
                     "Garipov et al. 2018, §3 and Fig. 1 (middle)",
                     "mean curve loss barrier < near_zero and < near_zero_fraction × the line's"),
    neb=ClaimSpec("the nudged-elastic-band path has essentially no barrier", "Draxler et al. 2018, §4 and Fig. 3",
                  "mean NEB loss barrier < near_zero and < near_zero_fraction × the line's"),
    end_points=ClaimSpec("every end point reaches the target training loss", "experimental control",
                         "all end points fit", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       weight_decay=cfg.weight_decay, eval_every=cfg.eval_every,
                       target_train_loss=cfg.target_train_loss, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    k = cfg.path_examples or ds.n_train
    train = (ds.x_train[:k].to(cfg.device), ds.y_train[:k].to(cfg.device))
    ends, rows, paths = {}, [], {}
    for seed in cfg.seeds:
        net, _, res = train_model(out, f"end_seed{seed}", ds, cfg.model, mkw, recipe(cfg, seed=seed), progress)
        ends[seed] = net
        rows.append({"path": f"end point seed {seed}", "pair": None, "fitted": res.steps_to_fit is not None,
                     "train_loss": res.final["train_loss"], "test_acc": res.final["test_acc"], "steps": res.steps})
    for a, b in zip(cfg.seeds[::2], cfg.seeds[1::2]):
        pair = f"{a}-{b}"
        lin = interpolate(ends[a], ends[b], F.cross_entropy, train, steps=41, error_fn=classification_error)
        found = {"linear": (lin.extra["t"], lin.value, lin.extra["errors"], lin.extra["loss_barrier"],
                            lin.extra["error_barrier"])}
        for method, kw in (("bezier", dict(steps=cfg.curve_steps, lr=cfg.curve_lr, num_bends=1)),
                           ("neb", dict(steps=cfg.neb_steps, num_bends=cfg.neb_pivots))):
            if progress:
                progress(f"path {method} {pair}", 0, 1)
            r = find_path(ends[a], ends[b], F.cross_entropy, train, method=method, error_fn=classification_error,
                          seed=a, **kw)
            found[method] = (r.extra["t"], r.extra["losses"], r.extra["errors"], r.extra["loss_barrier"],
                             r.extra["error_barrier"])
            if progress:
                progress(f"path {method} {pair}", 1, 1)
        for name, (_, losses, _, lb, eb) in found.items():
            rows.append({"path": name, "pair": pair, "loss_barrier": float(lb), "error_barrier": float(eb),
                         "max_loss": float(max(losses))})
        paths.setdefault("first", found)
    return _report(cfg, ds, rows, paths["first"], out)


def _report(cfg, ds, rows, first_paths, out: Path) -> dict:
    ends = [r for r in rows if r["pair"] is None]
    fitted = all(r["fitted"] for r in ends)

    def stat(method, key):
        m, se = mean_se([r[key] for r in rows if r["path"] == method])
        return {"mean": round(m, 4), "se": None if se is None else round(se, 4)}

    line_loss, line_err = stat("linear", "loss_barrier"), stat("linear", "error_barrier")
    claims = []
    measured = {"error barrier": line_err, "loss barrier": line_loss}
    claims.append(CLAIMS["linear"].judge(measured, line_err["mean"] > cfg.clear_error_barrier) if fitted else
                  CLAIMS["linear"].not_evaluable("an end point did not reach the target loss", measured))
    for method in ("bezier", "neb"):
        b = stat(method, "loss_barrier")
        ok = b["mean"] < cfg.near_zero and b["mean"] < cfg.near_zero_fraction * line_loss["mean"]
        measured = {"loss barrier": b, "error barrier": stat(method, "error_barrier"), "line loss barrier": line_loss}
        claims.append(CLAIMS[method].judge(measured, ok) if fitted else
                      CLAIMS[method].not_evaluable("an end point did not reach the target loss", measured))
    claims.append(CLAIMS["end_points"].judge({r["path"]: round(r["train_loss"], 4) for r in ends}, fitted))
    fig = save(paths_figure({n: (p[0], p[1], p[2]) for n, p in first_paths.items()}), out / "figures" / "paths.png")
    return preset_result(ds, claims, rows, [fig], out, captions={
        "figures/paths.png": f"Training loss (left) and error (right) along the three paths between the first pair "
                             f"of minima (seeds {cfg.seeds[0]} and {cfg.seeds[1]}): the straight line rises far above "
                             "its end points, the trained Bezier curve and the NEB path stay flat."})


PRESET = Preset(name="garipov2018-mode-connectivity",
                title="Garipov et al. 2018 / Draxler et al. 2018 — minima are connected by low-loss paths",
                Config=Config, quick=QUICK, claims=CLAIMS, run=run,
                subruns=lambda c: len(c.seeds))
