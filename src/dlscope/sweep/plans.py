"""Seeds (and shape-keeping hyperparameters) as a batch dimension: a group of sweep tasks whose nets are
trained as vmapped replicas (:func:`~dlscope.train.fit_replicas`) before each task's preset runs.

A **plan** lists the nets one task's preset trains (through ``recipe.train_model``), in the order it
trains them: run name, dataset, model and build options, TrainConfig. Tasks that differ only in
their seed or in :data:`REPLICA_KEYS` (η, momentum, weight decay: they keep every shape) have plans
that agree slot by slot; slot j of every task is trained as one vmapped model into the run folder
the preset will use (``OUT/runs/<name>``), with the initialization ``train_model`` draws
(``torch.manual_seed(seed)`` then ``models.build``) and the run record ``fit`` writes. Each preset
then finds its nets trained (``fit`` returns a finished run) and only measures and judges. A slot
that cannot be vmapped (``check_replicas`` refuses it, e.g. batch norm) is left to the presets, with
a note. Plans exist for the presets below; the tests check that a task's preset trains nothing
beyond its plan. Replicas equal the separate runs up to float rounding, not bit for bit.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from .. import data as D
from .. import models
from ..experiments import get, keskar2017, make_config, zhang2017
from ..experiments.recipe import load_dataset, size_kwargs
from ..train import TrainConfig, check_replicas, fit_replicas

__all__ = ["PLANS", "REPLICA_KEYS", "SubRun", "plan", "train_group", "HEADLINE"]

REPLICA_KEYS = ("lr", "momentum", "weight_decay")


@dataclasses.dataclass
class SubRun:
    """One net a preset trains: ``OUT/runs/<name>``."""

    name: str
    dataset: D.Dataset
    model: str
    model_kw: dict
    train: TrainConfig


def _zhang(cfg) -> list[SubRun]:
    # The loop of zhang2017.run, for one seed (its private _jobs/_run_name, as Preset.subruns counts them).
    (seed,) = cfg.seeds
    ds, mkw = load_dataset(cfg, seed=seed), size_kwargs(cfg.model, cfg.width, cfg.depth)
    out = []
    for kind, p in zhang2017._jobs(cfg):
        dsc = D.corrupt(ds, kind, fraction=p if kind == "random_labels" else 1.0, seed=seed)
        out.append(SubRun(f"{zhang2017._run_name(kind, p)}_seed{seed}", dsc, cfg.model, mkw,
                          zhang2017.recipe(cfg, seed=seed)))
    return out


def _keskar(cfg) -> list[SubRun]:
    # The loop of keskar2017.run, for one seed: the small batch, then the large one.
    (seed,) = cfg.seeds
    ds, mkw = load_dataset(cfg, seed=seed), size_kwargs(cfg.model, cfg.width, cfg.depth)
    large = max(1, round(cfg.large_fraction * ds.n_train))
    return [SubRun(f"{tag}_seed{seed}", ds, cfg.model, mkw, keskar2017.recipe(cfg, seed=seed, batch_size=b))
            for tag, b in (("SB", cfg.batch_size), ("LB", large))]


PLANS = {"zhang2017-random-labels": _zhang, "keskar2017-large-batch": _keskar}

# Columns of `dlscope table` / `dlscope report` shown by default (all columns are in csv/parquet).
HEADLINE = {
    "zhang2017-random-labels": ["claim:*", "slowdown.per seed", "chance.test error at p=1", "true_labels.test_acc",
                                "true_labels.steps_to_fit", "random_labels.steps_to_fit"],
    "keskar2017-large-batch": ["claim:*", "SB.test_acc", "LB.test_acc", "SB.lambda_max", "LB.lambda_max",
                               "SB.keskar_sharpness", "LB.keskar_sharpness"],
}


def plan(preset: str, overrides: dict, quick: bool) -> list[SubRun]:
    """The nets the task (preset with ``overrides``, one seed) trains, in order; KeyError without a plan."""
    return PLANS[preset](make_config(get(preset), overrides, quick))


def train_group(preset: str, quick: bool, tasks: list[dict]) -> list[str]:
    """Train the nets of ``tasks`` (dicts with "overrides" and "out") slot by slot as replicas; returns notes."""
    plans = [plan(preset, t["overrides"], quick) for t in tasks]
    if len({len(p) for p in plans}) != 1:
        return [f"replicas: the tasks train different numbers of nets ({[len(p) for p in plans]}); trained one by one"]
    notes = []
    for slot in zip(*plans):
        nets = []
        for s in slot:
            torch.manual_seed(s.train.seed)  # as recipe.train_model draws the initialization
            nets.append(models.build(s.model, input_shape=s.dataset.input_shape, num_classes=s.dataset.num_classes,
                                     **s.model_kw))
        datasets, configs = [s.dataset for s in slot], [s.train for s in slot]
        try:
            check_replicas(nets, datasets, configs)
        except ValueError as e:
            notes.append(f"{slot[0].name}: {e}; trained one by one")
            continue
        fit_replicas(nets, datasets, configs, run_dirs=[Path(t["out"]) / "runs" / s.name for t, s in zip(tasks, slot)],
                     extra_configs=[{"model_build": {"name": s.model, **s.model_kw}} for s in slot])
    return notes
