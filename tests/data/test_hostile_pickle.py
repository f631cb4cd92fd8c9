"""CIFAR-10 python batches: the official layout loads; a hostile pickle runs nothing and fails in one line.

Each hostile file's payload would leave a trace (a directory, a huge allocation, a changed
class) if it ran; the tests check the trace is absent and the error is one DataFormatError line.
"""
import codecs
import os
import pickle
import struct
import time

import numpy as np
import pytest

from dlscope import data as D
from dlscope.data import files as F

PY_DIR = "cifar-10-batches-py"


class _Call:
    """Pickles as ``fn(*args)``: what a hostile file author writes."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _hostile_folder(write_cifar, tmp_path, payload, protocol):
    """A valid python-batches folder whose data_batch_1 carries ``payload`` as its batch_label.

    ``protocol``: a pickle protocol, or a function writing the pickle (the Python 2 layout).
    """
    write_cifar(tmp_path, "python", n=4)
    folder = tmp_path / PY_DIR
    d = pickle.loads((folder / "data_batch_1").read_bytes(), encoding="bytes")  # our own file
    d[b"batch_label"] = payload
    raw = protocol(d) if callable(protocol) else pickle.dumps(d, protocol=protocol)
    (folder / "data_batch_1").write_bytes(raw)
    return folder


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type is what the test checks
        return e
    return None


def _one_line(err, *words):
    assert isinstance(err, D.DataFormatError), f"{type(err).__name__}: {err}"
    msg = str(err)
    assert "\n" not in msg and len(msg) < 400
    for w in words:
        assert w in msg, msg


@pytest.mark.parametrize("protocol", [None, 2, 4, 5])
def test_official_layout_and_python3_repickles_load(write_cifar, tmp_path, protocol):
    xtr, ytr, xte, yte = write_cifar(tmp_path, "python", n=6, seed=1, protocol=protocol)
    x, y = F.read_cifar_batches(tmp_path / PY_DIR, "train", records=6)
    np.testing.assert_array_equal(x, xtr)
    np.testing.assert_array_equal(y, ytr)
    x, y = F.read_cifar_batches(tmp_path / PY_DIR, "test")
    np.testing.assert_array_equal(x, xte)
    assert y.dtype == np.int64 and y.tolist() == yte.tolist()


@pytest.mark.parametrize("protocol", ["py2", 0, 2, 4])
def test_makedirs_payload_does_not_run(write_cifar, py2_pickle, tmp_path, protocol):
    target = tmp_path / "pwned"
    folder = _hostile_folder(write_cifar, tmp_path, _Call(os.makedirs, str(target)),
                             py2_pickle if protocol == "py2" else protocol)
    err = _outcome(lambda: F.read_cifar_batches(folder, "train"))
    assert not target.exists(), "the pickle's payload ran"
    _one_line(err, "refused to load global os.makedirs", "data_batch_1")


def test_makedirs_payload_through_load(write_cifar, py2_pickle, tmp_path):
    target = tmp_path / "pwned"
    _hostile_folder(write_cifar, tmp_path / "cifar10", _Call(os.makedirs, str(target)), py2_pickle)
    err = _outcome(lambda: D.load("cifar10", root=tmp_path))
    assert not target.exists(), "the pickle's payload ran"
    _one_line(err, "os.makedirs")


@pytest.mark.parametrize("fn,args,word", [
    (os.system, ("mkdir {t}",), "system"),
    (eval, ("__import__('os').makedirs({t!r})",), "builtins.eval"),
    (exec, ("import os; os.makedirs({t!r})",), "builtins.exec"),
    (bytes, (2 ** 40,), "builtins.bytes"),                  # a 1 TiB allocation if called
    (np.ndarray, ((2 ** 40,),), "numpy.ndarray"),           # numpy's own constructor: same
    (np.load, ("{t}",), "numpy.load"),
    (np.dtype, ("O", False, True), "dtype"),                 # object arrays would unpickle more
    (np._core.multiarray._reconstruct, (np.ndarray, (2 ** 40,), b"b"), "_reconstruct"),
    (codecs.encode, ("abc", "zlib_codec"), "_codecs.encode"),  # admitted for latin-1 text only
])
def test_hostile_globals_are_refused(write_cifar, tmp_path, fn, args, word):
    target = tmp_path / "pwned"
    args = tuple(a.format(t=str(target)) if isinstance(a, str) else a for a in args)
    folder = _hostile_folder(write_cifar, tmp_path, _Call(fn, *args), protocol=4)
    t0 = time.perf_counter()
    err = _outcome(lambda: F.read_cifar_batches(folder, "train"))
    assert not target.exists()
    _one_line(err, word)
    assert time.perf_counter() - t0 < 5  # refused, not attempted


def _raw_folder(write_cifar, tmp_path, raw: bytes):
    write_cifar(tmp_path, "python", n=2)
    (tmp_path / PY_DIR / "data_batch_1").write_bytes(raw)
    return tmp_path / PY_DIR


@pytest.mark.parametrize("raw,word", [
    (b"\x80\x02U\x01xQ.", "BINPERSID"),                                   # persistent id
    (b"\x80\x02\x82\x01.", "EXT1"),                                       # copyreg extension code
    (b"\x80\x02cnumpy\ndtype\n}}\x86b.", "state of numpy.dtype"),         # BUILD on an admitted global
    (b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 40) + b"x" * 8 + b".", "bytes8"),  # 1 TiB length field
    (b"\x80\x02(" + b"}" * 300_000 + b"l.", "opcodes"),                   # 300k dicts from 300 kB
    (b"\x80\x02}.garbage", "trailing"),
    (b"\x80\x02]q\x00.", "not a CIFAR-10 batch dict"),
])
def test_hostile_opcodes_are_refused(write_cifar, tmp_path, raw, word):
    err = _outcome(lambda: F.read_cifar_batches(_raw_folder(write_cifar, tmp_path, raw), "train"))
    _one_line(err, word)


def test_array_state_must_match_its_bytes(write_cifar, py2_pickle, batch_dict, tmp_path):
    x = np.zeros((2, 32, 32, 3), np.uint8)
    raw = py2_pickle(batch_dict(x, np.array([1, 2]), "b"))
    n = 2 * 3072
    cut = raw.replace(struct.pack("<i", n) + bytes(n), struct.pack("<i", n - 5) + bytes(n - 5))
    assert cut != raw
    _one_line(_outcome(lambda: F.read_cifar_batches(_raw_folder(write_cifar, tmp_path, cut), "train")), "data bytes")


def test_labels_out_of_range_and_counts(write_cifar, py2_pickle, batch_dict, tmp_path):
    x = np.zeros((2, 32, 32, 3), np.uint8)
    folder = _raw_folder(write_cifar, tmp_path, py2_pickle(batch_dict(x, np.array([1, 12]), "b")))
    _one_line(_outcome(lambda: F.read_cifar_batches(folder, "train")), "0..9")
    folder = _raw_folder(write_cifar, tmp_path / "b", py2_pickle({**batch_dict(x, np.array([1, 2]), "b"), b"labels": [1]}))
    _one_line(_outcome(lambda: F.read_cifar_batches(folder, "train")), "labels")
    write_cifar(tmp_path / "c", "python", n=3)
    _one_line(_outcome(lambda: F.read_cifar_batches(tmp_path / "c" / PY_DIR, "test", records=10000)),
              "3 images, expected 10000")


def test_unpickler_is_a_pickle_unpickler_subclass():
    from dlscope.data.safe_pickle import RestrictedUnpickler

    assert issubclass(RestrictedUnpickler, pickle.Unpickler)
