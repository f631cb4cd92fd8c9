"""Seeds as a batch dimension: k nets of one architecture trained as one vmapped model.

``fit_replicas(models, datasets, configs, run_dirs=...)`` trains replica r exactly as
``fit(models[r], datasets[r], configs[r], run_dir=run_dirs[r])`` would — the same recipe, drawn
from the replica's own seed s_r — but the k forward and backward passes run as one call
(``torch.func.stack_module_state`` + ``functional_call`` under ``vmap``):

* batch order of epoch e: ``randperm(n, Generator().manual_seed(s_r·100003 + e))``;
* dropout of step t: the default generator seeded with s_r·1000003 + t, each ``nn.Dropout``'s mask
  drawn in forward order as ``F.dropout`` draws it on a CPU (``empty_like(x).bernoulli_(1 − p)``,
  divided by 1 − p), then applied to that replica's activations;
* augmentation of step t: ``Generator().manual_seed(s_r·7919 + t)``;
* SGD, replica-wise, as ``torch.optim.SGD`` (dampening 0): d = g + λ_r θ; b ← μ_r b + d (b = d at
  the first step); d ← d + μ_r b (Nesterov) or b; θ ← θ − η_r(t) d, with η_r(t) the replica's
  schedule (:func:`~dlscope.train.learning_rate`). Learning rate, momentum and weight decay may
  differ between replicas: they keep shapes.
* evaluation points, stopping rules (target accuracy or loss, divergence), ``metrics.jsonl`` rows,
  checkpoints and ``summary.json`` as ``fit`` writes them, so ``fit`` resumes a replica's run
  directory or returns its finished result (a preset that finds its nets trained skips them).

The values equal k separate ``fit`` runs up to float rounding (a batched kernel sums in another
order; tested). A replica that stops is frozen (its update masked) while the others go on; one whose
checkpoint is ahead of the others (a kill between two replicas' checkpoints) waits frozen until they
reach its step. Every replica is computed at every step, so a resumed group computes bit for bit
what an uninterrupted one computes. Refused with a ValueError (one line): models with buffers (batch
norm statistics), other dropout modules, probes, the fast-path options, and replicas that differ in
architecture, data shapes, batch size, budget, evaluation schedule, loss, dtype or device.
"""
from __future__ import annotations

import contextlib
import time
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from ..data.dataset import Dataset
from .augment import augment
from .checkpoint import read_checkpoint, save_checkpoint
from .config import FAST_PATH, TrainConfig
from .fastpath import config_record
from .loop import RunResult, divergence, loss_function
from .rundir import RunDir, environment
from .schedules import learning_rate
from .vmapped import DropoutSites, functional_base, sgd_step
from .._io import json_digest, to_jsonable, write_json

__all__ = ["fit_replicas", "check_replicas"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_SAME = ("batch_size", "loss", "dtype", "device", "nesterov", "eval_batch")


def check_replicas(models: list, datasets: list, configs: list) -> None:
    """Raise a one-line ValueError unless the k nets can be trained as one vmapped model."""
    k = len(models)
    if k == 0 or len(datasets) != k or len(configs) != k:
        raise ValueError("replicas: give as many datasets and configs as models (at least one)")
    shapes = [[(n, tuple(p.shape)) for n, p in m.named_parameters()] for m in models]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("replicas: the nets differ in architecture (parameter names or shapes)")
    if any(True for m in models for _ in m.buffers()):
        raise ValueError("replicas: models with buffers (batch norm statistics) are not supported; train them with fit")
    odd = {type(m).__name__ for m in models[0].modules() if isinstance(m, nn.modules.dropout._DropoutNd)
           and type(m) is not nn.Dropout}
    if odd:
        raise ValueError(f"replicas: only nn.Dropout is supported, not {', '.join(sorted(odd))}")
    d0 = datasets[0]
    for d in datasets:
        if (d.input_shape, d.n_train, d.n_test, d.num_classes) != (d0.input_shape, d0.n_train, d0.n_test, d0.num_classes):
            raise ValueError("replicas: the datasets differ in input shape, size or number of classes")
    c0 = configs[0]
    for c in configs:
        bad = [f for f in _SAME if getattr(c, f) != getattr(c0, f)]
        if c.budget(d0.n_train) != c0.budget(d0.n_train):
            bad.append("budget (steps, evaluation points)")
        if bad:
            raise ValueError(f"replicas: the configs differ in {', '.join(bad)}")
        on = [f for f, off in FAST_PATH.items() if getattr(c, f) != off]
        if on:
            raise ValueError(f"replicas: the fast-path options ({', '.join(on)}) are not supported")


def _record(model: nn.Module, ds: Dataset, cfg: TrainConfig, extra: dict | None) -> dict:
    """The run's config.json, as ``fit`` writes it (a test keeps the two equal)."""
    return to_jsonable({"train": config_record(cfg), "data": {"name": ds.name, "hash": ds.hash, **ds.meta},
            "model": {"class": type(model).__name__, "spec": getattr(model, "spec", None),
                      "parameters": sum(p.numel() for p in model.parameters())}, **(extra or {})})


class _Replica:
    """One replica's bookkeeping: its run directory (restored as ``fit`` restores it: every file verified,
    see :meth:`RunDir.restore`), optimizer (for checkpoints), metrics, initial loss and stopping state.
    Call under the run directory's lock."""

    def __init__(self, model, ds, cfg, run_dir, extra, index, k):
        self.model, self.ds, self.cfg, self.index = model, ds, cfg, index
        self.rd = RunDir(run_dir) if run_dir is not None else None
        self.opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                                   weight_decay=cfg.weight_decay)
        self.step, self.metrics, self.resumed_from, self.result, self.recovered = 0, [], None, None, None
        self.note, self.initial_loss = f"trained as replica {index + 1} of {k} (vmapped)", None
        self.loss_count, self.lr = 0, cfg.lr
        self.record = _record(model, ds, cfg, extra)
        if self.rd is not None:
            state = self.rd.restore(self.record, model, self.opt)
            self.recovered, self.initial_loss = state.recovered, state.extra.get("initial_loss")
            if state.summary is not None:  # finished, verified
                s = state.summary
                self.result = RunResult(state.metrics, s["final"], s["steps_to_fit"], s["steps"], self.rd.path, None,
                                        s.get("wall_time_s", 0.0), s.get("diverged", False), s.get("notes", []),
                                        s.get("diverged_reason"), state.recovered)
            elif state.resumed:
                self.step, self.metrics, self.resumed_from = state.step, state.metrics, state.step
            else:
                self.rd.start(self.record, environment(str(cfg.device), cfg.dtype, ds.hash))
        self.steps_to_fit = next((m["step"] for m in self.metrics if self.reached(m)), None)
        self.why = next((w for m in self.metrics if (w := divergence(m, self.initial_loss))), None)

    def reached(self, m: dict) -> bool:
        c = self.cfg
        return ((c.target_train_acc is not None and m["train_acc"] >= c.target_train_acc)
                or (c.target_train_loss is not None and float(m["train_loss"]) <= c.target_train_loss))


def fit_replicas(models: list, datasets: list, configs: list, *, run_dirs: list | None = None,
                 extra_configs: list | None = None, progress: Callable[[int, int], None] | None = None
                 ) -> list[RunResult]:
    """Train ``models[r]`` on ``datasets[r]`` with ``configs[r]`` for every r as one vmapped model
    (see the module docstring); returns one :class:`RunResult` per replica, the nets trained in place."""
    check_replicas(models, datasets, configs)
    k, cfg0 = len(models), configs[0]
    device, dtype = torch.device(cfg0.device), _DTYPES[cfg0.dtype]
    for m in models:
        m.to(device=device, dtype=dtype)
    dss = [d.to(device) for d in datasets]
    with contextlib.ExitStack() as locks:  # each run directory under its lock, as fit holds it
        for d in run_dirs or ():
            locks.enter_context(RunDir(d).lock())
        reps = [_Replica(models[r], dss[r], configs[r], None if run_dirs is None else run_dirs[r],
                         None if extra_configs is None else extra_configs[r], r, k) for r in range(k)]
        return _train(reps, models, dss, configs, progress)


def _train(reps: list, models: list, dss: list, configs: list, progress) -> list[RunResult]:
    k, cfg0 = len(reps), configs[0]
    device, dtype = torch.device(cfg0.device), _DTYPES[cfg0.dtype]
    loss_fn = loss_function(cfg0.loss, dss[0].num_classes)
    n, B = dss[0].n_train, min(cfg0.batch_size, dss[0].n_train)
    spe, max_steps, eval_every = cfg0.budget(n)
    xtr, ytr = torch.stack([d.x_train.to(dtype) for d in dss]), torch.stack([d.y_train for d in dss])
    xte, yte = torch.stack([d.x_test.to(dtype) for d in dss]), torch.stack([d.y_test for d in dss])
    rows = torch.arange(k, device=device)[:, None]

    params = {name: p.detach().requires_grad_() for name, p in stack_module_state(models)[0].items()}
    momentum = {name: torch.zeros_like(p) for name, p in params.items()}
    for rep in reps:
        for name, p in rep.model.named_parameters():
            buf = rep.opt.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                momentum[name][rep.index] = buf
    base = functional_base(models[0])
    dropout = DropoutSites(models[0], dss[0].input_shape)
    mu = torch.tensor([c.momentum for c in configs], dtype=dtype, device=device)
    wd = torch.tensor([c.weight_decay for c in configs], dtype=dtype, device=device)
    batched = vmap(lambda p, masks, x: functional_call(base, {**p, **masks}, (x,)))
    loss_sums = torch.zeros(k, device=device)
    t0, perms = time.perf_counter(), {}
    while True:
        for rep in reps:
            if rep.result is None and (rep.step >= max_steps or rep.steps_to_fit is not None or rep.why):
                _finish(rep, params, momentum, time.perf_counter() - t0, k)
        live = [rep.step for rep in reps if rep.result is None]
        if not live:
            break
        t = min(live)
        active = torch.tensor([rep.result is None and rep.step == t for rep in reps], device=device)
        epoch, i = divmod(t, spe)
        idx = torch.stack([_perm(perms, rep.cfg.seed, epoch, n, device)[i * B : (i + 1) * B] for rep in reps])
        x, y = xtr[rows, idx], ytr[rows, idx]
        if any(rep.cfg.augment for rep in reps):
            x = torch.stack([augment(x[r], torch.Generator().manual_seed(rep.cfg.seed * 7_919 + t)) if rep.cfg.augment
                             else x[r] for r, rep in enumerate(reps)])
        base.train()
        out = batched(params, dropout.masks(reps, t, x.shape[1], dtype, device), x)
        losses = torch.stack([loss_fn(out[r], y[r]) for r in range(k)])
        grads = torch.autograd.grad(losses.sum(), list(params.values()))
        lrs = [learning_rate(rep.cfg, t, spe) for rep in reps]
        lr = torch.tensor(lrs, dtype=dtype, device=device)
        sgd_step(params, momentum, grads, active, lr, mu, wd, cfg0.nesterov)
        loss_sums = torch.where(active, loss_sums + losses.detach().float(), loss_sums)
        for rep in reps:
            if bool(active[rep.index]):
                if rep.step == 0:
                    rep.initial_loss = float(losses[rep.index].detach())  # L₀: the divergence rule's reference
                rep.step, rep.loss_count, rep.lr = rep.step + 1, rep.loss_count + 1, lrs[rep.index]
        if progress is not None:
            progress(t + 1, max_steps)
        at_eval = [bool(active[r]) and (rep.step % eval_every == 0 or rep.step == max_steps) for r, rep in enumerate(reps)]
        if any(at_eval):
            _evaluate_and_save(reps, at_eval, base, params, momentum, (xtr, ytr, xte, yte), loss_fn, loss_sums, spe)
    _load_back(reps, params)
    return [rep.result for rep in reps]


def _perm(cache: dict, seed: int, epoch: int, n: int, device) -> torch.Tensor:
    """Epoch ``epoch``'s batch order of the replica with ``seed`` (fit's generator and seed)."""
    if (seed, epoch) not in cache:
        for old in [c for c in cache if c[0] == seed]:
            del cache[old]
        cache[(seed, epoch)] = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).to(device)
    return cache[(seed, epoch)]


@torch.no_grad()
def _evaluate(base, params: dict, x: torch.Tensor, y: torch.Tensor, loss_fn, chunk: int) -> tuple[list, list]:
    """Per replica (mean loss, accuracy) in eval mode, in chunks (fit's ``evaluate``, vmapped)."""
    base.eval()
    k, n = y.shape
    total, correct = [0.0] * k, torch.zeros(k, dtype=torch.long, device=y.device)
    forward = vmap(lambda p, xc: functional_call(base, p, (xc,)))
    detached = {name: p.detach() for name, p in params.items()}
    for i in range(0, n, chunk):
        out, yc = forward(detached, x[:, i : i + chunk]), y[:, i : i + chunk]
        for r in range(k):
            total[r] += float(loss_fn(out[r], yc[r])) * yc.shape[1]
        correct += (out.argmax(-1) == yc).sum(1)
    return [s / max(n, 1) for s in total], [int(c) / max(n, 1) for c in correct]


def _evaluate_and_save(reps, at_eval, base, params, momentum, data, loss_fn, loss_sums, spe) -> None:
    """Evaluation point of the replicas in ``at_eval``: metrics row, stopping rule, checkpoint."""
    xtr, ytr, xte, yte = data
    chunk = max(256, reps[0].cfg.eval_batch // len(reps))
    tr_loss, tr_acc = _evaluate(base, params, xtr, ytr, loss_fn, chunk)
    te_loss, te_acc = _evaluate(base, params, xte, yte, loss_fn, chunk)
    for r, rep in enumerate(reps):
        if not at_eval[r]:
            continue
        row = {"step": rep.step, "epoch": rep.step / spe, "lr": rep.lr,
               "batch_loss": float(loss_sums[r]) / rep.loss_count, "train_loss": tr_loss[r], "train_acc": tr_acc[r],
               "test_loss": te_loss[r], "test_acc": te_acc[r]}
        rep.metrics.append(row)
        loss_sums[r], rep.loss_count = 0.0, 0
        if rep.reached(row):
            rep.steps_to_fit = rep.step
        rep.why = divergence(row, rep.initial_loss)
        if rep.rd is not None:
            rep.rd.append_metrics(row)
            _materialize(rep, params, momentum)
            save_checkpoint(rep.rd.checkpoint, rep.model, rep.opt, rep.step,
                            {"initial_loss": rep.initial_loss, "config_sha256": json_digest(rep.record),
                             **rep.rd.metrics_record()})


def _materialize(rep: "_Replica", params: dict, momentum: dict) -> None:
    """Copy replica ``rep``'s slice of the stacked weights (and momentum) into its own module and optimizer."""
    with torch.no_grad():
        for name, p in rep.model.named_parameters():
            p.copy_(params[name][rep.index])
            if rep.cfg.momentum != 0 and rep.step > 0:
                rep.opt.state[p]["momentum_buffer"] = momentum[name][rep.index].clone()
    for group in rep.opt.param_groups:
        group["lr"] = rep.lr


def _finish(rep: "_Replica", params: dict, momentum: dict, wall: float, k: int) -> None:
    """The replica's summary.json (as ``fit`` writes it, digests included) and RunResult (wall time: its
    share of the group's)."""
    final = dict(rep.metrics[-1]) if rep.metrics else {}
    notes, rd = [rep.note], rep.rd
    if rd is not None:
        write_json(rd.summary, {"final": final, "steps_to_fit": rep.steps_to_fit, "steps": rep.step,
                                "fitted": rep.steps_to_fit is not None, "diverged": rep.why is not None,
                                "diverged_reason": rep.why, "initial_loss": rep.initial_loss, "wall_time_s": wall / k,
                                "notes": notes, "config_sha256": json_digest(rep.record),
                                "checkpoint_sha256": read_checkpoint(rd.checkpoint)[1]["meta_sha256"],
                                **rd.metrics_record()}, digest=True)
    rep.result = RunResult(rep.metrics, final, rep.steps_to_fit, rep.step, rd.path if rd else None,
                           rep.resumed_from, wall / k, rep.why is not None, notes, rep.why, rep.recovered)


def _load_back(reps: list, params: dict) -> None:
    with torch.no_grad():
        for rep in reps:
            for name, p in rep.model.named_parameters():
                p.copy_(params[name][rep.index])
