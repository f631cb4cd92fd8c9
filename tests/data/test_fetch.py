"""`dlscope data fetch` against a loopback HTTP server serving ../shared/data.

Servers: a well-behaved one (supports Range), one that drops the connection half-way
through the first response of every file (the client must resume with Range), and one
that serves corrupted bytes (the client must refuse and leave nothing behind).
"""
import http.server
import threading
from pathlib import Path

import pytest

from dlscope import data as D
from dlscope.cli import main


def _serve(root: Path, mode: str):
    hits: dict[str, int] = {}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            path = root / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
                return
            body = path.read_bytes()
            hits[path.name] = hits.get(path.name, 0) + 1
            if mode == "corrupt":
                body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
            start = 0
            rng = self.headers.get("Range")
            if rng and mode != "norange":
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            part = body[start:]
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            if mode == "truncate" and hits[path.name] == 1:
                self.wfile.write(part[: len(part) // 2])  # then drop the connection
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(part)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/mnist/", hits


@pytest.fixture
def server(shared_data, request):
    srv, url, hits = _serve(shared_data, request.param)
    yield url, hits
    srv.shutdown()


@pytest.mark.parametrize("server", ["ok"], indirect=True)
def test_fetch_then_load_and_skip_when_present(server, tmp_path, shared_data):
    url, hits = server
    paths = D.fetch("mnist", root=tmp_path, mirror=url, backoff=0.01)
    assert sorted(p.name for p in paths) == sorted(D.SOURCES["mnist"].formats["idx"])
    for p in paths:
        assert p.read_bytes() == (shared_data / "mnist" / p.name).read_bytes()
    assert not list((tmp_path / "mnist").glob("*.part"))
    D.fetch("mnist", root=tmp_path, mirror=url)
    assert set(hits.values()) == {1}  # verified files are not downloaded again
    ds = D.load("mnist", root=tmp_path, n_train=100, n_test=100)
    assert ds.n_train == 100


@pytest.mark.parametrize("server", ["truncate"], indirect=True)
def test_dropped_connection_resumes_with_range(server, tmp_path, shared_data):
    url, hits = server
    paths = D.fetch("mnist", root=tmp_path, mirror=url, backoff=0.01)
    assert all(v == 2 for v in hits.values())  # each file: one cut-off response, one resumed request
    for p in paths:
        assert p.read_bytes() == (shared_data / "mnist" / p.name).read_bytes()


@pytest.mark.parametrize("server", ["corrupt"], indirect=True)
def test_corrupted_download_is_refused_and_removed(server, tmp_path):
    url, _ = server
    with pytest.raises(D.DownloadError, match="does not match"):
        D.fetch("mnist", root=tmp_path, mirror=url, retries=0, backoff=0.01)
    assert not [p for p in (tmp_path / "mnist").iterdir()]  # nothing kept, not even a .part


@pytest.mark.parametrize("server", ["ok"], indirect=True)
def test_cli_fetch_reports_errors(server, tmp_path, capsys):
    url, _ = server
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path), "--mirror", url]) == 0
    assert "train-images-idx3-ubyte.gz" in capsys.readouterr().out
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path / "x"), "--mirror", url + "nope/"]) == 1
    assert "HTTP 404" in capsys.readouterr().err
    assert main(["data", "fetch", "nosuch"]) == 1


def test_cifar_npz_via_mirror(shared_data, tmp_path):
    srv, url, _ = _serve(shared_data, "ok")
    try:
        with pytest.raises(D.DownloadError, match="mirror"):
            D.fetch("cifar10", root=tmp_path, fmt="npz")
        # only the test file, to keep the suite fast: pretend the train file is already verified
        src = dict(D.SOURCES["cifar10"].formats["npz"])
        D.SOURCES["cifar10"].formats["npz"].pop("cifar10_train.npz")
        try:
            (p,) = D.fetch("cifar10", root=tmp_path, mirror=url.replace("/mnist/", "/cifar10/"), fmt="npz")
        finally:
            D.SOURCES["cifar10"].formats["npz"].update(src)
        assert p.read_bytes() == (shared_data / "cifar10" / "cifar10_test.npz").read_bytes()
    finally:
        srv.shutdown()
