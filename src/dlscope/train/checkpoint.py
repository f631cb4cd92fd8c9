"""Exact-resume checkpoints in one safetensors file.

Tensors: ``model.<name>`` for the state dict (parameters and buffers) and
``optim.<param index>.<key>`` for the optimizer's per-parameter state (SGD's momentum
buffers). Metadata (strings): the step, the optimizer's param_groups and any extra
JSON. One file written to a temporary name and renamed, so a checkpoint is never
half-written. No pickle is involved (``torch.load`` is not needed).

A ``torch.compile``-d model is saved and loaded through the module it wraps, so the keys never
carry the wrapper's ``_orig_mod.`` prefix and a checkpoint loads into compiled and plain models alike.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from .._io import publish, temporary_path

__all__ = ["save_checkpoint", "load_checkpoint"]


def _plain(model: torch.nn.Module) -> torch.nn.Module:
    """The module under a ``torch.compile`` wrapper (``OptimizedModule._orig_mod``), else the model."""
    return getattr(model, "_orig_mod", model)


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int,
                    extra: dict | None = None) -> None:
    model = _plain(model)
    tensors = {f"model.{k}": v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    osd = optimizer.state_dict()
    for idx, state in osd["state"].items():
        for key, val in state.items():
            if isinstance(val, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = val.detach().to("cpu").contiguous().clone()
    scalars = {str(i): {k: v for k, v in s.items() if not isinstance(v, torch.Tensor)} for i, s in osd["state"].items()}
    meta = {"step": str(step), "param_groups": json.dumps(osd["param_groups"]),
            "optim_scalars": json.dumps(scalars), "extra": json.dumps(extra or {})}
    path = Path(path)
    tmp = temporary_path(path)
    try:
        save_file(tensors, str(tmp), metadata=meta)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
    """Restore model and optimizer in place; returns (step, extra)."""
    model = _plain(model)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    device = next(model.parameters()).device
    model_sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    model.load_state_dict(model_sd, strict=True)
    state: dict = {int(i): dict(s) for i, s in json.loads(meta["optim_scalars"]).items()}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, key = k.split(".", 2)
            state.setdefault(int(idx), {})[key] = v.to(device)
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    return int(meta["step"]), json.loads(meta["extra"])
