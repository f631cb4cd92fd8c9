"""``garipov2018-mode-connectivity`` — Garipov, Izmailov, Podoprikhin, Vetrov & Wilson, "Loss
surfaces, mode connectivity, and fast ensembling of DNNs", NeurIPS 2018; Draxler, Veschgini,
Salmhofer & Hamprecht, "Essentially no barriers in neural network energy landscape", ICML 2018.

Two copies of a network trained from different seeds are joined by (i) the straight line,
(ii) a quadratic Bezier curve whose control point is trained on the expected loss along
the curve, and (iii) a nudged elastic band refined by AutoNEB. One barrier definition for
all paths and for loss and error: B = max_t [L(θ(t)) − ((1 − t) L(θ_0) + t L(θ_1))].
Claims: the straight line crosses a clear barrier; the trained curve and the NEB path have
a barrier near zero — the two minima lie in one connected low-loss valley.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import torch.nn.functional as F

from ..measure import classification_error, find_path, interpolate
from ..report import plots
from ..train import TrainConfig
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, preset_result, size_kwargs, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"
    data_root: Optional[str] = None
    n_train: Optional[int] = None
    n_test: Optional[int] = None
    model: str = "cnn"
    width: int = 32
    depth: int = 2
    lr: float = 0.05                   # SGD for the two end points
    momentum: float = 0.9
    batch_size: int = 64
    target_train_loss: float = 0.02    # both end points trained to this cross-entropy
    max_steps: int = 20000
    seeds: tuple[int, ...] = (0, 1)    # the two end points (init and batch order)
    curve_steps: int = 2000            # SGD steps training the Bezier control point (Garipov et al.: 600 epochs)
    curve_lr: float = 0.05
    neb_steps: int = 500               # NEB steps per AutoNEB cycle
    neb_pivots: int = 3                # initial interior pivots
    path_examples: Optional[int] = None  # training examples used to train/evaluate paths (None: all)
    clear_barrier: float = 0.1         # a linear loss barrier above this is "clear"
    near_zero: float = 0.05            # a curve loss barrier below this is "near zero" (cross-entropy)
    device: str = "cpu"

    def __post_init__(self):
        check_common(self)
        if len(self.seeds) != 2 or self.seeds[0] == self.seeds[1]:
            raise ValueError("seeds must be two different seeds (the two end points)")

    def train_config(self, seed: int = 0) -> TrainConfig:
        return TrainConfig(max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr, momentum=self.momentum,
                           eval_every=50, target_train_loss=self.target_train_loss, seed=seed, device=self.device)


QUICK = dict(n_train=2000, n_test=1000, curve_steps=800, neb_steps=300)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg)
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    ends, rows = [], []
    for seed in cfg.seeds:
        net, res = train_model(out, f"end_seed{seed}", ds, cfg.model, mkw, cfg.train_config(seed), progress)
        ends.append(net)
        rows.append({"path": f"end point seed {seed}", "train_loss": res.final["train_loss"],
                     "test_acc": res.final["test_acc"], "steps": res.steps})
    k = cfg.path_examples or ds.n_train
    train = (ds.x_train[:k].to(cfg.device), ds.y_train[:k].to(cfg.device))
    paths = {}
    lin = interpolate(ends[0], ends[1], F.cross_entropy, train, steps=41, error_fn=classification_error)
    paths["linear"] = (lin.extra["t"], lin.value, lin.extra["errors"], lin.extra["loss_barrier"],
                       lin.extra["error_barrier"])
    for method, kw in (("bezier", dict(steps=cfg.curve_steps, lr=cfg.curve_lr, num_bends=1)),
                       ("neb", dict(steps=cfg.neb_steps, num_bends=cfg.neb_pivots))):
        if progress:
            progress(f"path {method}", 0, 1)
        r = find_path(ends[0], ends[1], F.cross_entropy, train, method=method, error_fn=classification_error,
                      seed=cfg.seeds[0], **kw)
        paths[method] = (r.extra["t"], r.extra["losses"], r.extra["errors"], r.extra["loss_barrier"],
                         r.extra["error_barrier"])
        if progress:
            progress(f"path {method}", 1, 1)
    for name, (_, losses, _, lb, eb) in paths.items():
        rows.append({"path": name, "loss_barrier": float(lb), "error_barrier": float(eb),
                     "max_loss": float(max(losses))})
    b = {n: (float(p[3]), float(p[4])) for n, p in paths.items()}
    claims = [
        Claim("the straight line between two independently trained minima crosses a clear loss barrier",
              "Garipov et al. 2018, Fig. 1 (left); Draxler et al. 2018", f"linear loss barrier > {cfg.clear_barrier}",
              {"loss_barrier": round(b["linear"][0], 4), "error_barrier": round(b["linear"][1], 4)},
              b["linear"][0] > cfg.clear_barrier),
        Claim("a trained quadratic Bezier curve joins them with a barrier near zero", "Garipov et al. 2018, §3, Fig. 1",
              f"loss barrier < {cfg.near_zero}", {"loss_barrier": round(b["bezier"][0], 4),
                                                 "error_barrier": round(b["bezier"][1], 4)},
              b["bezier"][0] < cfg.near_zero),
        Claim("the nudged-elastic-band path has essentially no barrier", "Draxler et al. 2018, §4",
              f"loss barrier < {cfg.near_zero}", {"loss_barrier": round(b["neb"][0], 4),
                                                 "error_barrier": round(b["neb"][1], 4)},
              b["neb"][0] < cfg.near_zero),
    ]
    fig = plots.save(plots.paths_figure({n: (p[0], p[1], p[2]) for n, p in paths.items()}),
                     out / "figures" / "paths.png")
    return preset_result(ds, claims, rows, [fig], out)


register(Preset(
    name="garipov2018-mode-connectivity",
    title="Garipov et al. 2018 / Draxler et al. 2018 — minima are connected by low-loss paths",
    claims=("linear path has a clear barrier", "Bezier curve barrier ≈ 0", "NEB path barrier ≈ 0"),
    Config=Config, quick=QUICK, run=run))
