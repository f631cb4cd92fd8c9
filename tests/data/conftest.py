"""Small synthetic CIFAR-10 files in all three on-disk forms, written the way the originals are.

``_py2_pickle`` writes what Python 2's cPickle wrote for the official python batches
(protocol 2, every ``str``/``bytes`` as BINSTRING, numpy's ``numpy.core.multiarray``
names), so the restricted unpickler is tested on the real layout, not on Python 3's.
"""
import pickle
import struct

import numpy as np
import pytest

BIN_DIR, PY_DIR = "cifar-10-batches-bin", "cifar-10-batches-py"  # the official tarballs' folders


class _Py2Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_str8(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = _save_str8
    dispatch[str] = _save_str8


def _py2_pickle(obj) -> bytes:
    import io

    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def _batch_dict(x: np.ndarray, y: np.ndarray, name: str) -> dict:
    """The official batch dict for NHWC images ``x`` (stored NCHW-flat) and labels ``y``."""
    return {b"batch_label": name.encode(), b"labels": [int(v) for v in y],
            b"data": np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), -1),
            b"filenames": [f"img_{i}.png".encode() for i in range(len(x))]}


def _write_cifar(root, fmt: str, n: int = 10, seed: int = 0, protocol=None):
    """Write CIFAR-10 form ``fmt`` with ``n`` images per batch under ``root``; returns (xtr, ytr, xte, yte).

    ``protocol``: for the python form, None = Python 2 layout (``py2_pickle``), else that protocol.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    split = {}
    for s, names in (("train", [f"data_batch_{i}" for i in range(1, 6)]), ("test", ["test_batch"])):
        xs, ys = [], []
        for name in names:
            x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            y = rng.integers(0, 10, n).astype(np.int64)
            xs.append(x), ys.append(y)
            if fmt == "binary":
                (root / BIN_DIR).mkdir(exist_ok=True)
                rec = np.concatenate([y.astype(np.uint8)[:, None], x.transpose(0, 3, 1, 2).reshape(n, -1)], 1)
                (root / BIN_DIR / f"{name}.bin").write_bytes(rec.tobytes())
            elif fmt == "python":
                (root / PY_DIR).mkdir(exist_ok=True)
                d = _batch_dict(x, y, name)
                raw = _py2_pickle(d) if protocol is None else pickle.dumps(d, protocol=protocol)
                (root / PY_DIR / name).write_bytes(raw)
        split[s] = (np.concatenate(xs), np.concatenate(ys))
        if fmt == "npz":
            np.savez(root / f"cifar10_{s}.npz", x=split[s][0], y=split[s][1].astype(np.uint8))
    return (*split["train"], *split["test"])


# Fixtures hand out the helpers: test files must not import conftest by name (importlib mode).
@pytest.fixture
def write_cifar():
    return _write_cifar


@pytest.fixture
def py2_pickle():
    return _py2_pickle


@pytest.fixture
def batch_dict():
    return _batch_dict
