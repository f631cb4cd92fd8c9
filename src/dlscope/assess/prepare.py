"""From command-line words to (model, inputs, source record): the two ways to name a net.

* ``--model module:Class [--model-arg k=v ...] [--weights FILE] --data NAME|FILE.npz``;
* ``RUN_DIR`` — a training run dlscope wrote (or a preset folder with one trained net): the net is
  rebuilt from ``config.json``'s ``model_build`` and ``checkpoint.safetensors``; the data default
  to the run's own training data (rebuilt, its hash compared with the recorded one).
"""
from __future__ import annotations

from pathlib import Path

from .._io import read_json
from ..data import NAMES
from .inputs import Inputs, inputs_by_name, inputs_from_npz, run_dataset, take
from .sources import AssessError, find_run, load_model, load_weights, model_from_run, parse_model_args

__all__ = ["prepare"]


def _inputs(data: str, *, split: str, n: int | None, seed: int, root: str | None) -> Inputs:
    if data.endswith(".npz") or (Path(data).is_file() and data not in NAMES):
        return inputs_from_npz(data, split=split, n=n, seed=seed)
    return inputs_by_name(data, split=split, n=n, seed=seed, root=root)


def prepare(*, run_dir: str | None = None, model: str | None = None, model_args: list[str] | None = None,
            weights: str | None = None, data: str | None = None, split: str = "train", n: int | None = 2000,
            seed: int = 0, data_root: str | None = None, search_path=(".",)):
    """(model, inputs, source record) for ``dlscope measure`` (module docstring)."""
    if (run_dir is None) == (model is None):
        raise AssessError("name the net either as RUN_DIR or with --model module:Class (not both)")
    if run_dir is not None:
        if model_args or weights:
            raise AssessError("--model-arg and --weights go with --model; a RUN_DIR brings its own")
        run = find_run(run_dir)
        if data is None:
            ds, same = run_dataset(read_json(run / "config.json"), root=data_root)
            x, y = (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)
            x, y = take(x, y, n, seed)
            inputs = Inputs(x, y, ds.num_classes, {"source": f"{ds.name} (the run's own data)", "split": split,
                                                   "n": len(y), "subset_seed": seed, "dataset_hash": ds.hash,
                                                   "matches_training_data": same})
        else:
            inputs = _inputs(data, split=split, n=n, seed=seed, root=data_root)
        net, record = model_from_run(run, inputs.input_shape, inputs.num_classes)
        return net, inputs, {"source": str(run), **record}
    if data is None:
        raise AssessError("--data NAME|FILE.npz is needed with --model")
    inputs = _inputs(data, split=split, n=n, seed=seed, root=data_root)
    kwargs = parse_model_args(model_args)
    net = load_model(model, kwargs, search_path=search_path)
    record = {"source": model, "model_args": kwargs}
    if weights is not None:
        record.update(load_weights(net, weights))
    return net, inputs, record
