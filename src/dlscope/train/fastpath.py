"""One training step's forward and backward, on the fast path a :class:`TrainConfig` asks for.

Three options, all off by default (a plain run computes exactly what it computed before they
existed); they exist for CUDA, where a CIFAR-size net is launch- and bandwidth-bound:

* ``amp_bf16``: forward and backward under ``torch.autocast(dtype=bfloat16)`` — matmuls and
  convolutions in bf16 on tensor cores, losses and reductions in float32 (autocast's op lists).
  Weights, gradients, momentum and evaluation stay float32. CUDA only (refused by the config on
  a CPU, where it would be slow and change every result) and on a bf16-capable GPU.
* ``channels_last``: NHWC memory format for the model's 4-D weights and each 4-D input batch
  (cuDNN's tensor-core kernels want NHWC; elsewhere it saves layout transposes). Same values up
  to float rounding (a different summation order inside the convolutions). No effect on 1-D data
  (noted). The model is handed back in the default format, so code that ``view``s weights works.
* ``compile``: ``torch.compile(model, mode=compile_mode)``; ``"reduce-overhead"`` adds CUDA
  graphs (one replay per step instead of hundreds of kernel launches: small nets). Compilation
  happens lazily, in the forward and backward of the first step with a new batch shape (the first
  step; the last, partial batch of an epoch); if it raises — no C++ compiler, an unsupported
  Python or platform, an op the compiler cannot handle — that step is undone (buffers such as
  BatchNorm statistics and the RNG state restored, gradients cleared), redone uncompiled, and
  training goes on uncompiled with a one-line note in ``notes`` (``RunResult.notes`` and
  ``summary.json``); the note says "compiled with ..." when it worked. Evaluation, probes and checkpoints always use the plain module, never the
  compiled wrapper, so checkpoint keys carry no ``_orig_mod.`` prefix and evaluation at another
  batch size or in eval mode triggers no recompilation.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch
from torch import nn

from .config import FAST_PATH, LATE_DEFAULTS, TrainConfig

__all__ = ["TrainStep", "config_record"]

# Fields added to TrainConfig after run directories already existed: written into config.json
# only when switched on, so a run started before they existed still resumes (its config matches).
_LATE_FIELDS = ("channels_last", "compile", "compile_mode")


def config_record(cfg: TrainConfig) -> dict:
    """The ``train`` part of a run's config.json: every field, fast-path ones only when on."""
    rec = dataclasses.asdict(cfg)
    for k in _LATE_FIELDS:
        if rec[k] == FAST_PATH[k]:
            del rec[k]
    for k, default in LATE_DEFAULTS.items():  # issue 11's fields, likewise only when changed
        if rec[k] == default:
            del rec[k]
    return rec


class TrainStep:
    """``step(x, y) -> loss``: forward, loss and backward of one minibatch (gradients accumulate
    into the plain ``model``'s ``.grad``; the caller zeroes them and steps the optimizer)."""

    def __init__(self, model: nn.Module, loss_fn: Callable, cfg: TrainConfig, device: torch.device):
        self.model, self.loss_fn, self.device = model, loss_fn, device
        self.notes: list[str] = []
        if cfg.amp_bf16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ValueError(f"amp_bf16: {torch.cuda.get_device_name(device)} has no bfloat16 support")
        self.autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.amp_bf16)
        self.channels_last, self._noted_layout = cfg.channels_last, False
        self.compile_mode = cfg.compile_mode
        if cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        self.forward: Callable = model
        self._compiled, self._shapes = False, set()  # batch shapes compiled so far
        self._mark_step = cfg.compile and cfg.compile_mode == "reduce-overhead"
        if cfg.compile:
            try:
                self.forward = torch.compile(model, mode=cfg.compile_mode)
                self._compiled = True
            except Exception as e:  # noqa: BLE001 — any refusal (platform, Python version) means: run eager
                self._fall_back(e)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            if x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            elif not self._noted_layout:
                self._noted_layout = True
                self.notes.append(f"channels_last: inputs are {x.dim()}-D, not 4-D images; no effect on them")
        if self._compiled and tuple(x.shape) not in self._shapes:
            return self._try_compiled(x, y)
        return self._step(x, y)

    def _step(self, x, y):
        if self._mark_step:  # CUDA graphs: this step's replay may overwrite the last step's outputs
            torch.compiler.cudagraph_mark_step_begin()
        with self.autocast:
            loss = self.loss_fn(self.forward(x), y)
        loss.backward()
        return loss

    def _try_compiled(self, x, y):
        """A step that compiles (a new batch shape); undone and redone eagerly if compilation fails."""
        buffers = [b.detach().clone() for b in self.model.buffers()]
        rng = torch.get_rng_state()
        cuda_rng = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        try:
            loss = self._step(x, y)
            if not self._shapes:
                self.notes.append(f"compiled with torch.compile(mode={self.compile_mode!r})")
            self._shapes.add(tuple(x.shape))
            return loss
        except Exception as e:  # noqa: BLE001 — compiler errors come in many types (Inductor, OSError, …)
            with torch.no_grad():
                for b, saved in zip(self.model.buffers(), buffers):
                    b.copy_(saved)
            for p in self.model.parameters():
                p.grad = None
            torch.set_rng_state(rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state(cuda_rng, self.device)
            self._fall_back(e)
            return self._step(x, y)

    def _fall_back(self, e: Exception) -> None:
        self.forward, self._mark_step, self._compiled = self.model, False, False
        msg = (str(e).strip().splitlines() or [""])[0][:200]
        self.notes.append(f"torch.compile failed ({type(e).__name__}: {msg}); trained uncompiled")
