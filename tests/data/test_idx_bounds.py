"""IDX files that lie about their size: refused before allocation, and never inflated past the header.

The bomb is a ~1 MB gzip that inflates to 1 GiB of zeros after an IDX header. Peak memory is
measured in a fresh subprocess (peak RSS before/after each read: VmHWM, which starts afresh at
exec, whereas ru_maxrss starts at the forking parent's peak) whose address space is capped
768 MiB above its size at start, so a reader that inflates the whole file fails there instead
of taking gigabytes from the machine.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from dlscope import data as D
from dlscope.data import files as F

GiB = 1 << 30
TRAIN_IMAGES = (60000, 28, 28)  # MNIST / Fashion-MNIST train-images-idx3-ubyte


def _header(dims, code=0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _zeros_member(nbytes: int) -> bytes:
    """One gzip member of ``nbytes`` zeros, compressed 1 MiB at a time (never all in memory)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    chunk = bytes(1 << 20)
    out = [c.compress(chunk) for _ in range(nbytes >> 20)]
    return b"".join(out) + c.flush()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """Two ~1 MB gzip IDX files inflating to 1 GiB + header: an honest 1 GiB header, and MNIST's."""
    d = tmp_path_factory.mktemp("bombs")
    member = _zeros_member(64 << 20)  # gzip allows concatenated members: 16 x 64 MiB = 1 GiB
    paths = {}
    for name, dims in (("gib", (16384, 256, 256)), ("mnist", TRAIN_IMAGES)):
        p = d / f"{name}-idx3-ubyte.gz"
        with open(p, "wb") as f:
            f.write(gzip.compress(_header(dims)))
            for _ in range(GiB // (64 << 20)):
                f.write(member)
        paths[name] = p
    p = d / "huge-dims.idx"
    p.write_bytes(_header((2 ** 31, 2 ** 31)))
    paths["huge"] = p
    p = d / "wrapping-dims.idx"  # 2**64 elements: an int64 product wraps to 0
    p.write_bytes(_header((2 ** 16,) * 4))
    paths["wrap"] = p
    return paths


# The probe imports dlscope.data.files without running the packages' __init__ (which imports
# torch: ~5 s, and a noisier memory baseline); the readers need only numpy and the stdlib.
_PROBE = r"""
import importlib.util, json, resource, sys, time, types
for name in ("dlscope", "dlscope.data"):
    spec = importlib.util.find_spec(name)
    pkg = types.ModuleType(name)
    pkg.__path__ = list(spec.submodule_search_locations)
    sys.modules[name] = pkg
from dlscope.data import files

def vm_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()

def peak_kib():  # VmHWM: this image's peak RSS (ru_maxrss would start at the forking parent's)
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith("VmHWM:")).split()[1])

resource.setrlimit(resource.RLIMIT_AS, (vm_bytes() + (768 << 20), resource.RLIM_INFINITY))
out = []
for path, shape in json.loads(sys.argv[1]):
    before = peak_kib()
    t = time.perf_counter()
    try:
        files.read_idx(path, *([] if shape is None else [tuple(shape)]))
        result = "read"
    except BaseException as e:
        result = f"{type(e).__name__}: {e}"
    growth = peak_kib() - before
    out.append({"result": result, "seconds": time.perf_counter() - t, "rss_growth_mib": growth / 1024})
print(json.dumps(out))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS (Linux)")
def test_gzip_bomb_refused_with_small_peak_memory(bombs):
    assert all(os.path.getsize(bombs[k]) < 2 << 20 for k in ("gib", "mnist"))  # ~1 MB each
    cases = [(bombs["huge"], None), (bombs["wrap"], None), (bombs["gib"], None),
             (bombs["gib"], TRAIN_IMAGES), (bombs["mnist"], TRAIN_IMAGES)]  # smallest memory first
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps([(str(p), s) for p, s in cases])],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    words = ["cap", "cap", "cap", "expected (60000, 28, 28)", "trailing data"]
    for (path, _), o, word in zip(cases, out, words):
        assert o["result"].startswith("DataFormatError: ") and word in o["result"], (path, out)
        assert "\n" not in o["result"]
    # Header-only refusals allocate nothing: measured growth 0.0 MiB (5 runs). The MNIST-shaped
    # bomb reads its promised 47 MB (60000*28*28 = 44.9 MiB) then one byte more: measured 47.3 MiB
    # (5 runs). A whole-file read needs >= 1024 MiB (the old reader: 1032 MiB, then MemoryError
    # at a 2 GiB address-space cap; ~3.5 GB uncapped).
    assert max(o["rss_growth_mib"] for o in out[:4]) < 16, out
    assert out[4]["rss_growth_mib"] < 160, out
    assert max(o["seconds"] for o in out) < 30, out  # measured <= 0.2 s each (old reader: 4 s)


def test_header_shape_and_dtype_checked_before_reading(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / "a.idx.gz"
    p.write_bytes(gzip.compress(_header(a.shape) + a.tobytes()))
    np.testing.assert_array_equal(F.read_idx(p, (2, 3, 4), dtype=np.uint8), a)
    with pytest.raises(D.DataFormatError, match=r"shape \(2, 3, 4\), expected \(60000, 28, 28\)"):
        F.read_idx(p, TRAIN_IMAGES)
    with pytest.raises(D.DataFormatError, match="dtype uint8, expected int32"):
        F.read_idx(p, dtype=np.int32)
    with pytest.raises(D.DataFormatError, match="cap"):
        F.read_idx(p, max_bytes=23)


@pytest.mark.parametrize("raw,word", [
    (_header((2, 3)) + bytes(6) + b"x", "trailing data"),
    (_header((2, 3)) + bytes(5), "truncated"),
    (_header((2, 3))[:6], "header cut off"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 200]) + bytes(800), "200 dimensions"),
    (bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 0]), "dtype code 0x42"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_size_lies_are_one_line(tmp_path, raw, word, gz):
    p = tmp_path / ("f.gz" if gz else "f.idx")
    p.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(D.DataFormatError, match=word) as e:
        F.read_idx(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_gzip_damage_is_one_line(tmp_path):
    a = np.arange(200, dtype=np.uint8)
    good = gzip.compress(_header(a.shape) + a.tobytes())
    for name, raw in [("cut", good[:-9]), ("crc", good[:-8] + bytes(8)), ("garbage-after", good + b"junk!"),
                      ("not-gzip", b"hello, world")]:
        p = tmp_path / f"{name}.gz"
        p.write_bytes(raw)
        with pytest.raises(D.DataFormatError) as e:
            F.read_idx(p)
        assert "\n" not in str(e.value) and str(p) in str(e.value), name
