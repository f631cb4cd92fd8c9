"""Files: JSON conversion, atomic writes and reads — the one place for temp-file-and-rename.

Every file dlscope writes except the append-only ``metrics.jsonl`` goes to a temporary
name in the same folder and is renamed into place (atomic on POSIX), so a kill at any
moment leaves either the old or the new version. Temporaries are named
``.<name>.<random>.tmp`` (:data:`TMP_PATTERN`), which lets a resumed run remove the ones a
kill left behind and nothing else.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["to_jsonable", "atomic_write_text", "atomic_write_bytes", "write_json", "read_json", "temporary_path",
           "publish", "TMP_PATTERN"]

TMP_PATTERN = ".*.tmp"


def to_jsonable(obj: Any) -> Any:
    """Tensors, arrays, numpy scalars and dataclasses → JSON-ready Python values.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` (JSON has no such numbers).
    Duck-typed so that neither torch nor numpy is imported here.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "detach") and hasattr(obj, "tolist"):  # torch.Tensor
        return to_jsonable(obj.detach().cpu().tolist())
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):  # numpy array or scalar
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def temporary_path(path: Path) -> Path:
    """A fresh temporary file beside ``path`` matching :data:`TMP_PATTERN` (created empty)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Rename a finished temporary file into place, with the mode a plain open() would give it."""
    # mkstemp creates files 0600; give the file the mode a plain open() would (the user's umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = temporary_path(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, Path(path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
