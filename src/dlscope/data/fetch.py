"""Download the canonical dataset files into the cache, verified.

Every file has a known checksum (sha256, or the official md5 where no sha256 is
published). A download goes to ``<file>.part``, resumes with an HTTP ``Range`` request
after a dropped connection, is retried with back-off, is verified, and only then is
renamed into place (atomic on POSIX). A file that fails verification is deleted and
never used. ``mirror`` replaces the canonical base URL (any server holding the same
file names), which is also how the tests serve ``../shared/data`` over loopback.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tarfile
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

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
# The official tarball publishes only an md5 (Krizhevsky's page; torchvision checks the same value).
_CIFAR_TAR = {"cifar-10-python.tar.gz": "md5:c58f30108f718f92721af3b95e74349a"}


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
    # The npz form has no canonical host: it is fetched only from a mirror.
    "cifar10": Source(("https://www.cs.toronto.edu/~kriz/",), {"python": _CIFAR_TAR, "npz": _CIFAR_NPZ}, "python"),
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


def _download(url: str, dest: Path, checksum: str, *, retries: int, timeout: float, backoff: float) -> None:
    part = dest.with_name(dest.name + ".part")
    last: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
                if have and r.status != 206:  # server ignored the range: start over
                    have = 0
                length = r.headers.get("Content-Length")
                got = 0
                with open(part, "ab" if have else "wb") as f:
                    for chunk in iter(lambda: r.read(1 << 16), b""):
                        f.write(chunk)
                        got += len(chunk)
                if length is not None and got < int(length):
                    raise DownloadError(f"connection closed after {got} of {length} bytes")
            break
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # nothing left to fetch: the part is complete
                break
            if 400 <= e.code < 500:
                raise DownloadError(f"{url}: HTTP {e.code}") from e
            last = e
        except (urllib.error.URLError, HTTPException, OSError, DownloadError) as e:
            last = e
    else:
        raise DownloadError(f"{url}: failed after {retries + 1} attempts: {last}")
    if not verify(part, checksum):
        part.unlink()
        raise ChecksumError(f"{url}: downloaded file does not match {checksum}; deleted")
    os.replace(part, dest)


def fetch(name: str, *, root: str | Path | None = None, mirror: str | None = None, fmt: str | None = None,
          retries: int = 4, timeout: float = 30.0, backoff: float = 0.5) -> list[Path]:
    """Download dataset ``name`` into ``<root>/<name>/``; returns the verified file paths.

    Files already present and verified are not downloaded again. The CIFAR-10 tarball
    is unpacked into ``cifar-10-batches-py/`` after verification.
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
                _download(base.rstrip("/") + "/" + fname, dest, checksum,
                          retries=retries, timeout=timeout, backoff=backoff)
                break
            except (DownloadError, ChecksumError) as e:
                errors.append(str(e))
        else:
            raise DownloadError("; ".join(errors))
        out.append(dest)
    if fmt == "python":
        tar = folder / "cifar-10-python.tar.gz"
        if not (folder / "cifar-10-batches-py" / "test_batch").exists():
            with tarfile.open(tar) as t:
                t.extractall(folder, filter="data")
    return out
