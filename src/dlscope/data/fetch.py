"""Download the canonical dataset files into the cache, verified.

Every file has a known checksum (sha256, or the official md5 where no sha256 is
published). A download goes to ``<file>.part``, resumes with an HTTP ``Range`` request
after a dropped connection, is retried with back-off, is verified, and only then is
renamed into place (atomic on POSIX). A file that fails verification is deleted and
never used; a ``.part`` left by an earlier, interrupted call that turns out not to be a
prefix of the right file is discarded and the file downloaded again from its start.
``mirror`` replaces the canonical base URL (any server holding the same file names),
which is also how the tests serve ``../shared/data`` over loopback.

A server that stalls or trickles cannot hold a download forever: each file gets a
``deadline`` (all retries included; by default 60 s plus its size at ``min_rate``), and
a connection that brings less than ``min_rate`` bytes/s averaged over ``rate_window``
seconds is dropped. The error then names the ``--mirror`` option and the other known hosts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from .cifar import BIN_DIR, PY_DIR, cifar_files
from .untrusted import MAX_BYTES, DataFormatError, reading

__all__ = ["SOURCES", "Source", "fetch", "verify", "ChecksumError", "DownloadError", "default_root"]

_MNIST = {
    "train-images-idx3-ubyte.gz": "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_FASHION = {
    "train-images-idx3-ubyte.gz": "sha256:3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "sha256:a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "sha256:346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "sha256:67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
_CIFAR_NPZ = {
    "cifar10_train.npz": "sha256:1ad6a9f0b4d790ea05dfc1399d67b4057228c31bad4fd5f11b2135657cdf35e0",
    "cifar10_test.npz": "sha256:b206f77a57d4a7927e619536d95a3f9f5c64f6ffe8d1a094dddba81bf45296c2",
}
# The official tarballs publish only an md5 (Krizhevsky's page, https://www.cs.toronto.edu/~kriz/cifar.html;
# torchvision checks the same value for the python version).
_CIFAR_TAR = {"cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a"}
_CIFAR_BIN = {"cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530"}
# Members unpacked from each tarball (nothing else in it is ever written to disk).
_ARCHIVES = {"binary": ("cifar-10-binary.tar.gz", BIN_DIR), "python": ("cifar-10-python.tar.gz", PY_DIR)}


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a dataset's files come from: base URLs tried in order, and file checksums per format."""

    urls: tuple[str, ...]
    formats: dict  # format name -> {file name: "algo:hexdigest"}
    default_format: str


SOURCES: dict[str, Source] = {
    "mnist": Source(("https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "http://yann.lecun.com/exdb/mnist/"), {"idx": _MNIST}, "idx"),
    "fashion-mnist": Source(("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
                            {"idx": _FASHION}, "idx"),
    # binary: fixed-size records, no pickle (the default). The npz form has no canonical host:
    # it is fetched only from a mirror.
    "cifar10": Source(("https://www.cs.toronto.edu/~kriz/",),
                      {"binary": _CIFAR_BIN, "python": _CIFAR_TAR, "npz": _CIFAR_NPZ}, "binary"),
}


class ChecksumError(RuntimeError):
    """A file's content does not match its published checksum."""


class DownloadError(RuntimeError):
    """A file could not be downloaded after all retries."""


def default_root() -> Path:
    """``$DLSCOPE_DATA`` if set, else ``~/.cache/dlscope``."""
    env = os.environ.get("DLSCOPE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dlscope"


_VERIFIED: dict[tuple, bool] = {}


def verify(path: Path, checksum: str) -> bool:
    """True if the file's digest equals ``checksum`` ("sha256:..." or "md5:..."); memoized per (size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, checksum)
    if key not in _VERIFIED:
        algo, want = checksum.split(":", 1)
        h = hashlib.new(algo)
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _VERIFIED[key] = h.hexdigest() == want
    return _VERIFIED[key]


# No canonical file is larger than CIFAR-10's 170 MB tarball: a server sending more (or promising
# more in Content-Length) is refused, so a fast endless stream cannot fill the disk either.
MAX_DOWNLOAD = 1 << 30


class _NoRetry(DownloadError):
    """The server is too slow or sends too much: retrying it would not help, the next mirror might."""


def _receive(r, f, url: str, t_end: float, min_rate: float, window: float, have: int) -> int:
    """Copy response ``r`` into ``f`` until EOF, dropping it past ``t_end`` or below ``min_rate``.

    ``read1`` returns whatever one ``recv`` brought, so a trickle of one byte at a time still
    reaches the checks (``read(n)`` would block until all ``n`` bytes came).
    """
    got = 0
    mark_t, mark_got = time.monotonic(), 0
    while chunk := r.read1(1 << 16):
        f.write(chunk)
        got += len(chunk)
        now = time.monotonic()
        if have + got > MAX_DOWNLOAD:
            raise _NoRetry(f"{url}: server sent more than {MAX_DOWNLOAD} bytes")
        if now > t_end:
            raise DownloadError(f"{url}: deadline passed after {got} bytes")
        if now - mark_t >= window:
            rate = (got - mark_got) / (now - mark_t)
            if rate < min_rate:
                raise _NoRetry(f"{url}: too slow, {rate / 1e3:.2g} kB/s over {now - mark_t:.2g} s "
                               f"(minimum {min_rate / 1e3:g} kB/s)")
            mark_t, mark_got = now, got
    return got


def _download(url: str, dest: Path, checksum: str, *, retries: int, timeout: float, backoff: float,
              deadline: float | None, min_rate: float, rate_window: float, _fresh: bool = False) -> None:
    part = dest.with_name(dest.name + ".part")
    if _fresh:
        part.unlink(missing_ok=True)
    stale = part.exists()  # left by an earlier call: may not be a prefix of this file
    t0 = time.monotonic()
    # deadline=None: 60 s to get an answer, then 60 s + size / min_rate (size unknown: MAX_DOWNLOAD)
    t_end = t0 + (deadline if deadline is not None else 60.0)
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(backoff * 2 ** (attempt - 1), max(0.0, t_end - time.monotonic())))
        left = t_end - time.monotonic()
        if left <= 0:
            raise DownloadError(f"{url}: gave up after {time.monotonic() - t0:.3g} s (deadline), last error: {last}")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            # The socket timeout bounds each connect/recv: a stalled server is noticed within
            # min(timeout, rate_window, time left) seconds.
            req = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(req, timeout=max(0.01, min(timeout, rate_window, left))) as r:
                if have and r.status != 206:  # server ignored the range: start over
                    have = 0
                length = r.headers.get("Content-Length")
                size = have + int(length) if length is not None and length.isdigit() else None
                if size is not None and size > MAX_DOWNLOAD:
                    raise _NoRetry(f"{url}: server announces {size} bytes, more than {MAX_DOWNLOAD}")
                if deadline is None:
                    t_end = max(t_end, t0 + 60.0 + (size or MAX_DOWNLOAD) / min_rate)
                with open(part, "ab" if have else "wb") as f:
                    got = _receive(r, f, url, t_end, min_rate, rate_window, have)
                if length is not None and got < int(length):
                    raise DownloadError(f"connection closed after {got} of {length} bytes")
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing left to fetch: the part is complete
                break
            if 400 <= e.code < 500:
                raise DownloadError(f"{url}: HTTP {e.code}") from e
            last = e
        except _NoRetry:
            raise
        except (urllib.error.URLError, HTTPException, OSError, DownloadError, ValueError) as e:
            last = e
    else:
        raise DownloadError(f"{url}: failed after {retries + 1} attempts: {last}")
    if not verify(part, checksum):
        part.unlink()
        if stale:  # the earlier call's bytes were wrong (e.g. a hostile trickle): once more, from scratch
            return _download(url, dest, checksum, retries=retries, timeout=timeout, backoff=backoff,
                             deadline=deadline, min_rate=min_rate, rate_window=rate_window, _fresh=True)
        raise ChecksumError(f"{url}: downloaded file does not match {checksum}; deleted")
    os.replace(part, dest)


def _unpack(tar_path: Path, folder: Path, sub: str, names: list[str], max_bytes: int = MAX_BYTES) -> None:
    """Write members ``sub/<name>`` of a verified tarball into ``folder/sub/``; nothing else.

    Only regular files of at most ``max_bytes`` are accepted, each written to a temporary name
    and renamed, so a kill leaves no half-written batch and no path from the archive is used.
    """
    todo = {f"{sub}/{n}" for n in names if not (folder / sub / n).exists()}
    if not todo:
        return
    (folder / sub).mkdir(exist_ok=True)
    with reading(tar_path, "tar"), tarfile.open(tar_path, "r:gz") as t:
        for m in t:
            if m.name not in todo:
                continue
            if not m.isreg() or m.size > max_bytes:
                raise DataFormatError(f"{tar_path}: member {m.name} is not a regular file under {max_bytes} bytes")
            dest = folder / m.name
            tmp = dest.with_name(dest.name + ".tmp")
            with t.extractfile(m) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(tmp, dest)
            todo.discard(m.name)
    if todo:
        raise DataFormatError(f"{tar_path}: archive lacks {', '.join(sorted(todo))}")


def _hint(name: str, tried: tuple[str, ...]) -> str:
    others = [u for u in SOURCES[name].urls if u not in tried]
    return (f"try another mirror: dlscope data fetch {name} --mirror URL"
            + (f" (e.g. {', '.join(others)})" if others else " (any server holding the same file names)"))


def fetch(name: str, *, root: str | Path | None = None, mirror: str | None = None, fmt: str | None = None,
          retries: int = 4, timeout: float = 30.0, backoff: float = 0.5, deadline: float | None = None,
          min_rate: float = 50e3, rate_window: float = 30.0) -> list[Path]:
    """Download dataset ``name`` into ``<root>/<name>/``; returns the verified file paths.

    Files already present and verified are not downloaded again. The CIFAR-10 tarballs are
    unpacked into ``cifar-10-batches-bin/`` (binary, the default) or ``cifar-10-batches-py/``
    after verification. ``deadline``: seconds one file may take from one server, retries
    included (None: 60 s + size / ``min_rate``). ``min_rate``: bytes/s below which a connection,
    averaged over ``rate_window`` seconds, is dropped. ``timeout``: seconds of silence per read.
    """
    if name not in SOURCES:
        raise KeyError(f"no download source for {name!r}; known: {', '.join(SOURCES)}")
    src = SOURCES[name]
    fmt = fmt or src.default_format
    if fmt not in src.formats:
        raise KeyError(f"{name} has no format {fmt!r}; known: {', '.join(src.formats)}")
    if fmt == "npz" and mirror is None:
        raise DownloadError("the cifar10 npz files have no canonical host; pass --mirror URL")
    folder = Path(root or default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    bases = (mirror,) if mirror else src.urls
    out = []
    for fname, checksum in src.formats[fmt].items():
        dest = folder / fname
        if dest.exists() and verify(dest, checksum):
            out.append(dest)
            continue
        errors = []
        for base in bases:
            try:
                _download(base.rstrip("/") + "/" + fname, dest, checksum, retries=retries, timeout=timeout,
                          backoff=backoff, deadline=deadline, min_rate=min_rate, rate_window=rate_window)
                break
            except (DownloadError, ChecksumError) as e:
                errors.append(" ".join(str(e).split()))
        else:
            raise DownloadError(f"{name}: could not download {fname}: {'; '.join(errors)}; {_hint(name, bases)}")
        out.append(dest)
    if fmt in _ARCHIVES:
        tar, sub = _ARCHIVES[fmt]
        _unpack(folder / tar, folder, sub, [Path(f).name for s in ("train", "test") for f in cifar_files(fmt, s)])
    return out
