"""What every preset shares: its dataset, training one named net, validating its Config, its summary.

:func:`train_model` builds a net under ``torch.manual_seed(seed)``, keeps a copy of its initial
weights θ₀ (several measures need distance from initialization), and fits it into
``OUT/runs/<name>`` — resuming or returning a finished run.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import typing
from pathlib import Path
from typing import Optional

import torch

from .. import models
from ..data import NAMES, Dataset, load
from ..train import TrainConfig, fit
from .base import Progress

__all__ = ["train_model", "size_kwargs", "check_config", "load_dataset", "preset_result", "TrainedNet"]

_MAX_SEED = 2 ** 63 - 1
# Field name -> (check, message) for fields that mean the same in every preset (validated by name).
_POSITIVE_INT = ("batch_size", "max_steps", "eval_every", "width", "depth", "max_epochs", "small_batch")
_UNIT = ("momentum", "dropout")  # in [0, 1)
_NONNEG = ("weight_decay",)


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


def _check_value(name: str, v) -> None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if name in _POSITIVE_INT and v < 1:
        raise ValueError(f"{name} must be ≥ 1, got {v}")
    if name in _UNIT and not 0 <= v < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {v}")
    if name in _NONNEG and v < 0:
        raise ValueError(f"{name} must be ≥ 0, got {v}")
    if name in ("lr",) and v <= 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if name in ("n_train", "n_test") and v < 1:
        raise ValueError(f"{name} must be ≥ 1 (or none for all examples), got {v}")
    if name.startswith("target_train_acc") and not 0 < v <= 1:
        raise ValueError(f"{name} must lie in (0, 1], got {v}")


def check_config(cfg) -> None:
    """Validate a preset Config before anything runs (called from its ``__post_init__``).

    Every field is checked by type (ints are ints, floats finite) and, for the fields every preset
    shares, by range (lr > 0, momentum in [0, 1), weight decay ≥ 0, sizes ≥ 1, seeds in
    [0, 2⁶³), a known dataset, model and device); tuples must be non-empty. A Config with a
    ``recipe`` builds the recipe of its first grid point, which runs TrainConfig's own checks.
    """
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        typ = hints.get(f.name)
        if typing.get_origin(typ) is tuple:
            if not isinstance(v, tuple) or (not v and f.default != ()):
                raise ValueError(f"{f.name} must be a non-empty list of values")
            for item in v:
                _check_value(f.name[:-1] if f.name.endswith("s") else f.name, item)
        else:
            _check_value(f.name, v)
    for s in getattr(cfg, "seeds", ()):
        if not 0 <= s <= _MAX_SEED:
            raise ValueError(f"seeds must lie in [0, 2^63), got {s}")
    if getattr(cfg, "data", None) is not None and cfg.data not in NAMES:
        raise ValueError(f"unknown dataset {cfg.data!r}; choose one of {', '.join(NAMES)}")
    if getattr(cfg, "model", None) is not None and cfg.model not in models.MODELS:
        raise ValueError(f"unknown model {cfg.model!r}; choose one of {', '.join(models.MODELS)}")
    device = getattr(cfg, "device", "cpu")
    try:
        torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None


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
    return TrainedNet(net, init, result)
