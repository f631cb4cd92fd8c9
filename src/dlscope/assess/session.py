"""One measurement session: the chosen measures on one net and its examples, written as a report.

``assess(model, inputs, what=[...], out=DIR)`` runs each measure of :data:`.measures.WHAT` in
turn (a ``ValueError`` from an instrument makes that entry ``refused`` with its one-line reason;
any other exception makes it ``failed`` with a one-line reason and the session continues), then
``--per-layer`` (:mod:`.per_layer`), and writes

```
DIR/config.json  what was asked (model source, weights, data, measures, options, seed)
DIR/env.json     versions, device, dtype, threads, data hash
DIR/summary.json every value with its stderr, seed and settings
DIR/report.md, DIR/report.html, DIR/figures/*.png
```
The model is measured in eval mode (BatchNorm running statistics, dropout off — every
instrument records its mode) and handed back unchanged.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

from .. import measure as M
from .._io import to_jsonable, write_json
from ..report import write_measurement_report
from ..report.figures import save
from ..report.format import fmt
from ..train import environment, loss_function
from .inputs import Inputs
from .measures import OPTIONS, WHAT, Context
from .per_layer import per_layer as run_per_layer
from .sources import AssessError

__all__ = ["assess", "parse_what", "parse_options", "default_out", "summary_lines"]


def parse_what(spec: str | list[str]) -> list[str]:
    items = [w.strip() for w in (spec.split(",") if isinstance(spec, str) else spec) if w.strip()]
    if items == ["all"]:
        return list(WHAT)
    bad = [w for w in items if w not in WHAT]
    if bad or not items:
        raise AssessError(f"unknown measure(s) {bad or '(none)'}; choose from {', '.join(WHAT)} or all")
    return list(dict.fromkeys(items))


def parse_options(pairs: list[str] | None) -> dict:
    out = dict(OPTIONS)
    for p in pairs or []:
        k, sep, v = p.partition("=")
        if not sep or k.strip() not in OPTIONS:
            raise AssessError(f"--option expects key=value with key one of {', '.join(OPTIONS)}; got {p!r}")
        try:
            out[k.strip()] = type(OPTIONS[k.strip()])(v.strip())
        except ValueError:
            raise AssessError(f"--option {k.strip()}: expected a {type(OPTIONS[k.strip()]).__name__}, got {v!r}") from None
    return out


def _one_line(e: BaseException) -> str:
    """``Type: message`` as one printable line (an error from a user's model may quote anything)."""
    return str(AssessError(f"{type(e).__name__}: {str(e) or 'no message'}"))


def assess(model: nn.Module, inputs: Inputs, *, what: list[str], out: str | Path, per_layer: bool = False,
           loss: str = "ce", seed: int = 0, options: dict | None = None, source: dict | None = None,
           device: str = "cpu", progress: Optional[Callable[[str, int, int], None]] = None) -> dict:
    """Measure ``model`` on ``inputs`` and write the report into ``out`` (module docstring); the summary."""
    if loss not in ("ce", "mse"):
        raise AssessError(f"--loss must be ce or mse, got {loss!r}")
    what = parse_what(what)
    options = {**OPTIONS, **(options or {})}
    if not 0 <= seed < 2 ** 63:
        raise AssessError(f"--seed must lie in [0, 2^63), got {seed}")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise AssessError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise AssessError(f"--device {device} asked for, but torch sees no CUDA device here")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AssessError(f"--out {out} is a file, not a folder")
    p = next(model.parameters(), None)
    if p is None:
        raise AssessError("the model has no parameters to measure")
    model.to(device)
    dtype = next(model.parameters()).dtype
    x, y = inputs.x.to(device, dtype), inputs.y.to(device)
    with M.preserved(model), torch.no_grad():
        try:
            logits = model.eval()(x[:2])
        except Exception as e:  # noqa: BLE001 — a user's model that cannot take this data: one line
            raise AssessError(f"the model cannot take inputs of shape {tuple(x.shape[1:])}: {_one_line(e)}") from None
    if logits.dim() != 2 or logits.shape[1] < inputs.num_classes:
        raise AssessError(f"the model's output {tuple(logits.shape)} is not (batch, ≥{inputs.num_classes}) logits")
    ctx = Context(model, x, y, loss_function(loss, logits.shape[1]), seed, options)
    record = {"command": "dlscope measure", "model": source or {}, "data": inputs.record, "what": what,
              "per_layer": per_layer, "loss": loss, "seed": seed, "options": options, "device": device}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", record)
    write_json(out / "env.json", environment(device, str(dtype).removeprefix("torch."), inputs.record["data_hash"]))
    t_start = time.perf_counter()
    entries, steps = [], what + (["per-layer"] if per_layer else [])
    rows, notes = None, None
    for i, key in enumerate(steps):
        if progress:
            progress(key, i, len(steps))
        t0 = time.perf_counter()
        try:
            if key == "per-layer":
                rows, notes = run_per_layer(ctx)
                continue
            new = WHAT[key](ctx)
        except ValueError as e:
            new = [{"measure": key, "quantity": key, "status": "refused", "value": None, "stderr": None,
                    "seed": None, "settings": {}, "reason": _one_line(e)}]
        except Exception as e:  # noqa: BLE001 — reported in the page; the other measures still run
            new = [{"measure": key, "quantity": key, "status": "failed", "value": None, "stderr": None,
                    "seed": None, "settings": {}, "reason": _one_line(e)}]
        for e in new:
            e["time_s"] = time.perf_counter() - t0
        entries += new
    if progress:
        progress("done", len(steps), len(steps))
    figures, captions = [], {}
    for name, fig, caption in ctx.figures:
        save(fig, out / "figures" / name)
        figures.append(f"figures/{name}")
        captions[f"figures/{name}"] = caption
    spectra = next((e.pop("layers") for e in entries if e["measure"] == "weights" and "layers" in e), None)
    summary = {"kind": "measurement", "title": f"Measurements of {(source or {}).get('class', type(model).__name__)}",
               "model": {**(source or {}), "class": type(model).__name__, "num_params": M.param_count(model)},
               "data": inputs.record, "loss": loss, "seed": seed, "measures": entries,
               "weight_spectra": spectra, "per_layer": rows, "per_layer_notes": notes,
               "figures": figures, "captions": captions, "wall_time_s": time.perf_counter() - t_start}
    summary = to_jsonable(summary)
    write_json(out / "summary.json", summary)
    write_measurement_report(out, summary)
    return summary



def default_out(request: dict) -> Path:
    """measurements/NET-HASH: NET the run folder's or the model class's name, HASH (8 hex digits) a
    digest of every argument of the request, so different requests never share a folder."""
    net = Path(request["run_dir"]).name if request.get("run_dir") else str(request.get("model", "net")).rpartition(":")[2]
    digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path("measurements") / f"{net}-{digest}"


def summary_lines(summary: dict) -> list[str]:
    """One line per measured quantity: ``[status] measure: quantity = value ± stderr`` (or the reason)."""
    lines = []
    for e in summary["measures"]:
        value = fmt(e["value"]) + (f" ± {fmt(e['stderr'])}" if e.get("stderr") is not None else "")
        tail = f" = {value}" if e["status"] == "measured" else f": {e.get('reason', '')}"
        lines.append(f"[{e['status']}] {e['measure']}: {e['quantity']}{tail}")
    return lines
