"""``keskar2017-large-batch`` — Keskar, Mudigere, Nocedal, Smelyanskiy & Tang, "On large-batch
training for deep learning: generalization gap and sharp minima", ICLR 2017.

The same network trained from the same initialization with a small batch (SB) and a
large batch of ≈10% of the training set (LB), both to the same training cross-entropy.
Measured at each solution: λ_max of the training-loss Hessian (Lanczos), its trace
(Hutch++), Keskar et al.'s ε-sharpness (Metric 2.1), average/adaptive sharpness, and the
test accuracy; and the loss/accuracy along the line (1 − α) θ_SB + α θ_LB, α ∈ [−1, 2]
(their Figure 3). Claims (their Table 2 and §2.2): the LB solution is sharper — larger
λ_max and ε-sharpness — and generalizes worse (lower test accuracy).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import torch.nn.functional as F

from ..measure import classification_error, interpolate, sharpness_summary
from ..report import plots
from ..train import TrainConfig
from .base import Claim, Preset, Progress, register
from .common import check_common, load_dataset, mean_std, preset_result, size_kwargs, train_model


@dataclasses.dataclass(frozen=True)
class Config:
    data: str = "mnist1d"             # dataset (mnist, fashion-mnist, cifar10 from files)
    data_root: Optional[str] = None
    n_train: Optional[int] = None     # stratified training subset (None: all)
    n_test: Optional[int] = None
    model: str = "cnn"                # Keskar et al.'s C1 is a CNN; F1 (mlp) works too
    width: int = 32
    depth: int = 2
    lr: float = 0.05                  # same η for both (SGD + momentum; the paper used Adam)
    momentum: float = 0.9
    small_batch: int = 64             # SB (the paper: 256)
    large_fraction: float = 0.1       # LB = this fraction of the training set (the paper: 10%)
    target_train_loss: float = 0.02   # both trained to this training cross-entropy
    max_epochs: int = 300             # budget for each, in epochs
    curvature_examples: int = 1000    # training examples used for Hessian and sharpness measures
    keskar_eps: float = 1e-3          # ε of Metric 2.1 (the paper: 1e-3 and 5e-4)
    seeds: tuple[int, ...] = (0, 1)   # one SB/LB pair per seed; claims compare the means
    device: str = "cpu"

    def __post_init__(self):
        check_common(self)
        if not 0 < self.large_fraction <= 1:
            raise ValueError("large_fraction must lie in (0, 1]")

    def train_config(self, batch: int = 64, n: int = 4000, seed: int = 0) -> TrainConfig:
        spe = -(-n // batch)
        return TrainConfig(max_steps=self.max_epochs * spe, batch_size=batch, lr=self.lr, momentum=self.momentum,
                           eval_every=spe, target_train_loss=self.target_train_loss, seed=seed, device=self.device)


QUICK = dict(n_train=2000, n_test=1000, seeds=(0,), curvature_examples=500)


def run(cfg: Config, out: Path, progress: Progress | None = None) -> dict:
    ds = load_dataset(cfg, seed=cfg.seeds[0])
    large = max(1, round(cfg.large_fraction * ds.n_train))
    mkw = size_kwargs(cfg.model, cfg.width, cfg.depth)
    sub = (ds.x_train[: cfg.curvature_examples].to(cfg.device), ds.y_train[: cfg.curvature_examples].to(cfg.device))
    test = (ds.x_test.to(cfg.device), ds.y_test.to(cfg.device))
    rows, nets = [], {}
    for seed in cfg.seeds:
        for tag, batch in (("SB", cfg.small_batch), ("LB", large)):
            net, res = train_model(out, f"{tag}_seed{seed}", ds, cfg.model, mkw,
                                   cfg.train_config(batch, ds.n_train, seed), progress)
            s = sharpness_summary(net, F.cross_entropy, sub, seed=seed, keskar_eps=cfg.keskar_eps)
            rows.append({"run": f"{tag}_seed{seed}", "batch": batch, "seed": seed, "steps": res.steps,
                         "fitted": res.steps_to_fit is not None, "train_loss": res.final["train_loss"],
                         "test_acc": res.final["test_acc"], **{k: float(v.value[0] if k == "lambda_max" else v.value)
                                                             for k, v in s.items()},
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


def _report(cfg, ds, rows, line, out: Path, large: int) -> dict:
    def stat(tag, key):
        return mean_std([r[key] for r in rows if r["run"].startswith(tag)])

    claims = []
    for key, what in (("lambda_max", "λ_max of the Hessian"), ("keskar_sharpness", "ε-sharpness (Metric 2.1)")):
        sb, lb = stat("SB", key), stat("LB", key)
        claims.append(Claim(f"the large-batch solution has a larger {what}", "Keskar et al. 2017, Table 2 / §2.2",
                            "LB mean > SB mean", {"SB": sb, "LB": lb, "ratio": round(lb[0] / sb[0], 3)},
                            lb[0] > sb[0]))
    sb, lb = stat("SB", "test_acc"), stat("LB", "test_acc")
    claims.append(Claim("the large-batch solution has lower test accuracy (the generalization gap)",
                        "Keskar et al. 2017, Table 2", "LB mean < SB mean",
                        {"SB": sb, "LB": lb, "difference": round(sb[0] - lb[0], 4)}, lb[0] < sb[0]))
    unfit = [r["run"] for r in rows if not r["fitted"]]
    claims.append(Claim(f"both reach the same training loss ≤ {cfg.target_train_loss}", "experimental control",
                        "all runs reach the target", {r["run"]: round(r["train_loss"], 4) for r in rows}, not unfit))
    figs = [plots.save(plots.keskar_figure(rows, line, cfg.small_batch, large), out / "figures" / "keskar.png")]
    return preset_result(ds, claims, rows, figs, out, interpolation=line)


register(Preset(
    name="keskar2017-large-batch",
    title="Keskar et al. 2017 — large-batch training finds sharp minima that generalize worse",
    claims=("LB has larger λ_max", "LB has larger ε-sharpness", "LB has lower test accuracy"),
    Config=Config, quick=QUICK, run=run))
