"""Training: ``fit(model, dataset, TrainConfig(...), run_dir=...)`` — SGD in one readable loop;
``fit_replicas(models, datasets, configs, run_dirs=...)`` — k such runs as one vmapped model."""
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .loop import DIVERGENCE_FACTOR, RunResult, divergence, evaluate, fit, loss_function
from .replicas import check_replicas, fit_replicas  # k fits as one vmapped model
from .._io import IntegrityError, read_json, write_json
from .rundir import RunDir, environment
from .schedules import learning_rate, plateau_drops
from .snapshots import SnapshotSizeError, read_snapshots

__all__ = ["fit", "TrainConfig", "RunResult", "evaluate", "loss_function", "learning_rate", "plateau_drops",
           "read_snapshots", "SnapshotSizeError", "RunDir", "environment", "save_checkpoint", "load_checkpoint",
           "read_checkpoint", "read_json", "write_json", "DIVERGENCE_FACTOR", "divergence", "IntegrityError",
           "fit_replicas", "check_replicas"]
