"""``dlscope verify OUT``: which files of a run, preset or sweep directory are intact.

Walks ``OUT`` and checks every directory dlscope wrote, with the same checks a resume applies
(issue 17; :mod:`dlscope.train.rundir` says what vouches for what):

* a **training run** (``checkpoint.safetensors`` / ``metrics.jsonl``): ``config.json``, ``env.json``
  and ``summary.json`` against their own SHA-256; the checkpoint's layout, metadata and every
  tensor against its digests, and against the configuration; each metrics row against its digest,
  and the rows as a whole against what the summary (finished) or the checkpoint (unfinished) records;
* a **preset** directory (``config.json`` with a ``"preset"``): its config, env and summary, and each
  sub-run summary against the digest the preset summary recorded when it read it (``"runs"``).

Stale temporaries of a killed writer and rows written after the last checkpoint are reported as
notes (a resume removes them), not as damage. Returns findings; the CLI prints them.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .._io import IntegrityError, check_line, json_digest, read_json, stale_temporaries
from ..train.checkpoint import read_checkpoint
from ..train.rundir import RunDir

__all__ = ["Finding", "verify_tree"]

_MARKERS = ("config.json", "summary.json", "checkpoint.safetensors", "metrics.jsonl")


@dataclasses.dataclass(frozen=True)
class Finding:
    path: Path
    ok: bool            # False: damaged (a resume re-derives it)
    what: str           # "intact", or what is wrong, or a note
    note: bool = False  # informational (stale temporary, rows past the checkpoint)


def _json(path: Path, out: list) -> dict | None:
    try:
        obj = read_json(path, required=True)
    except FileNotFoundError:
        out.append(Finding(path, False, "missing"))
        return None
    except IntegrityError as e:
        out.append(Finding(path, False, str(e).split(": ", 1)[-1]))
        return None
    out.append(Finding(path, True, "intact"))
    return obj


def _run(d: Path, out: list) -> None:
    rd = RunDir(d)
    config = _json(rd.config, out)
    _json(rd.env, out)
    summary = _json(rd.summary, out) if rd.summary.exists() else None
    record = summary
    if rd.checkpoint.exists():
        try:
            _, meta = read_checkpoint(rd.checkpoint)
            extra = json.loads(meta["extra"])
            if config is not None and extra.get("config_sha256") != json_digest(config):
                raise IntegrityError(f"{rd.checkpoint}: belongs to another configuration")
            if summary is not None and summary.get("checkpoint_sha256") != meta["meta_sha256"]:
                raise IntegrityError(f"{rd.checkpoint}: not the checkpoint the summary was written with")
            out.append(Finding(rd.checkpoint, True, f"intact (step {meta['step']})"))
            record = summary if summary is not None else extra
        except (IntegrityError, KeyError, ValueError) as e:
            out.append(Finding(rd.checkpoint, False, str(e).split(": ", 1)[-1]))
    elif summary is not None:
        out.append(Finding(rd.checkpoint, False, "missing (the summary needs it)"))
    if rd.metrics.exists():
        lines = rd.metrics.read_bytes().splitlines(keepends=True)
        bad = [i + 1 for i, line in enumerate(lines) if check_line(line.decode("utf-8", "replace")) is None]
        n = int(record["metrics_rows"]) if record and "metrics_rows" in record else None
        try:
            if bad and (n is None or min(bad) <= n):
                raise IntegrityError(f"{rd.metrics}: row(s) {', '.join(map(str, bad))} do not match their sha256")
            if n is not None:
                rd.verified_metrics(record)
            out.append(Finding(rd.metrics, True, f"intact ({n if n is not None else len(lines)} rows)"))
            if n is not None and len(lines) > n:
                out.append(Finding(rd.metrics, True, f"{len(lines) - n} row(s) past the checkpoint "
                                                     "(dropped on resume)", note=True))
        except IntegrityError as e:
            out.append(Finding(rd.metrics, False, str(e).split(": ", 1)[-1]))


def _preset(d: Path, out: list) -> None:
    _json(d / "config.json", out)
    _json(d / "env.json", out)
    summary = _json(d / "summary.json", out) if (d / "summary.json").exists() else None
    if not (d / "summary.json").exists():
        out.append(Finding(d / "summary.json", True, "absent: the preset is unfinished (the same command "
                                                     "resumes it)", note=True))
    for name, digest in (summary or {}).get("runs", {}).items():
        path = d / "runs" / name / "summary.json"
        try:
            if json_digest(read_json(path, required=True)) != digest:
                raise IntegrityError("not the sub-run summary the preset summary was computed from")
        except FileNotFoundError:
            out.append(Finding(path, False, "missing (the preset summary was computed from it)"))
        except IntegrityError as e:
            out.append(Finding(path, False, f"{str(e).split(': ', 1)[-1]} (read by the preset summary)"))


def verify_tree(root: str | Path) -> list[Finding]:
    """Findings for every dlscope directory under ``root`` (``root`` included), in path order."""
    root = Path(root)
    out: list[Finding] = []
    dirs = sorted({p.parent for m in _MARKERS for p in root.rglob(m)} | ({root} if any(
        (root / m).exists() for m in _MARKERS) else set()))
    for d in dirs:
        try:
            head = json.loads((d / "config.json").read_text(encoding="utf-8")) if (d / "config.json").exists() else {}
        except (ValueError, UnicodeDecodeError):
            head = {}
        is_preset = isinstance(head, dict) and "preset" in head or (d / "runs").is_dir()
        (_preset if is_preset else _run)(d, out)
    for p in stale_temporaries(root):
        out.append(Finding(p, True, "stale temporary of a killed write (removed on resume)", note=True))
    return out
