"""CIFAR-10's binary form: read exactly, preferred after npz, fetched by default and unpacked safely."""
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

from dlscope import data as D
from dlscope.data import files as F

BIN_DIR, PY_DIR = "cifar-10-batches-bin", "cifar-10-batches-py"


def test_binary_matches_python_and_record_layout(write_cifar, tmp_path):
    xtr, ytr, xte, yte = write_cifar(tmp_path / "b", "binary", n=10, seed=3)
    write_cifar(tmp_path / "p", "python", n=10, seed=3)  # same seed: same images
    x, y = F.read_cifar_bin(tmp_path / "b", "train", records=10)
    assert x.shape == (50, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x, xtr)
    np.testing.assert_array_equal(y, ytr)
    xp, yp = F.read_cifar_batches(tmp_path / "p" / PY_DIR, "train")
    np.testing.assert_array_equal(x, xp)
    np.testing.assert_array_equal(y, yp)
    # record 3 of test_batch.bin: byte 0 label, then R plane, G plane, B plane, rows of 32
    raw = (tmp_path / "b" / BIN_DIR / "test_batch.bin").read_bytes()
    rec = raw[3 * 3073 : 4 * 3073]
    xt, yt = F.read_cifar_bin(tmp_path / "b" / BIN_DIR, "test")
    assert yt[3] == rec[0] == yte[3]
    assert xt[3, 2, 5, 1] == rec[1 + 1024 + 2 * 32 + 5]  # green, row 2, column 5


@pytest.mark.parametrize("edit,word", [
    (lambda b: b[:-1], "whole number of 3073-byte records"),
    (lambda b: b"", "whole number"),
    (lambda b: bytes([200]) + b[1:], "0..9"),
])
def test_binary_malformed_is_one_line(write_cifar, tmp_path, edit, word):
    write_cifar(tmp_path, "binary", n=4)
    p = tmp_path / BIN_DIR / "test_batch.bin"
    p.write_bytes(edit(p.read_bytes()))
    with pytest.raises(D.DataFormatError, match=word) as e:
        F.read_cifar_bin(tmp_path, "test")
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    with pytest.raises(D.DataFormatError, match="4 images, expected 10000"):
        F.read_cifar_bin(tmp_path, "train", records=10000)


def _loads(root):
    ds = D.load("cifar10", root=root)
    return ds.meta["files"], ds.y_train.tolist()


def test_load_prefers_npz_then_binary_then_python(write_cifar, tmp_path, monkeypatch):
    monkeypatch.setattr("dlscope.data.cifar.BATCH_RECORDS", 10)  # 10 images per synthetic batch, not 10000
    labels = {}
    for i, fmt in enumerate(["npz", "binary", "python"]):  # distinct seeds: distinct labels
        for root in [tmp_path / r for r in ("all", "bin+py", "py")][: i + 1]:
            labels[fmt] = write_cifar(root / "cifar10", fmt, n=10, seed=i)[1].tolist()
    sums = {f"cifar10_{s}.npz": "sha256:" + hashlib.sha256((tmp_path / "all/cifar10" / f"cifar10_{s}.npz")
                                                            .read_bytes()).hexdigest() for s in ("train", "test")}
    monkeypatch.setitem(D.SOURCES["cifar10"].formats, "npz", sums)  # our npz files pass verification
    assert F.cifar_format(tmp_path / "all/cifar10") == "npz"
    assert _loads(tmp_path / "all") == ("npz", labels["npz"])
    assert _loads(tmp_path / "bin+py") == ("binary", labels["binary"])
    assert _loads(tmp_path / "py") == ("python", labels["python"])
    with pytest.raises(D.MissingDataError, match="dlscope data fetch cifar10"):
        D.load("cifar10", root=tmp_path / "none")
    (tmp_path / "half/cifar10" / BIN_DIR).mkdir(parents=True)
    with pytest.raises(D.MissingDataError, match="data_batch_1.bin"):
        D.load("cifar10", root=tmp_path / "half")


def test_shared_npz_still_reads(shared_data):
    folder = shared_data / "cifar10"
    assert F.cifar_format(folder) == "npz"
    x, y = F.read_cifar_npz(folder / "cifar10_test.npz", records=10000)
    # array checksums published in ../shared/data/README.md
    assert hashlib.sha256(x.tobytes()).hexdigest() == "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04"
    assert y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


def test_binary_is_the_default_download_with_the_official_md5():
    src = D.SOURCES["cifar10"]
    assert src.default_format == "binary"
    # Krizhevsky's page, https://www.cs.toronto.edu/~kriz/cifar.html: "CIFAR-10 binary version ... md5sum"
    assert src.formats["binary"] == {"cifar-10-binary.tar.gz": "md5:c32a1d4ab5d03f1284b67883e8d87530"}


def _tarball(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _serve_bytes(files: dict):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = files.get(self.path.rsplit("/", 1)[-1])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def _fetch_tar(tmp_path, monkeypatch, members):
    tar = _tarball(members)
    monkeypatch.setitem(D.SOURCES["cifar10"].formats, "binary",
                        {"cifar-10-binary.tar.gz": "sha256:" + hashlib.sha256(tar).hexdigest()})
    srv, url = _serve_bytes({"cifar-10-binary.tar.gz": tar})
    try:
        return D.fetch("cifar10", root=tmp_path / "root", mirror=url, backoff=0.01)
    finally:
        srv.shutdown()


def test_fetch_unpacks_only_the_six_batches(write_cifar, tmp_path, monkeypatch):
    write_cifar(tmp_path / "src", "binary", n=10, seed=5)
    batches = sorted((tmp_path / "src" / BIN_DIR).iterdir())
    members = [(f"{BIN_DIR}/{p.name}", p.read_bytes(), "file") for p in batches]
    members += [("../escaped.txt", b"x", "file"), (str(tmp_path / "absolute-escape.txt"), b"x", "file"),
                (f"{BIN_DIR}/readme.html", b"<html>", "file"), (f"{BIN_DIR}/link", "/etc/passwd", "symlink")]
    (p,) = _fetch_tar(tmp_path, monkeypatch, members)
    folder = tmp_path / "root" / "cifar10"
    assert p == folder / "cifar-10-binary.tar.gz"
    assert sorted(f.name for f in (folder / BIN_DIR).iterdir()) == [b.name for b in batches]
    assert not (tmp_path / "root" / "escaped.txt").exists() and not (tmp_path / "absolute-escape.txt").exists()
    monkeypatch.setattr("dlscope.data.cifar.BATCH_RECORDS", 10)
    ds = D.load("cifar10", root=tmp_path / "root")
    assert ds.meta["files"] == "binary" and ds.n_train == 50 and ds.n_test == 10


def test_fetch_refuses_a_batch_that_is_a_symlink(tmp_path, monkeypatch):
    members = [(f"{BIN_DIR}/data_batch_{i}.bin", bytes(3073), "file") for i in range(1, 6)]
    members.append((f"{BIN_DIR}/test_batch.bin", "/etc/passwd", "symlink"))
    with pytest.raises(D.DataFormatError, match="test_batch.bin is not a regular file"):
        _fetch_tar(tmp_path, monkeypatch, members)
    assert not (tmp_path / "root" / "cifar10" / BIN_DIR / "test_batch.bin").exists()
