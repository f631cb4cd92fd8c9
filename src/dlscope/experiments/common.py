"""Helpers the presets share: training one named model into ``OUT/runs/<name>``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from .. import models
from ..data.dataset import Dataset
from ..train import TrainConfig, fit
from .base import Progress

__all__ = ["train_model", "size_kwargs", "check_common", "mean_std", "load_dataset", "preset_result"]


def load_dataset(cfg, seed: int = 0) -> Dataset:
    """The dataset a preset Config names (fields ``data``, ``data_root``, ``n_train``, ``n_test``)."""
    from ..data import load

    return load(cfg.data, root=cfg.data_root, n_train=cfg.n_train, n_test=cfg.n_test, seed=seed)


def preset_result(ds: Dataset, claims, table: list, figures, out: Path, **extra) -> dict:
    """The summary every preset's ``run`` returns: dataset and its hash, claims, table, figures
    (paths relative to ``out``), and any preset-specific extras."""
    return {"dataset": repr(ds), "data_hash": ds.hash, "claims": [c.to_json() for c in claims], "table": table,
            **extra, "figures": [str(Path(f).relative_to(out)) for f in figures]}


def mean_std(values) -> tuple[float, float]:
    """(mean, sample standard deviation) rounded for reports; std is 0 for a single value."""
    import numpy as np

    v = np.asarray(list(values), dtype=float)
    return (round(float(v.mean()), 6), round(float(v.std(ddof=1)) if len(v) > 1 else 0.0, 6))


def check_common(cfg) -> None:
    """Validate the fields presets share (data, model, training recipe) before anything runs.

    Called from a preset Config's ``__post_init__`` so that ``--set`` mistakes fail at once,
    with nothing written. A Config with a ``train_config()`` method has it built here too,
    which runs :class:`TrainConfig`'s own checks.
    """
    from ..data import NAMES

    if getattr(cfg, "data", None) is not None and cfg.data not in NAMES:
        raise ValueError(f"unknown dataset {cfg.data!r}; choose one of {', '.join(NAMES)}")
    if getattr(cfg, "model", None) is not None and cfg.model not in models.MODELS:
        raise ValueError(f"unknown model {cfg.model!r}; choose one of {', '.join(models.MODELS)}")
    if hasattr(cfg, "train_config"):
        cfg.train_config()


def size_kwargs(model: str, width: int, depth: int) -> dict:
    """A preset's width/depth knobs mapped onto ``models.build`` options.

    mlp: ``depth`` hidden layers of ``width`` units; cnn: ``depth`` conv blocks of ``width``
    channels and hidden layers of 8·width and 4·width units (Zhang et al.'s AlexNet-small
    uses 384 and 192); conv1d: ``depth`` layers of ``width`` channels;
    resnet: depth 6n+2 and base width multiplier 1; others: their defaults.
    """
    if model == "mlp":
        return {"widths": (width,) * depth}
    if model == "cnn":
        return {"channels": (width,) * depth, "fc": (8 * width, 4 * width)}
    if model == "conv1d":
        return {"channels": width, "layers": depth}
    if model == "resnet":
        return {"depth": depth}
    return {}


def train_model(out: Path, name: str, dataset: Dataset, model: str, model_kw: dict, train_cfg: TrainConfig,
                progress: Optional[Progress] = None, probes=None):
    """Build ``model`` under ``torch.manual_seed(train_cfg.seed)`` and fit it into ``out/runs/name``.

    Returns (model, RunResult). A finished run is loaded, not retrained.
    """
    torch.manual_seed(train_cfg.seed)
    net = models.build(model, input_shape=dataset.input_shape, num_classes=dataset.num_classes, **model_kw)
    cb = (lambda s, t: progress(name, s, t)) if progress else None
    result = fit(net, dataset, train_cfg, run_dir=out / "runs" / name, progress=cb, probes=probes,
                 extra_config={"model_build": {"name": model, **model_kw}})
    return net, result
