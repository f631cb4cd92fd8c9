"""The training recipe: one frozen dataclass, every field with its unit (STYLE #9)."""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Optional

__all__ = ["TrainConfig", "COMPILE_MODES", "FAST_PATH"]

COMPILE_MODES = ("default", "reduce-overhead")
FAST_PATH = {"amp_bf16": False, "channels_last": False, "compile": False, "compile_mode": "default"}  # each option: its "off" value


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    max_steps: int = 2000            # SGD steps (the budget); one step = one minibatch
    max_epochs: Optional[float] = None  # the budget in epochs instead (overrides max_steps): ⌈epochs · ⌈n/B⌉⌉ steps
    batch_size: int = 128            # examples per step
    lr: float = 0.01                 # base learning rate η
    momentum: float = 0.9            # heavy-ball momentum (Zhang et al. 2017 use 0.9)
    nesterov: bool = False
    weight_decay: float = 0.0        # L2 coefficient added to the gradient (SGD's weight_decay)
    schedule: str = "constant"       # constant | step | exponential | multistep | cosine
    lr_decay: float = 0.95           # exponential: ×lr_decay per epoch (Zhang et al.); step: ×lr_decay every step_epochs
    step_epochs: float = 30.0        # step schedule period, in epochs
    milestones: tuple = ()           # multistep: epochs at which η is divided by 10 (e.g. (100, 150), He et al. 2016)
    loss: str = "ce"                 # ce (cross-entropy) | mse (squared loss on one-hot targets)
    augment: bool = False            # random crop (pad 4) + horizontal flip for images; random shift for 1-D
    eval_every: int = 100            # steps between evaluation points (full train and test sets)
    eval_every_epochs: Optional[float] = None  # or in epochs (overrides eval_every)
    eval_batch: int = 4096           # batch size for evaluation passes (memory only, no effect on values)
    target_train_acc: Optional[float] = None  # stop at the first eval point with train accuracy ≥ this
    target_train_loss: Optional[float] = None  # or with train loss ≤ this (Jiang et al. 2020 train to CE 0.01)
    seed: int = 0                    # seeds batch order, augmentation and dropout
    device: str = "cpu"              # cpu | cuda | cuda:N
    dtype: str = "float32"           # float32 | float64
    # Fast path (CUDA; all off by default, so CPU results never change — see dlscope.train.fastpath)
    amp_bf16: bool = False           # bfloat16 autocast for forward/backward; CUDA only, float32 only
    channels_last: bool = False      # NHWC memory format for 4-D inputs and the model's 4-D weights
    compile: bool = False            # torch.compile the model; falls back to eager with a note if it fails
    compile_mode: str = "default"    # default | reduce-overhead (CUDA graphs: small, launch-bound nets)

    def __post_init__(self):
        if self.schedule not in ("constant", "step", "exponential", "multistep", "cosine"):
            raise ValueError(f"schedule must be constant|step|exponential|multistep|cosine, got {self.schedule!r}")
        if self.loss not in ("ce", "mse"):
            raise ValueError(f"loss must be 'ce' or 'mse', got {self.loss!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        for f in ("max_steps", "batch_size", "eval_every", "eval_batch"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{f} must be an integer ≥ 1, got {v!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2 ** 63:
            raise ValueError(f"seed must be an integer in [0, 2^63), got {self.seed!r}")
        for f, ok, rule in (("lr", lambda v: v > 0, "> 0"), ("momentum", lambda v: 0 <= v < 1, "in [0, 1)"),
                            ("weight_decay", lambda v: v >= 0, "≥ 0"), ("lr_decay", lambda v: v > 0, "> 0"),
                            ("step_epochs", lambda v: v > 0, "> 0")):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not ok(v):
                raise ValueError(f"{f} must be a finite number {rule}, got {v!r}")
        for f, ok, rule in (("max_epochs", lambda v: v > 0, "> 0"), ("eval_every_epochs", lambda v: v > 0, "> 0"),
                            ("target_train_acc", lambda v: 0 < v <= 1, "in (0, 1]"),
                            ("target_train_loss", lambda v: v > 0, "> 0")):
            v = getattr(self, f)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                                  or not ok(v)):
                raise ValueError(f"{f} must be a finite number {rule} (or None), got {v!r}")
        if not all(isinstance(m, (int, float)) and math.isfinite(m) and m >= 0 for m in self.milestones):
            raise ValueError(f"milestones must be epochs ≥ 0, got {self.milestones!r}")
        if not isinstance(self.device, str) or not re.fullmatch(r"cpu|cuda(:\d+)?", self.device):
            raise ValueError(f"device must be cpu, cuda or cuda:N, got {self.device!r}")
        for f in ("nesterov", "augment"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"{f} must be True or False, got {getattr(self, f)!r}")
        for f in ("amp_bf16", "channels_last", "compile"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"{f} must be True or False, got {getattr(self, f)!r}")
        if self.compile_mode not in COMPILE_MODES:
            raise ValueError(f"compile_mode must be {' or '.join(COMPILE_MODES)}, got {self.compile_mode!r}")
        if self.amp_bf16 and not str(self.device).startswith("cuda"):
            # CPU autocast would run, slowly, and change every result: refused rather than silently on
            raise ValueError(f"amp_bf16 needs a CUDA device (device is {self.device!r}); leave it off on CPU")
        if self.amp_bf16 and self.dtype != "float32":
            raise ValueError(f"amp_bf16 needs dtype float32 (autocast leaves {self.dtype} untouched)")

    def budget(self, n_train: int) -> tuple[int, int, int]:
        """(steps per epoch, total steps, steps between evaluation points) for n_train examples."""
        spe = math.ceil(n_train / min(self.batch_size, n_train))
        total = math.ceil(self.max_epochs * spe) if self.max_epochs is not None else self.max_steps
        every = max(1, round(self.eval_every_epochs * spe)) if self.eval_every_epochs is not None else self.eval_every
        return spe, total, every
