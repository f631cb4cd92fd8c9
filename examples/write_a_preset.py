"""Write a preset: one experiment of the literature as a Config, QUICK, CLAIMS, recipe() and run().

    python examples/write_a_preset.py [OUT_DIR]

This file is a complete preset — Zhang et al. 2017's "random labels take longer to fit" on a
small synthetic problem — registered and run in place. To ship one with dlscope, put the same
module in src/dlscope/experiments/ (it is discovered by its ``PRESET``), its figures in
src/dlscope/report/figures/, and a test in tests/experiments/ (docs/architecture.md, "Conventions
of a preset"); then ``dlscope run toy-random-labels --quick`` runs it and ``--help`` lists its keys.
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Optional

from dlscope.data import corrupt
from dlscope.experiments import PRESETS, ClaimSpec, Preset, declare, discover, run_preset
from dlscope.experiments.recipe import check_config, load_dataset, preset_result, size_kwargs, train_model
from dlscope.experiments.stats import difference, mean_sd
from dlscope.report.figures import save, subplots
from dlscope.train import TrainConfig


@dataclasses.dataclass(frozen=True)
class Config:
    # data
    data: str = "gaussian-mixture"     # 4 Gaussian classes in R^20 (synthetic, generated from the seed)
    data_root: Optional[str] = None    # unused by synthetic data; kept for the recipe's field order
    n_train: Optional[int] = 400       # training examples (memorizing random labels needs n ≲ parameters)
    n_test: Optional[int] = 200        # test examples
    # model
    model: str = "mlp"                 # one hidden layer
    width: int = 32                    # hidden units (measured: random labels take ≈ 2× the steps of true ones)
    depth: int = 1                     # hidden layers
    # SGD (names as in TrainConfig)
    lr: float = 0.1                    # step size
    momentum: float = 0.9              # heavy ball, as in Zhang et al. 2017
    batch_size: int = 50               # examples per step
    max_steps: int = 4000              # budget per run, in SGD steps
    eval_every: int = 20               # steps between evaluations (the resolution of steps-to-fit)
    target_train_acc: float = 1.0      # "fit": every training label reproduced
    # claim tolerances
    z: float = 2.0                     # a difference counts beyond z standard errors over seeds
    seeds: tuple[int, ...] = (0, 1, 2)  # each seeds the data, the labels, the init and SGD
    device: str = "cpu"                # cpu | cuda

    def __post_init__(self):
        check_config(self)  # every field by type and range, before anything is written


QUICK = dict(seeds=(0, 1))

CLAIMS = declare(
    slower=ClaimSpec("random labels take longer to fit than true labels", "Zhang et al. 2017, Fig. 1a",
                     "mean over seeds of steps(random) − steps(true) > z standard errors"),
    fit=ClaimSpec("every run reaches 100 % training accuracy", "control", "all runs fitted", control=True),
)


def recipe(cfg: Config, *, seed: int, **_) -> TrainConfig:
    return TrainConfig(max_steps=cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr, momentum=cfg.momentum,
                       eval_every=cfg.eval_every, target_train_acc=cfg.target_train_acc, seed=seed, device=cfg.device)


def run(cfg: Config, out: Path, progress=None) -> dict:
    rows = []
    for seed in cfg.seeds:
        ds = load_dataset(cfg, seed=seed)
        for kind in ("true_labels", "random_labels"):
            res = train_model(out, f"{kind}_seed{seed}", corrupt(ds, kind, seed=seed), cfg.model,
                              size_kwargs(cfg.model, cfg.width, cfg.depth), recipe(cfg, seed=seed), progress).result
            rows.append({"run": f"{kind}_seed{seed}", "kind": kind, "seed": seed, "steps_to_fit": res.steps_to_fit,
                         "train_acc": res.final["train_acc"]})
    fitted = all(r["steps_to_fit"] is not None for r in rows)
    steps = {k: [r["steps_to_fit"] for r in rows if r["kind"] == k] for k in ("true_labels", "random_labels")}
    measured = {"steps true": mean_sd(steps["true_labels"]) if fitted else None,
                "steps random": mean_sd(steps["random_labels"]) if fitted else None}
    if not fitted:
        slower = CLAIMS["slower"].not_evaluable("a run did not fit within max_steps", measured)
    elif len(cfg.seeds) < 2:
        slower = CLAIMS["slower"].not_evaluable("one seed: no spread to judge a difference by", measured)
    else:
        d = difference(steps["random_labels"], steps["true_labels"], z=cfg.z)
        slower = CLAIMS["slower"].judge({**measured, "difference": d}, d["significant"] and d["diff"] > 0)
    claims = [slower, CLAIMS["fit"].judge({r["run"]: r["steps_to_fit"] for r in rows}, fitted)]
    fig, ax = subplots(figsize=(5, 3.2))
    for i, k in enumerate(steps):
        ax.scatter([i] * len(steps[k]), [s if s is not None else cfg.max_steps for s in steps[k]])
    ax.set(xticks=[0, 1], xticklabels=["true labels", "random labels"], ylabel="SGD steps to 100 % train acc")
    path = save(fig, out / "figures" / "steps.png")
    return preset_result(ds, claims, rows, [path], out, captions={
        "figures/steps.png": "Steps to fit each run (one dot per seed): random labels should sit higher."})


PRESET = Preset(name="toy-random-labels", title="Random labels take longer to fit (a toy preset)", Config=Config,
                quick=QUICK, claims=CLAIMS, run=run)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="dlscope-preset-"))
    discover()
    PRESETS[PRESET.name] = PRESET  # what discovery does for a module in src/dlscope/experiments/
    summary = run_preset(PRESET.name, quick=True, out=out)
    for c in summary["claims"]:
        print(f"[{c['status']}] {c['claim']} — measured {c['measured']}")
    print(f"report: {out / 'report.html'}")
