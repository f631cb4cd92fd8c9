"""Exports of run directories to experiment trackers, both optional extras the training loop never imports.

* :mod:`.to_tensorboard` (``pip install dlscope[tensorboard]``): event files — every ``metrics.jsonl``
  column as a scalar over steps, the configuration as hparams (with the final metrics), the claims
  and the configuration as text;
* :mod:`.to_wandb` (``pip install dlscope[wandb]``): W&B runs in offline mode (``wandb sync`` uploads
  them later), grouped by the preset run they belong to.

:mod:`.runs` finds the training runs under a training-run, preset-run or sweep folder. The exporters
import their tracker at module level, so import them only when asked: :func:`exporter` does.
"""
from .runs import ExportError, ExportRun, find_runs, flatten

__all__ = ["ExportError", "ExportRun", "find_runs", "flatten", "exporter"]


def exporter(to: str):
    """``export(path, out=None, ...) -> (folder, runs)`` for ``to`` = tensorboard | wandb (imported here, when
    asked for: ImportError names the missing package)."""
    if to == "tensorboard":
        from .to_tensorboard import export_tensorboard

        return export_tensorboard
    if to == "wandb":
        from .to_wandb import export_wandb

        return export_wandb
    raise ValueError(f"unknown export target {to!r}; choose tensorboard or wandb")
