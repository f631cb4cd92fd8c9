"""The training loop: one function, top to bottom (STYLE #1).

SGD with momentum and weight decay on a device-resident dataset, batches drawn by
slicing a seeded permutation per epoch, the learning rate a pure function of the step,
and explicit evaluation points every ``eval_every`` steps. Randomness is a function of
(seed, epoch) for the batch order and of (seed, step) for dropout and augmentation, so
a run resumed from any checkpoint replays exactly the steps an uninterrupted run takes.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import Dataset
from .augment import augment
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .._io import read_json, write_json
from .fastpath import TrainStep, config_record
from .rundir import RunDir, environment
from .schedules import learning_rate
from .snapshots import Snapshots
from .subset import Subset

__all__ = ["fit", "evaluate", "RunResult", "loss_function"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclasses.dataclass
class RunResult:
    """What :func:`fit` returns: per-eval metrics, the final ones, and steps-to-fit."""

    metrics: list
    final: dict
    steps_to_fit: Optional[int]
    steps: int
    run_dir: Optional[Path] = None
    resumed_from: Optional[int] = None
    wall_time_s: float = 0.0
    diverged: bool = False
    notes: list = dataclasses.field(default_factory=list)  # what the fast path did (e.g. a compile fallback)


def loss_function(kind: str, num_classes: int) -> Callable:
    """Cross-entropy, or the squared loss mean_i ‖f(x_i) − e_{y_i}‖² / C on one-hot targets."""
    if kind == "ce":
        return F.cross_entropy
    return lambda out, y: F.mse_loss(out, F.one_hot(y, num_classes).to(out.dtype))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable, batch: int = 4096) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` in eval mode; restores the model's mode."""
    was = model.training
    model.eval()
    total, correct = 0.0, 0
    for i in range(0, len(y), batch):
        out = model(x[i : i + batch])
        total += float(loss_fn(out, y[i : i + batch])) * len(out)
        correct += int((out.argmax(1) == y[i : i + batch]).sum())
    model.train(was)
    return total / max(len(y), 1), correct / max(len(y), 1)


def fit(model: nn.Module, dataset: Dataset, config: TrainConfig, *, run_dir: str | Path | None = None,
        extra_config: dict | None = None, probes: dict[str, Callable] | None = None,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Train ``model`` on ``dataset`` with SGD as ``config`` says.

    With ``run_dir``, writes the run directory (see :mod:`dlscope.train.rundir`),
    checkpoints at every evaluation point, resumes from the last checkpoint if one
    exists, and returns the stored result at once if the run had finished. ``probes``
    maps a name to ``f(model, dataset) -> dict`` called at each evaluation point (e.g.
    λ_max of the Hessian); their values go into the metrics row under that name.
    ``progress(step, max_steps)`` is called after each step (the CLI's progress bar).
    Training stops at the first evaluation point that reaches ``target_train_acc`` or
    ``target_train_loss`` (that step is the run's ``steps_to_fit``), or whose training loss
    is not finite (``diverged``).
    The global torch RNG is re-seeded from (seed, step) at every step.
    The fast-path options (``amp_bf16``, ``channels_last``, ``compile``) are described in
    :mod:`dlscope.train.fastpath`; what they did goes into ``RunResult.notes``.
    """
    cfg = config
    device, dtype = torch.device(cfg.device), _DTYPES[cfg.dtype]
    model.to(device=device, dtype=dtype)
    ds = dataset.to(device)
    xtr, ytr = ds.x_train.to(dtype), ds.y_train
    xte, yte = ds.x_test.to(dtype), ds.y_test
    loss_fn = loss_function(cfg.loss, ds.num_classes)
    train_step = TrainStep(model, loss_fn, cfg, device)  # forward + backward: autocast, layout, compile
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    n, B = ds.n_train, min(cfg.batch_size, ds.n_train)
    steps_per_epoch, max_steps, eval_every = cfg.budget(n)
    subset = Subset(model, cfg.train_only)  # train_only: checked here, frozen during the steps
    snapshots = Snapshots.plan(cfg, run_dir, model, max_steps)  # θ_t every snapshot_every steps (size checked)

    rd = RunDir(run_dir) if run_dir is not None else None
    full_config = {"train": config_record(cfg), "data": {"name": ds.name, "hash": ds.hash, **ds.meta},
                   "model": {"class": type(model).__name__, "spec": getattr(model, "spec", None),
                             "parameters": sum(p.numel() for p in model.parameters())},
                   **(extra_config or {})}
    step, metrics, resumed_from = 0, [], None
    if rd is not None:
        rd.check_config(full_config)
        if rd.finished() and rd.checkpoint.exists():
            load_checkpoint(rd.checkpoint, model, opt)
            s = read_json(rd.summary)
            _plain_layout(model)
            return RunResult(rd.read_metrics(), s["final"], s["steps_to_fit"], s["steps"], rd.path, None,
                             s.get("wall_time_s", 0.0), s.get("diverged", False), s.get("notes", []))
        if rd.checkpoint.exists():
            step, _ = load_checkpoint(rd.checkpoint, model, opt)
            metrics = rd.read_metrics(upto_step=step)
            rd.rewrite_metrics(metrics)
            resumed_from = step
        else:
            rd.start(full_config, environment(str(device), cfg.dtype, ds.hash))

    t0 = time.perf_counter()
    def reached(m: dict) -> bool:
        return ((cfg.target_train_acc is not None and m["train_acc"] >= cfg.target_train_acc)
                or (cfg.target_train_loss is not None and float(m["train_loss"]) <= cfg.target_train_loss))

    steps_to_fit = next((m["step"] for m in metrics if reached(m)), None)
    diverged = any(not math.isfinite(float(m["train_loss"])) for m in metrics)  # JSON stores NaN as "nan"
    batch_loss_sum = torch.zeros((), device=device)
    batch_count, perm, perm_epoch = 0, None, -1
    model.train()
    subset.freeze()
    if snapshots is not None:
        snapshots.at(step, model)
    while step < max_steps and steps_to_fit is None and not diverged:
        epoch, i = divmod(step, steps_per_epoch)
        if epoch != perm_epoch:
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)).to(device)
            perm_epoch = epoch
        idx = perm[i * B : (i + 1) * B]
        lr = learning_rate(cfg, step, steps_per_epoch, metrics)
        for group in opt.param_groups:
            group["lr"] = lr
        # dropout noise of this step; the device's generator only (torch.manual_seed seeds every
        # backend and costs ~60 µs, 2% of a small model's step)
        torch.default_generator.manual_seed(cfg.seed * 1_000_003 + step)
        if device.type == "cuda":
            torch.cuda.manual_seed(cfg.seed * 1_000_003 + step)
        x, y = xtr[idx], ytr[idx]
        if cfg.augment:
            x = augment(x, torch.Generator().manual_seed(cfg.seed * 7_919 + step))
        opt.zero_grad(set_to_none=True)
        loss = train_step(x, y)
        opt.step()
        batch_loss_sum += loss.detach().float()
        batch_count += 1
        step += 1
        if snapshots is not None:
            snapshots.at(step, model)
        if progress is not None:
            progress(step, max_steps)

        if step % eval_every == 0 or step == max_steps:
            train_loss, train_acc = evaluate(model, xtr, ytr, loss_fn, cfg.eval_batch)
            test_loss, test_acc = evaluate(model, xte, yte, loss_fn, cfg.eval_batch)
            row = {"step": step, "epoch": step / steps_per_epoch, "lr": lr,
                   "batch_loss": float(batch_loss_sum) / batch_count,
                   "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}
            for name, probe in (probes or {}).items():
                row[name] = probe(model, ds)
            metrics.append(row)
            batch_loss_sum.zero_()
            batch_count = 0
            if reached(row):
                steps_to_fit = step
            diverged = not math.isfinite(train_loss)  # NaN/inf: the rest of the budget would be wasted
            if rd is not None:
                rd.append_metrics(row)
                save_checkpoint(rd.checkpoint, model, opt, step)
            model.train()

    subset.restore()
    if snapshots is not None:
        snapshots.at(step, model, last=True)
    final = dict(metrics[-1]) if metrics else {}
    wall = time.perf_counter() - t0
    _plain_layout(model)
    notes = train_step.notes
    if rd is not None:
        write_json(rd.summary, {"final": final, "steps_to_fit": steps_to_fit, "steps": step,
                                "fitted": steps_to_fit is not None, "diverged": diverged, "wall_time_s": wall,
                                **({"notes": notes} if notes else {})})
    return RunResult(metrics, final, steps_to_fit, step, rd.path if rd else None, resumed_from, wall, diverged,
                     notes)


def _plain_layout(model: nn.Module) -> None:
    """Hand the model back in the default memory format (channels_last is internal to the loop)."""
    if any(p.dim() == 4 and not p.is_contiguous() for p in model.parameters()):
        model.to(memory_format=torch.contiguous_format)
