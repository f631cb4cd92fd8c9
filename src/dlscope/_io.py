"""Files: JSON conversion, digests, atomic writes and reads, appends, locks — the one place for file I/O.

Every file dlscope writes except the append-only ``metrics.jsonl`` goes to a temporary
name in the same folder and is renamed into place (atomic on POSIX), so a kill at any
moment leaves either the old or the new version. Temporaries are named
``.<name>.<8 random characters>.tmp`` (:data:`TMP_PATTERN`, :data:`TMP_REGEX`), which lets a
resumed run remove the ones a kill left behind and nothing else (:func:`remove_stale_temporaries`,
called only under the directory's lock, so no live writer's temporary is touched).

**Integrity.** A JSON file a later step trusts (a run's config and summary) is written with
``digest=True``: it then carries ``"_sha256"``, the SHA-256 of its canonical form (keys sorted,
no whitespace, the digest key left out), and :func:`read_json` verifies it whenever it is present
— a flipped byte or a hand edit raises :class:`IntegrityError` (one line) instead of being used.
An appended line carries the same kind of digest (:func:`digest_line`, :func:`check_line`).

**Locks.** :func:`hold_lock` takes an advisory ``fcntl.flock`` on ``<dir>/.dlscope.lock`` so two
processes never write one run directory; the second gets :class:`BusyError` naming the holder.

**Test hook** (issue 15's kill-at-every-write test): with ``DLSCOPE_TEST_KILL_AT_WRITE=k`` in the
environment, the process SIGKILLs itself inside its k-th write — after an atomic write's
temporary is complete but before it is renamed, or after half of an appended line. Unset (always,
outside that test) it costs one dictionary lookup per write.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import signal
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

try:  # POSIX; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["to_jsonable", "atomic_write_text", "atomic_write_bytes", "write_json", "read_json", "temporary_path",
           "publish", "TMP_PATTERN", "TMP_REGEX", "DIGEST_KEY", "IntegrityError", "BusyError", "json_digest",
           "digest_line", "check_line", "append_line", "stale_temporaries", "remove_stale_temporaries",
           "hold_lock", "LOCK_NAME", "sha256_hex"]

TMP_PATTERN = ".*.tmp"  # glob of the temporaries; TMP_REGEX is the exact form mkstemp gives them
TMP_REGEX = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
DIGEST_KEY = "_sha256"
LOCK_NAME = ".dlscope.lock"
_KILL_ENV = "DLSCOPE_TEST_KILL_AT_WRITE"
_writes = 0  # writes of this process, counted only while the test hook is armed


class IntegrityError(ValueError):
    """A file dlscope wrote earlier is not what it wrote (digest mismatch, truncation); one line."""


class BusyError(RuntimeError):
    """Another process holds the directory's lock; one line naming it."""


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def json_digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``to_jsonable(obj)`` (sorted keys, no whitespace, no digest key)."""
    obj = to_jsonable(obj)
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != DIGEST_KEY}
    return sha256_hex(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _kill_point() -> bool:
    """True at the k-th write of this process when the test hook is armed (see the module docstring)."""
    global _writes
    k = os.environ.get(_KILL_ENV)
    if not k:
        return False
    _writes += 1
    return _writes == int(k)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def temporary_path(path: Path) -> Path:
    """A fresh temporary file beside ``path`` matching :data:`TMP_REGEX` (created empty)."""
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
        if _kill_point():
            _die()  # the temporary is complete, the target not yet replaced
        publish(tmp, Path(path))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj, *, digest: bool = False) -> None:
    """Write ``obj`` as indented JSON, atomically; with ``digest``, add its ``"_sha256"`` (a dict only)."""
    obj = to_jsonable(obj)
    if digest:
        obj = {**{k: v for k, v in obj.items() if k != DIGEST_KEY}, DIGEST_KEY: json_digest(obj)}
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def read_json(path: Path, *, required: bool = False):
    """Parse a JSON file; verify and drop its ``"_sha256"`` if it has one (``required``: it must).

    A file that is not valid UTF-8 JSON, or whose digest does not match, raises :class:`IntegrityError`.
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise IntegrityError(f"{path}: not valid JSON (truncated or corrupt)") from None
    if isinstance(obj, dict) and DIGEST_KEY in obj:
        stored = obj.pop(DIGEST_KEY)
        if stored != json_digest(obj):
            raise IntegrityError(f"{path}: content does not match its sha256 (corrupt or edited)")
    elif required:
        raise IntegrityError(f"{path}: has no sha256 digest (corrupt, or written by an older dlscope)")
    return obj


def digest_line(row: dict) -> str:
    """One JSON line carrying its own ``"_sha256"`` (a row of an append-only log), newline included."""
    row = to_jsonable(row)
    return json.dumps({**row, DIGEST_KEY: json_digest(row)}) + "\n"


def check_line(line: str, *, required: bool = True) -> dict | None:
    """The row of a :func:`digest_line` line, without its digest; None if unreadable or not matching
    (or, when ``required``, without a digest — a line written by an older dlscope)."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(row, dict):
        return None
    if DIGEST_KEY not in row:
        return None if required else row
    return row if row.pop(DIGEST_KEY) == json_digest(row) else None


def append_line(path: Path, line: str) -> None:
    """Append one line and fsync it (a kill can tear only this line, which readers then drop)."""
    data = line.encode("utf-8")
    with open(path, "ab") as f:
        if _kill_point():
            f.write(data[: len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
            _die()
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporaries of :func:`atomic_write_bytes` under ``folder`` (recursively); nothing else matches."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob(TMP_PATTERN) if p.is_file() and TMP_REGEX.match(p.name))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove what a kill left behind; call it only while holding the folder's lock."""
    found = stale_temporaries(folder)
    for p in found:
        p.unlink(missing_ok=True)
    return found


@contextlib.contextmanager
def hold_lock(folder: Path) -> Iterator[Path]:
    """Hold an exclusive advisory lock on ``folder`` (created) for the ``with`` block.

    Raises :class:`BusyError` at once, naming the holder's pid and start time, when another
    process holds it. The lock is released when the block ends or the process dies (a SIGKILL
    leaves no stale lock: the kernel drops it with the file descriptor).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = path.read_text(errors="replace").strip() or "an unknown time"
                raise BusyError(f"another dlscope process holds {folder} since {holder}; wait for it to "
                                "finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{time.strftime('%Y-%m-%d %H:%M:%S')} (pid {os.getpid()})\n".encode())
        yield path
    finally:
        os.close(fd)
