"""Readers, subsets and loading, checked against files written here and the real files in ../shared/data."""
import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from dlscope import data as D
from dlscope.data.files import read_cifar_batches, read_cifar_npz, read_idx


def _write_idx(path, arr, gz=True):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    raw = header + arr.tobytes()
    (gzip.open(path, "wb") if gz else open(path, "wb")).write(raw)


def test_idx_roundtrip_gz_and_raw(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    _write_idx(tmp_path / "a.gz", a)
    _write_idx(tmp_path / "a.idx", a, gz=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), a)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx"), a)
    b = rng.integers(-1000, 1000, (4, 6)).astype(">i4")
    _write_idx(tmp_path / "b.idx", b, gz=False)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx"), b.astype(np.int32))


def test_idx_truncated_and_bad_magic(tmp_path):
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    _write_idx(tmp_path / "a.idx", a, gz=False)
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "t.idx").write_bytes(raw[:-7])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "t.idx")
    (tmp_path / "m.idx").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "m.idx")


def test_cifar_python_batches_and_npz(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    imgs = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)  # NCHW as in the official files
        y = rng.integers(0, 10, 3).tolist()
        imgs[name] = (x, y)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": x.reshape(3, -1), b"labels": y}, f)
    xtr, ytr = read_cifar_batches(folder, "train")
    assert xtr.shape == (15, 32, 32, 3) and ytr.shape == (15,)
    # pixel (c=1, h=2, w=5) of image 0 of batch 2 lands at NHWC [3, 2, 5, 1]
    assert xtr[3, 2, 5, 1] == imgs["data_batch_2"][0][0, 1, 2, 5]
    assert ytr.tolist()[3:6] == imgs["data_batch_2"][1]
    xte, yte = read_cifar_batches(folder, "test")
    np.testing.assert_array_equal(xte, imgs["test_batch"][0].transpose(0, 2, 3, 1))
    np.savez(tmp_path / "c.npz", x=xte, y=np.array(yte, np.uint8))
    x2, y2 = read_cifar_npz(tmp_path / "c.npz")
    np.testing.assert_array_equal(x2, xte)
    assert y2.dtype == np.int64


def test_stratified_subset_matches_class_proportions():
    y = torch.tensor([0] * 500 + [1] * 300 + [2] * 200)
    idx = D.stratified_indices(y, 100, seed=3)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    assert torch.bincount(y[idx]).tolist() == [50, 30, 20]
    assert torch.equal(idx, D.stratified_indices(y, 100, seed=3))
    assert not torch.equal(idx, D.stratified_indices(y, 100, seed=4))
    # largest-remainder rounding: 7 of (5, 3, 2)/10 -> 3.5, 2.1, 1.4 -> 4, 2, 1
    assert torch.bincount(y[D.stratified_indices(y, 7, seed=0)], minlength=3).tolist() == [4, 2, 1]


def test_mnist1d_embedded_default():
    ds = D.load("mnist1d")
    assert (ds.n_train, ds.n_test, ds.input_shape, ds.num_classes) == (4000, 1000, (40,), 10)
    assert ds.hash == D.load("mnist1d").hash
    sub = D.load("mnist1d", n_train=500, n_test=200, seed=1)
    assert sub.n_train == 500 and torch.bincount(sub.y_train).min() >= 45
    assert sub.hash != ds.hash


@pytest.mark.parametrize("name", ["gaussian-mixture", "teacher"])
def test_synthetic_seeded(name):
    a, b, c = D.load(name, seed=0), D.load(name, seed=0), D.load(name, seed=1)
    assert a.hash == b.hash != c.hash
    assert a.n_train == 2000 and len(torch.unique(a.y_train)) == a.num_classes


def test_missing_file_error_names_file_place_and_command(tmp_path):
    with pytest.raises(D.MissingDataError) as e:
        D.load("mnist", root=tmp_path)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path / "mnist") in msg and "dlscope data fetch mnist" in msg


def test_corrupt_cached_file_is_refused(tmp_path, shared_data):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in (shared_data / "mnist").iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    raw = (folder / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(raw[:-100])
    with pytest.raises(D.MissingDataError, match="corrupt or truncated"):
        D.load("mnist", root=tmp_path)


def test_real_mnist_and_fashion_from_shared(shared_data):
    ds = D.load("mnist", root=shared_data)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(ds.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(ds.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(float(ds.x_train.mean())) < 1e-3 and abs(float(ds.x_train.std()) - 1) < 1e-3
    fm = D.load("fashion-mnist", root=shared_data, n_train=1000, n_test=500)
    assert torch.bincount(fm.y_train).tolist() == [100] * 10 and fm.n_test == 500


def test_real_cifar10_test_file_from_shared(shared_data):
    x, y = read_cifar_npz(shared_data / "cifar10" / "cifar10_test.npz")
    assert x.shape == (10000, 32, 32, 3) and y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert np.bincount(y).tolist() == [1000] * 10
