"""Where the model comes from: an import path with constructor arguments, or a run directory; its weights.

* ``load_model("mypkg.nets:ResNet18", {"num_classes": 10})`` imports ``mypkg.nets`` (the folders
  in ``search_path`` are tried first, then ``sys.path``) or a file (``path/to/nets.py:ResNet18``)
  and calls the attribute with the keyword arguments; the result must be an ``nn.Module``.
* ``load_weights(model, path)`` reads a ``.safetensors`` file (a dlscope checkpoint too: its
  ``model.*`` tensors) or a torch checkpoint with ``torch.load(..., weights_only=True)`` only. A
  pickle that needs any class beyond tensors and plain containers is refused with one line naming
  that class: nothing of the user's file is executed (the restricted unpickler of torch ≥ 2.4).
* ``model_from_run(run_dir, input_shape, num_classes)`` rebuilds the net a dlscope run trained
  from its ``config.json`` (``model_build``: ``models.build`` name and options) and its checkpoint.

Every error a user or a file can cause is an :class:`AssessError` with a one-line message.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import pickle
import re
import sys
import traceback
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from .. import models
from .._io import read_json

__all__ = ["AssessError", "load_model", "load_weights", "model_from_run", "parse_model_args", "find_run"]

# Keys under which training scripts commonly nest the state dict inside a checkpoint dictionary.
_NESTED = ("state_dict", "model_state_dict", "model", "net", "weights", "module")
_PREFIXES = ("module.", "_orig_mod.")  # DataParallel / torch.compile wrappers


class AssessError(ValueError):
    """A model, weights file, data file or option that cannot be used; one line for the user.

    The message is made one printable line of at most 400 characters: decoders quote the bytes of a
    hostile file, which must not put newlines or terminal escapes into what the command line prints."""

    def __init__(self, message: str):
        text = " ".join(str(message).split())
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        super().__init__(text if len(text) <= 400 else text[:397] + "...")


def parse_model_args(pairs: list[str]) -> dict:
    """``["depth=18", "widths=(16, 32)", "act=relu"]`` → {"depth": 18, "widths": (16, 32), "act": "relu"}:
    Python literals where the value is one, strings otherwise."""
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise AssessError(f"--model-arg expects key=value, got {p!r}")
        k, v = (s.strip() for s in p.split("=", 1))
        try:
            out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            out[k] = v
    return out


def _where(e: BaseException) -> str:
    """``Type: message (file:line)`` of an exception raised in the user's code, on one line."""
    import_err = getattr(e, "filename", None) and getattr(e, "lineno", None)  # SyntaxError carries its place
    frames = traceback.extract_tb(e.__traceback__)
    place = f"{e.filename}:{e.lineno}" if import_err else (f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "")
    return f"{type(e).__name__}: {getattr(e, 'msg', None) or e}" + (f" ({place})" if place else "")


def _import(module: str, search_path) -> object:
    if module.endswith(".py"):
        path = Path(module)
        if not path.is_file():
            raise AssessError(f"no such file: {module}")
        spec = importlib.util.spec_from_file_location(f"dlscope_user_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses and pickling look a class's module up here
        try:
            spec.loader.exec_module(mod)
        except Exception as e:  # noqa: BLE001 — the user's code: where it failed, on one line
            del sys.modules[spec.name]
            raise AssessError(f"importing {module} failed: {_where(e)}") from None
        return mod
    added = [str(Path(p).resolve()) for p in search_path if str(Path(p).resolve()) not in sys.path]
    sys.path[:0] = added
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        raise AssessError(f"cannot import {module!r} ({e}); run from the folder that holds it, "
                          f"set PYTHONPATH, or give a file: path/to/nets.py:Class") from None
    except Exception as e:  # noqa: BLE001 — the user's code: where it failed, on one line
        raise AssessError(f"importing {module} failed: {_where(e)}") from None
    finally:
        for p in added:
            sys.path.remove(p)


def load_model(spec: str, kwargs: dict | None = None, *, search_path=(".",)) -> nn.Module:
    """The module ``spec`` = "package.module:Attr" (or "file.py:Attr") names, called with ``kwargs``."""
    if ":" not in spec.replace(":\\", ""):  # allow C:\ paths
        raise AssessError(f"--model expects module:Class (e.g. mypkg.nets:ResNet18), got {spec!r}")
    module, _, attr = spec.rpartition(":")
    obj = _import(module, search_path)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AssessError(f"{module} has no attribute {attr!r}")
        obj = getattr(obj, part)
    kwargs = kwargs or {}
    if isinstance(obj, nn.Module):
        if kwargs:
            raise AssessError(f"{spec} is a module instance; it takes no --model-arg")
        model = obj
    else:
        try:
            model = obj(**kwargs)
        except Exception as e:  # noqa: BLE001 — the user's constructor: where it failed, on one line
            raise AssessError(f"{attr}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) failed: "
                              f"{_where(e)}") from None
    if not isinstance(model, nn.Module):
        raise AssessError(f"{spec} gave a {type(model).__name__}, not a torch.nn.Module")
    return model


def _refusal(path: Path, err: Exception) -> str:
    found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)", str(err))
    what = f"the class {found.group(1)}" if found else "objects other than tensors and plain containers"
    return (f"refusing to unpickle {path}: it needs {what}, and only weights are loaded (torch.load with "
            f"weights_only=True, which runs no code from the file); save model.state_dict() instead "
            f"(torch.save(model.state_dict(), ...) or safetensors)")


def _read(path: Path) -> dict:
    if not path.is_file():
        raise AssessError(f"no such weights file: {path}")
    if path.suffix == ".safetensors":
        try:
            sd = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise AssessError(f"cannot read {path} as safetensors: {str(e).splitlines()[0]}") from None
        if sd and all(k.startswith(("model.", "optim.")) for k in sd):  # a dlscope checkpoint
            sd = {k[len("model."):]: v for k, v in sd.items() if k.startswith("model.")}
        return sd
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        op = re.search(r"Unsupported operand (\d+)", str(e))
        if op:  # not a class: an instruction the weights-only reader does not execute
            raise AssessError(f"cannot read {path} as a torch checkpoint: its pickle uses opcode {op.group(1)}, which "
                              f"torch.load(weights_only=True) does not execute (a corrupt file, or one that needs "
                              f"more than weights)") from None
        raise AssessError(_refusal(path, e)) from None
    except Exception as e:  # noqa: BLE001 — any malformed file (zip, pickle, magic number) is one line
        raise AssessError(f"cannot read {path} as a torch checkpoint ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else 'malformed file'})") from None
    return _state_dict_in(obj, path)


def _state_dict_in(obj, path: Path) -> dict:
    for _ in range(3):  # {"state_dict": {...}} or {"model": {"state_dict": ...}}
        if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        if isinstance(obj, dict):
            inner = next((obj[k] for k in _NESTED if isinstance(obj.get(k), dict)), None)
            if inner is not None:
                obj = inner
                continue
        break
    keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
    raise AssessError(f"{path} holds no state dict of tensors (top level: {keys}); save model.state_dict()")


def load_weights(model: nn.Module, path: str | Path) -> dict:
    """Load the weights in ``path`` into ``model`` (strict); returns a record of what was loaded."""
    path = Path(path)
    sd = _read(path)
    for prefix in _PREFIXES:
        if sd and all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix):]: v for k, v in sd.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    extra = [k for k in sd if k not in own]
    shapes = [f"{k} {tuple(sd[k].shape)}≠{tuple(own[k].shape)}" for k in own
              if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or extra or shapes:
        parts = [f"{name} {lst[:4]}{' …' if len(lst) > 4 else ''}" for name, lst in
                 (("missing", missing), ("unexpected", extra), ("wrong shape", shapes)) if lst]
        raise AssessError(f"the weights in {path} do not fit {type(model).__name__}: " + "; ".join(parts))
    model.load_state_dict(sd, strict=True)
    return {"weights": str(path), "format": "safetensors" if path.suffix == ".safetensors" else "torch (weights_only)",
            "tensors": len(sd)}


def find_run(path: str | Path) -> Path:
    """The training run directory ``path`` names: itself, or a preset folder's single sub-run."""
    path = Path(path)
    if (path / "config.json").is_file() and (path / "checkpoint.safetensors").is_file():
        return path
    runs = sorted(p for p in (path / "runs").glob("*") if (p / "checkpoint.safetensors").is_file())
    if len(runs) == 1:
        return runs[0]
    if runs:
        raise AssessError(f"{path} is a preset folder with {len(runs)} trained nets; name one: "
                          + ", ".join(str(r) for r in runs[:6]) + (" …" if len(runs) > 6 else ""))
    raise AssessError(f"{path} is not a dlscope run directory (no config.json and checkpoint.safetensors)")


def model_from_run(run: Path, input_shape, num_classes: int) -> tuple[nn.Module, dict]:
    """The net of training run ``run`` rebuilt with ``models.build`` and its checkpoint loaded."""
    cfg = read_json(run / "config.json")
    build = cfg.get("model_build")
    if not isinstance(build, dict) or "name" not in build:
        raise AssessError(f"{run}/config.json does not record model_build; pass --model module:Class instead")
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in build.items() if k != "name"}
    try:
        model = models.build(build["name"], input_shape=input_shape, num_classes=num_classes, **kw)
    except ValueError as e:
        raise AssessError(f"cannot rebuild the net of {run}: {e}") from None
    dtype = getattr(torch, cfg.get("train", {}).get("dtype", "float32"))
    model.to(dtype)
    record = load_weights(model, run / "checkpoint.safetensors")
    return model, {**record, "model_build": build, "run": str(run)}
