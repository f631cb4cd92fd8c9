"""Property-based fuzzing of every file reader: random bytes, truncations and bit flips of a valid
small file either read back with consistent shapes or raise one one-line DataFormatError.

Nothing else may come out (no struct.error, zlib.error, UnpicklingError, TypeError, ...).
Hypothesis runs derandomized (a fixed seed per test, so every run tries the same cases) with
no example database. With ``DLSCOPE_FUZZ_COUNTS=file.json`` the module writes how many cases
each test ran and how they ended (read / refused with DataFormatError).
"""
import collections
import gzip
import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dlscope import data as D
from dlscope.data import files as F

# DLSCOPE_FUZZ_EXAMPLES=N: a deeper, randomized run (e.g. before a release); default: 250, fixed seed.
_DEEP = os.environ.get("DLSCOPE_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_DEEP or 250), deadline=None, derandomize=not _DEEP, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _mutations(valid: bytes):
    """Random bytes, a truncation, or 1-8 bit flips of ``valid`` (also flips then truncation)."""
    flips = st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 7)), min_size=1, max_size=8)

    def flip(fl):
        b = bytearray(valid)
        for i, bit in fl:
            b[i] ^= 1 << bit
        return bytes(b)

    return st.one_of(
        st.binary(max_size=2 * len(valid)),
        st.integers(0, len(valid)).map(lambda k: valid[:k]),
        flips.map(flip),
        st.tuples(flips, st.integers(0, len(valid))).map(lambda t: flip(t[0])[: t[1]]),
    )


COUNTS: dict = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module", autouse=True)
def _write_counts():
    yield
    if os.environ.get("DLSCOPE_FUZZ_COUNTS"):
        with open(os.environ["DLSCOPE_FUZZ_COUNTS"], "w") as f:
            json.dump(COUNTS, f, indent=1)


def _outcome(read, check):
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    try:
        out = read()
    except D.DataFormatError as e:
        assert "\n" not in str(e) and len(str(e)) <= 400 and str(e).isprintable(), str(e)
        event("refused: DataFormatError")
        COUNTS[test]["refused: one-line DataFormatError"] += 1
        return
    check(out)
    event("read")
    COUNTS[test]["read, shapes consistent"] += 1


def _check_cifar(out):
    x, y = out
    assert x.dtype == np.uint8 and x.ndim == 4 and x.shape[1:] == (32, 32, 3)
    assert y.dtype == np.int64 and y.shape == (len(x),) and (len(y) == 0 or 0 <= y.min() <= y.max() <= 9)


@pytest.fixture(scope="module")
def fdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


_IDX = bytes([0, 0, 8, 3]) + struct.pack(">3I", 3, 4, 5) + bytes(range(60))


@FUZZ
@given(raw=_mutations(_IDX), gz=st.booleans(), expect=st.sampled_from([None, (3, 4, 5)]))
def test_fuzz_idx_content(fdir, raw, gz, expect):
    """Mutated IDX content, stored raw or re-gzipped (valid gzip: the IDX parser is what is fuzzed)."""
    p = fdir / ("f.gz" if gz else "f.idx")
    p.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)

    def check(a):
        assert isinstance(a, np.ndarray) and a.dtype.isnative
        assert expect is None or a.shape == expect

    _outcome(lambda: F.read_idx(p, expect, max_bytes=1 << 20), check)


@FUZZ
@given(raw=_mutations(gzip.compress(_IDX, mtime=0)))
def test_fuzz_idx_gzip_stream(fdir, raw):
    """Mutated gzip bytes: damaged headers, CRCs, deflate blocks and truncated members."""
    p = fdir / "g.gz"
    p.write_bytes(raw)
    _outcome(lambda: F.read_idx(p, max_bytes=1 << 20), lambda a: isinstance(a, np.ndarray))


def _bin_file(n=3) -> bytes:
    rng = np.random.default_rng(0)
    rec = rng.integers(0, 256, (n, 3073), dtype=np.uint8)
    rec[:, 0] %= 10
    return rec.tobytes()


@FUZZ
@given(raw=_mutations(_bin_file()))
def test_fuzz_cifar_binary(fdir, raw):
    folder = fdir / "cifar-10-batches-bin"
    folder.mkdir(exist_ok=True)
    (folder / "test_batch.bin").write_bytes(raw)
    _outcome(lambda: F.read_cifar_bin(folder, "test"), _check_cifar)


@pytest.mark.parametrize("kind", ["py2", "p4", "p5"])
def test_fuzz_cifar_pickle(fdir, py2_pickle, batch_dict, kind):
    """The official Python 2 layout, and the same dict re-pickled with protocols 4 and 5."""
    rng = np.random.default_rng(1)
    d = batch_dict(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), np.array([3, 7]), "testing batch 1")
    valid = py2_pickle(d) if kind == "py2" else pickle.dumps(d, protocol=int(kind[1]))
    folder = fdir / "cifar-10-batches-py"
    folder.mkdir(exist_ok=True)

    @FUZZ
    @given(raw=_mutations(valid))
    def run(raw):
        (folder / "test_batch").write_bytes(raw)
        _outcome(lambda: F.read_cifar_batches(folder, "test"), _check_cifar)

    run()


def _npz(compressed: bool) -> bytes:
    rng = np.random.default_rng(2)
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buf, x=rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8), y=np.array([1, 9], np.uint8))
    return buf.getvalue()


def _npy_member() -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([1, 9], np.uint8))
    return buf.getvalue()


@pytest.mark.parametrize("compressed", [False, True])
def test_fuzz_cifar_npz(fdir, compressed):
    p = fdir / f"c{int(compressed)}.npz"

    @FUZZ
    @given(raw=_mutations(_npz(compressed)))
    def run(raw):
        p.write_bytes(raw)
        _outcome(lambda: F.read_cifar_npz(p), _check_cifar)

    run()


@FUZZ
@given(member=_mutations(_npy_member()))
def test_fuzz_npy_header_inside_a_valid_zip(fdir, member):
    """A well-formed zip whose y.npy is mutated: the .npy header parser itself is fuzzed."""
    p = fdir / "h.npz"
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.zeros((2, 32, 32, 3), np.uint8))
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("x.npy", buf.getvalue())
        z.writestr("y.npy", member)
    _outcome(lambda: F.read_cifar_npz(p), _check_cifar)
