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
from .checkpoint import read_checkpoint, save_checkpoint
from .config import TrainConfig
from .._io import json_digest, to_jsonable, write_json
from .fastpath import TrainStep, config_record
from .rundir import Restored, RunDir, environment
from .schedules import learning_rate
from .snapshots import Snapshots
from .subset import Subset

__all__ = ["fit", "evaluate", "RunResult", "loss_function", "DIVERGENCE_FACTOR", "divergence"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# A run has diverged at an evaluation point whose training loss (the full-set loss in eval mode, or the
# mean minibatch loss since the last evaluation) is not finite, or whose mean minibatch loss exceeds
# this multiple of the loss of its first minibatch at θ₀ (ln C ≈ 2.3 for cross-entropy on 10 classes).
# Measured: lr = 50 on the zhang2017 CNN gave eval losses of 60–113 (issue 17) and minibatch losses
# of 1.8e19; lr = 3 on a 64-unit MLP eval losses of 320–441 (tests/train/test_integrity.py). Healthy
# runs: in 737 run directories of several presets on the dev machine the mean minibatch loss never
# exceeded 2.32 (≈ L₀), while the eval-mode loss of BatchNorm nets reached 5.6 L₀ early in training
# (running statistics lag) — which is why the finite rule reads the minibatch loss.
DIVERGENCE_FACTOR = 10.0


def divergence(row: dict, initial_loss: Optional[float]) -> Optional[str]:
    """Why the metrics row of an evaluation point counts as diverged (the rule above), or None."""
    for key in ("train_loss", "batch_loss"):
        if key in row and not math.isfinite(float(row[key])):  # JSON stores NaN as "nan"
            return f"{key.replace('_', ' ')} {float(row[key])}"
    batch = float(row.get("batch_loss", 0.0))
    if initial_loss is not None and batch > DIVERGENCE_FACTOR * initial_loss:
        return f"mean minibatch loss {batch:.4g} > {DIVERGENCE_FACTOR:g} × the initial {initial_loss:.4g}"
    return None


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
    diverged_reason: Optional[str] = None  # why the run counts as diverged (see DIVERGENCE_FACTOR)
    recovered: Optional[str] = None  # one line: a run-directory file failed its check and was re-derived


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

    With ``run_dir``, writes the run directory (see :mod:`dlscope.train.rundir`) under its lock,
    checkpoints at every evaluation point, resumes from the last checkpoint if one
    exists, and returns the stored result at once if the run had finished — every file verified
    first; one that fails its check is re-derived (``RunResult.recovered`` says which and how).
    ``probes`` maps a name to ``f(model, dataset) -> dict`` called at each evaluation point (e.g.
    λ_max of the Hessian); their values go into the metrics row under that name.
    ``progress(step, max_steps)`` is called after each step (the CLI's progress bar).
    Training stops at the first evaluation point that reaches ``target_train_acc`` or
    ``target_train_loss`` (that step is the run's ``steps_to_fit``), or that has diverged (a loss
    not finite, or the mean minibatch loss above ``DIVERGENCE_FACTOR`` × the first one's).
    The global torch RNG is re-seeded from (seed, step) at every step.
    The fast-path options (``amp_bf16``, ``channels_last``, ``compile``) are described in
    :mod:`dlscope.train.fastpath`; what they did goes into ``RunResult.notes``.
    """
    model.to(device=torch.device(config.device), dtype=_DTYPES[config.dtype])
    # a bad subset or snapshot plan is refused before anything is written (the size check sees the run's dtype)
    subset = Subset(model, config.train_only)  # train_only: checked here, frozen during the steps
    snapshots = Snapshots.plan(config, run_dir, model, config.budget(dataset.n_train)[1])  # θ_t every k steps
    if run_dir is None:
        return _fit(model, dataset, config, None, subset, snapshots, extra_config, probes, progress)
    rd = RunDir(run_dir)
    with rd.lock():
        return _fit(model, dataset, config, rd, subset, snapshots, extra_config, probes, progress)


def _fit(model, dataset, cfg: TrainConfig, rd: Optional[RunDir], subset: Subset, snapshots: Optional[Snapshots],
         extra_config, probes, progress) -> RunResult:
    device, dtype = torch.device(cfg.device), _DTYPES[cfg.dtype]
    ds = dataset.to(device)
    xtr, ytr = ds.x_train.to(dtype), ds.y_train
    xte, yte = ds.x_test.to(dtype), ds.y_test
    loss_fn = loss_function(cfg.loss, ds.num_classes)
    train_step = TrainStep(model, loss_fn, cfg, device)  # forward + backward: autocast, layout, compile
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    n, B = ds.n_train, min(cfg.batch_size, ds.n_train)
    steps_per_epoch, max_steps, eval_every = cfg.budget(n)

    full_config = to_jsonable({"train": config_record(cfg), "data": {"name": ds.name, "hash": ds.hash, **ds.meta},
                               "model": {"class": type(model).__name__, "spec": getattr(model, "spec", None),
                                         "parameters": sum(p.numel() for p in model.parameters())},
                               **(extra_config or {})})
    state = rd.restore(full_config, model, opt) if rd is not None else Restored()
    if state.summary is not None:  # finished, verified
        s = state.summary
        _plain_layout(model)
        return RunResult(state.metrics, s["final"], s["steps_to_fit"], s["steps"], rd.path, None,
                         s.get("wall_time_s", 0.0), s.get("diverged", False), s.get("notes", []),
                         s.get("diverged_reason"), state.recovered)
    if rd is not None and not state.resumed:
        rd.start(full_config, environment(str(device), cfg.dtype, ds.hash))
    step, metrics = state.step, state.metrics
    initial_loss = state.extra.get("initial_loss")

    t0 = time.perf_counter()
    def reached(m: dict) -> bool:
        return ((cfg.target_train_acc is not None and m["train_acc"] >= cfg.target_train_acc)
                or (cfg.target_train_loss is not None and float(m["train_loss"]) <= cfg.target_train_loss))

    steps_to_fit = next((m["step"] for m in metrics if reached(m)), None)
    why = next((w for m in metrics if (w := divergence(m, initial_loss))), None)
    batch_loss_sum = torch.zeros((), device=device)
    batch_count, perm, perm_epoch = 0, None, -1
    model.train()
    subset.freeze()
    if snapshots is not None:
        snapshots.at(step, model)
    while step < max_steps and steps_to_fit is None and why is None:
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
        if step == 0:
            initial_loss = float(loss.detach())  # L₀: the divergence rule's reference
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
            why = divergence(row, initial_loss)  # the rest of the budget would be wasted
            if rd is not None:
                rd.append_metrics(row)
                save_checkpoint(rd.checkpoint, model, opt, step, {"initial_loss": initial_loss,
                                                                  "config_sha256": json_digest(full_config),
                                                                  **rd.metrics_record()})
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
                                "fitted": steps_to_fit is not None, "diverged": why is not None,
                                "diverged_reason": why, "initial_loss": initial_loss, "wall_time_s": wall,
                                **({"notes": notes} if notes else {}), "config_sha256": json_digest(full_config),
                                "checkpoint_sha256": read_checkpoint(rd.checkpoint)[1]["meta_sha256"],
                                **rd.metrics_record()}, digest=True)
    return RunResult(metrics, final, steps_to_fit, step, rd.path if rd else None,
                     state.step if state.resumed else None, wall, why is not None, notes, why, state.recovered)


def _plain_layout(model: nn.Module) -> None:
    """Hand the model back in the default memory format (channels_last is internal to the loop)."""
    if any(p.dim() == 4 and not p.is_contiguous() for p in model.parameters()):
        model.to(memory_format=torch.contiguous_format)
