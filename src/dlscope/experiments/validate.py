"""Config validation: every field of every preset Config, by type and range, before anything is written.

:func:`check_config` (called first in every preset Config's ``__post_init__``, re-exported by
:mod:`.recipe`) is the one place. A field is checked

1. **by type** against its annotation: ``int`` fields hold ints (not bools, not floats), ``float``
   fields ints or floats, every float finite, ``Optional`` fields None or the type, tuples hold
   items of their type and are non-empty unless their default is empty;
2. **by range**, from :data:`FIELD_RULES` by name (the names are shared across presets, STYLE #20),
   or by a naming convention for measurement knobs (:data:`SUFFIX_RULES`: ``*_steps``,
   ``*_examples``, ``*_lr``, ``*_tol``, …); categorical strings from :data:`CHOICES`; the few
   fields a preset checks itself after this (its own vocabularies) are listed in
   :data:`PRESET_CHECKED`. A test fails for a field that none of these covers.
3. **by cost** — the rule against values that would run for hours by mistake: seeds in [0, 2⁶³);
   depths ≤ :data:`MAX_DEPTH`; slice grids ≤ 201², ascent starts ≤ 256, NEB pivots ≤ 64; and every
   net a Config sizes through the shared knobs (``model`` with ``width``/``depth``, a grid of
   ``widths``/``depths`` — its largest point — or an MLP's ``widths``) has at most
   :data:`MAX_PARAMETERS` parameters on its device: 10⁷ on a CPU, 20× the largest preset default
   (≈ 0.55 M, vcbounds' mlp-3x512), where one SGD step of 128 examples already costs ≈ 1 s on a
   core (≈ 6 FLOPs per parameter per example); 10⁹ on CUDA. Counted analytically for the
   width-sized families (mlp, cnn, conv1d; checked against real builds in the tests) — building
   the net on the meta device would import torch._dynamo (≈ 4 s) on every validation.
4. **device**: ``cpu``, ``cuda`` or ``cuda:N`` with such a device present; ``data_root``: an
   existing folder. Data files themselves are loaded by ``run_preset`` before it writes.
"""
from __future__ import annotations

import dataclasses
import math
import os
import typing

import torch

from .. import models
from ..data import NAMES
from ..models.base import spatial
from ..models.mlp import ACTIVATIONS

__all__ = ["check_config", "FIELD_RULES", "SUFFIX_RULES", "CHOICES", "PRESET_CHECKED", "MAX_PARAMETERS",
           "MAX_DEPTH", "estimate_parameters", "INPUT_SHAPES", "rule_for", "size_kwargs"]

MAX_SEED = 2 ** 63 - 1
MAX_DEPTH = 200  # ResNet-164 fits; Li et al. 2018 go to 110, the presets use 1–32
MAX_PARAMETERS = {"cpu": 10 ** 7, "cuda": 10 ** 9}
INPUT_SHAPES = {"mnist1d": (40,), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32),
                "gaussian-mixture": (20,), "teacher": (20,)}


@dataclasses.dataclass(frozen=True)
class Range:
    """lo ≤ v ≤ hi (strict where ``open_lo``/``open_hi``), an integer where ``integer``."""

    lo: float | None = None
    hi: float | None = None
    open_lo: bool = False
    open_hi: bool = False
    integer: bool = False

    def check(self, name: str, v) -> None:
        if self.integer and not isinstance(v, int):
            raise ValueError(f"{name} must be an integer, got {v!r}")
        below = self.lo is not None and (v <= self.lo if self.open_lo else v < self.lo)
        above = self.hi is not None and (v >= self.hi if self.open_hi else v > self.hi)
        if below or above:
            lo = "−∞" if self.lo is None else f"{self.lo:g}"
            hi = "∞" if self.hi is None else f"{self.hi:g}"
            raise ValueError(f"{name} must lie in {'(' if self.open_lo else '['}{lo}, {hi}"
                             f"{')' if self.open_hi or self.hi is None else ']'}, got {v!r}")


COUNT = Range(1, integer=True)
POSITIVE = Range(0, open_lo=True)
NONNEG = Range(0)
UNIT_OPEN = Range(0, 1, open_hi=True)        # [0, 1)
FRACTION = Range(0, 1, open_lo=True)         # (0, 1]
PROBABILITY = Range(0, 1)                    # [0, 1]
CORRELATION = Range(-1, 1)

FIELD_RULES: dict[str, Range] = {
    # data and model
    "n_train": COUNT, "n_test": COUNT, "width": COUNT, "widths": COUNT,
    "depth": Range(1, MAX_DEPTH, integer=True), "depths": Range(1, MAX_DEPTH, integer=True),
    # SGD (TrainConfig's names)
    "lr": POSITIVE, "lrs": POSITIVE, "momentum": UNIT_OPEN, "weight_decay": NONNEG, "weight_decays": NONNEG,
    "batch_size": COUNT, "batch_sizes": COUNT, "small_batch": COUNT, "max_steps": COUNT, "max_epochs": POSITIVE,
    "eval_every": COUNT, "target_train_acc": FRACTION, "fit_acc": FRACTION, "target_train_loss": POSITIVE,
    "dropout": UNIT_OPEN, "dropouts": UNIT_OPEN, "large_fraction": FRACTION, "fractions": PROBABILITY,
    # measurement
    "delta": Range(0, 1, open_lo=True, open_hi=True), "starts": Range(1, 256, integer=True),
    "rel_threshold": NONNEG, "min_points": Range(2, integer=True), "neb_pivots": Range(1, 64, integer=True),
    "grid": Range(2, 201, integer=True), "span": POSITIVE, "keskar_eps": POSITIVE, "near_zero": POSITIVE,
    "pacbayes_samples": Range(1, 10 ** 4, integer=True), "curvature_grid": Range(3, 51, integer=True),
    "critical_inner": Range(1, 10 ** 4, integer=True), "probe_points": Range(1, 10 ** 4, integer=True),
    "ntk_budget_mb": POSITIVE, "max_width_deep": COUNT, "alphas": POSITIVE, "lazy_from": POSITIVE,
    # claim tolerances
    "rho_min": CORRELATION, "rho_max": CORRELATION, "minimum_index": PROBABILITY, "acc_tol": PROBABILITY,
    "clear_error_barrier": PROBABILITY, "min_error_difference": PROBABILITY, "slowdown_band": POSITIVE,
    "z": POSITIVE, "chance_z": POSITIVE, "near_zero_fraction": FRACTION, "similar_tol": POSITIVE,
    "deviation_max": POSITIVE, "p_max": FRACTION,
    "seeds": Range(0, MAX_SEED, integer=True),
}
SUFFIX_RULES: tuple[tuple[str, Range], ...] = (
    ("_steps", COUNT), ("_examples", COUNT), ("_samples", COUNT), ("_lr", POSITIVE), ("_tol", POSITIVE),
    ("_eps", POSITIVE), ("_z", POSITIVE), ("_fraction", FRACTION), ("_acc", FRACTION))
CHOICES: dict[str, tuple] = {"data": NAMES, "model": tuple(models.MODELS), "activation": tuple(ACTIVATIONS),
                             "norm": ("batch", "none"),
                             "critical_method": ("newton-mr", "levenberg-marquardt", "adam"),
                             "schedule": ("constant", "step", "exponential", "multistep", "cosine")}
# checked by the preset's own __post_init__ right after check_config (vocabularies of that preset)
PRESET_CHECKED = frozenset({"variants", "architectures", "measures", "max_cost"})
_SPECIAL = frozenset({"device", "data_root"})


def rule_for(name: str) -> Range | tuple | None:
    """The range or choices that apply to field ``name`` (None: type checks only)."""
    if name in FIELD_RULES:
        return FIELD_RULES[name]
    if name in CHOICES:
        return CHOICES[name]
    return next((r for suffix, r in SUFFIX_RULES if name.endswith(suffix)), None)


def _type_ok(v, typ) -> bool:
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is typing.Union:
        return any(_type_ok(v, a) for a in args)
    if typ is type(None):
        return v is None
    if typ is bool:
        return isinstance(v, bool)
    if typ is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if typ is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if typ is str:
        return isinstance(v, str)
    if origin is tuple or typ is tuple:
        return isinstance(v, tuple) and (not args or all(_type_ok(x, args[0]) for x in v))
    return True  # an annotation this checker does not know: the preset's own checks apply


def _check_field(name: str, v, typ, default) -> None:
    if not _type_ok(v, typ):
        want = getattr(typ, "__name__", None) or str(typ).replace("typing.", "")
        raise ValueError(f"{name} must be of type {want}, got {v!r}")
    items = v if isinstance(v, tuple) else (v,)
    if isinstance(v, tuple) and not v and default != ():
        raise ValueError(f"{name} must be a non-empty list of values")
    rule = rule_for(name)
    for x in items:
        if isinstance(x, float) and not math.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x}")
        if x is None or isinstance(x, bool):
            continue
        if isinstance(rule, Range) and isinstance(x, (int, float)):
            rule.check(name, x)
        elif isinstance(rule, tuple) and x not in rule:
            noun = {"data": "dataset"}.get(name, name)
            raise ValueError(f"unknown {noun} {x!r}; choose one of {', '.join(map(str, rule))}")


def _check_device(device) -> str:
    """The device type; ``cuda``/``cuda:N`` only where torch sees that device."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index is not None and dev.index >= n):
            raise ValueError(f"device {device!r} asked for, but torch sees {n} CUDA device(s) here")
    return dev.type


def _fc(d: int, widths, classes: int) -> int:
    total = 0
    for w in widths:
        total, d = total + (d + 1) * w, w
    return total + (d + 1) * classes


def estimate_parameters(model: str, kw: dict, input_shape: tuple, classes: int = 10) -> int:
    """Parameters of ``models.build(model, **kw)`` without allocating it (exact for mlp, cnn, conv1d)."""
    spec = {**models.model_kwargs(model), **kw}
    if model == "mlp":
        return _fc(math.prod(input_shape), spec["widths"], classes)
    if model in ("cnn", "conv1d"):
        dims, shape = spatial(tuple(input_shape))
        k, c, size, total = spec["kernel"], shape[0], list(shape[1:]), 0
        layers = spec["channels"] if model == "cnn" else (spec["channels"],) * spec["layers"]
        for ch in layers:  # conv padding k//2 keeps the size; pool(3, 2, 1) and stride 2 halve it, rounding up
            total, c, size = total + (c * k ** dims + 1) * ch, ch, [-(-s // 2) for s in size]
        flat = c * math.prod(size)
        return total + (_fc(flat, spec["fc"], classes) if model == "cnn" else (flat + 1) * classes)
    net = models.build(model, input_shape=input_shape, num_classes=classes, **kw)  # fixed-size families
    return sum(p.numel() for p in net.parameters())


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


def _largest_net(cfg) -> tuple[str, dict] | None:
    """The largest net a Config sizes through the shared knobs (see the module docstring), or None."""
    model = getattr(cfg, "model", None)
    if model is None:
        return None
    if hasattr(cfg, "width") and hasattr(cfg, "depth"):
        return model, size_kwargs(model, cfg.width, cfg.depth)
    if hasattr(cfg, "widths") and hasattr(cfg, "depths"):
        return model, size_kwargs(model, max(cfg.widths), max(cfg.depths))
    if model == "mlp" and hasattr(cfg, "widths"):
        return model, {"widths": tuple(cfg.widths)}
    return None


def check_config(cfg) -> None:
    """Validate a preset Config before anything runs (called from its ``__post_init__``); ValueError, one line."""
    hints = typing.get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        _check_field(f.name, getattr(cfg, f.name), hints.get(f.name), f.default)
    kind = _check_device(getattr(cfg, "device", "cpu"))
    root = getattr(cfg, "data_root", None)
    if root is not None and not os.path.isdir(root):
        raise ValueError(f"data_root {root!r} is not an existing folder")
    net = _largest_net(cfg)
    if net is not None:
        model, kw = net
        try:
            n = estimate_parameters(model, kw, INPUT_SHAPES[getattr(cfg, "data", "mnist1d")])
        except (ValueError, TypeError) as e:
            raise ValueError(f"model {model!r} with {kw}: {e}") from None
        if n > MAX_PARAMETERS[kind]:
            raise ValueError(f"the net ({model}, {kw}) has {n:.3g} parameters, over the {MAX_PARAMETERS[kind]:.0e} "
                             f"allowed on {kind} (a run of hours by mistake?); reduce width/depth")
