"""What every preset shares: its dataset, training one named net, validating its Config, its summary.

``check_config`` and ``size_kwargs`` live in :mod:`.validate` (re-exported here).

:func:`train_model` builds a net under ``torch.manual_seed(seed)``, keeps a copy of its initial
weights θ₀ (several measures need distance from initialization), and fits it into
``OUT/runs/<name>`` — resuming or returning a finished run.
"""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Optional

import torch

from .. import models
from ..data import Dataset, load
from ..train import TrainConfig, fit
from .base import Progress, record_run
from .validate import check_config, size_kwargs

__all__ = ["train_model", "size_kwargs", "check_config", "load_dataset", "preset_result", "TrainedNet"]


@dataclasses.dataclass
class TrainedNet:
    """A trained net, its initialization θ₀ (a copy), and the run's :class:`~dlscope.train.RunResult`."""

    net: torch.nn.Module
    init: torch.nn.Module
    result: object

    def __iter__(self):  # net, init, result = train_model(...)
        return iter((self.net, self.init, self.result))


def load_dataset(cfg, seed: int = 0) -> Dataset:
    """The dataset a preset Config names (fields ``data``, ``data_root``, ``n_train``, ``n_test``)."""
    return load(cfg.data, root=cfg.data_root, n_train=cfg.n_train, n_test=cfg.n_test, seed=seed)


def preset_result(ds: Dataset, claims, table: list, figures, out: Path, **extra) -> dict:
    """The summary every preset's ``run`` returns: dataset and its hash, claims, table, figures
    (paths relative to ``out``), and any preset-specific extras."""
    return {"dataset": repr(ds), "data_hash": ds.hash, "claims": [c.to_json() for c in claims], "table": table,
            **extra, "figures": [str(Path(f).relative_to(out)) for f in figures]}


def train_model(out: Path, name: str, dataset: Dataset, model: str, model_kw: dict, train_cfg: TrainConfig,
                progress: Optional[Progress] = None, probes=None) -> TrainedNet:
    """Build ``model`` under ``torch.manual_seed(train_cfg.seed)`` and fit it into ``out/runs/name``.

    Returns (net, θ₀ copy, RunResult) as a :class:`TrainedNet`. A finished run is loaded, not retrained.
    """
    torch.manual_seed(train_cfg.seed)
    net = models.build(model, input_shape=dataset.input_shape, num_classes=dataset.num_classes, **model_kw)
    init = copy.deepcopy(net).to(train_cfg.device, getattr(torch, train_cfg.dtype))
    cb = (lambda s, t: progress(name, s, t)) if progress else None
    result = fit(net, dataset, train_cfg, run_dir=out / "runs" / name, progress=cb, probes=probes,
                 extra_config={"model_build": {"name": model, **model_kw}})
    record_run(name, result, out / "runs" / name)  # digest, divergence, re-derivation: for run_preset
    return TrainedNet(net, init, result)
