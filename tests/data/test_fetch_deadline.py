"""Servers that trickle or stall cannot hold ``fetch`` past its deadline / minimum rate, and the
``.part`` they leave never breaks the next fetch from a good server.

All servers listen on 127.0.0.1 only. A stalled handler is released after 15 s at most, so a
regression makes these tests fail slowly instead of hanging.
"""
import hashlib
import importlib
import http.server
import socket
import threading
import time

import pytest

from dlscope import data as D
from dlscope.data.fetch import Source

PAYLOAD = bytes(range(256)) * 800  # 200 kB
MARGIN = 3.0  # s over the configured limit, for a busy 2-core machine (measured overshoot < 0.3 s)


@pytest.fixture
def toy(monkeypatch, tmp_path):
    sha = "sha256:" + hashlib.sha256(PAYLOAD).hexdigest()
    monkeypatch.setitem(D.SOURCES, "toy", Source(("http://127.0.0.1:9/",), {"raw": {"toy.bin": sha}}, "raw"))
    return tmp_path / "toy" / "toy.bin"


@pytest.fixture
def serve():
    release = threading.Event()
    servers = []

    def start(mode):
        hits = []

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                hits.append(rng)
                start = int(rng.split("=")[1].split("-")[0]) if rng and mode != "trickle" else 0
                body = PAYLOAD[start:]
                self.send_response(206 if start else 200)
                if mode == "endless":  # no Content-Length: the body ends when the server closes
                    self.end_headers()
                    while not release.is_set():
                        try:
                            self.wfile.write(PAYLOAD)
                        except OSError:
                            return
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "trickle":  # one wrong byte every 0.2 s: 5 B/s
                    for _ in range(len(body)):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        if release.wait(0.2):
                            return
                elif mode == "stall-body":  # half of what is asked, then silence
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    release.wait(15)
                else:
                    self.wfile.write(body)

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/", hits

    yield start
    release.set()
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _fails_within(limit, **kw):
    t0 = time.monotonic()
    with pytest.raises(D.DownloadError) as e:
        D.fetch("toy", backoff=0.01, **kw)
    elapsed = time.monotonic() - t0
    msg = str(e.value)
    assert "\n" not in msg and "--mirror URL" in msg, msg
    assert elapsed < limit + MARGIN, (elapsed, msg)
    return msg


def test_trickle_is_dropped_and_its_bytes_do_not_break_the_next_fetch(toy, serve):
    url, _ = serve("trickle")
    # default deadline (60 s + 200 kB at 50 kB/s); the 0.5 s rate window catches the trickle
    msg = _fails_within(0.5, root=toy.parents[1], mirror=url, rate_window=0.5)
    assert "too slow" in msg
    assert toy.with_name("toy.bin.part").exists()  # 'xxx...': not a prefix of the right file
    url, hits = serve("ok")
    (p,) = D.fetch("toy", root=toy.parents[1], mirror=url, backoff=0.01)
    assert p.read_bytes() == PAYLOAD and not toy.with_name("toy.bin.part").exists()
    assert hits[0] is not None and hits[-1] is None  # resumed, failed the checksum, started over


def test_server_that_accepts_then_stalls_hits_the_deadline(toy, serve):
    with socket.create_server(("127.0.0.1", 0)) as s:  # the kernel accepts; nobody ever answers
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
        msg = _fails_within(2.0, root=toy.parents[1], mirror=url, deadline=2.0)  # timeout stays 30 s
    assert "deadline" in msg or "timed out" in msg, msg
    url, _ = serve("ok")
    assert D.fetch("toy", root=toy.parents[1], mirror=url)[0].read_bytes() == PAYLOAD


def test_stall_mid_body_keeps_a_resumable_part(toy, serve):
    url, _ = serve("stall-body")
    _fails_within(3.0, root=toy.parents[1], mirror=url, deadline=3.0, rate_window=0.5)
    part = toy.with_name("toy.bin.part")
    have = part.stat().st_size
    assert 0 < have < len(PAYLOAD) and PAYLOAD.startswith(part.read_bytes())
    url, hits = serve("ok")
    (p,) = D.fetch("toy", root=toy.parents[1], mirror=url)
    assert p.read_bytes() == PAYLOAD and hits == [f"bytes={have}-"]  # one request: the prefix was kept


def test_error_names_the_other_known_hosts(toy, monkeypatch):
    monkeypatch.setitem(D.SOURCES, "toy", Source(("https://a.invalid/", "https://b.invalid/"),
                                                 D.SOURCES["toy"].formats, "raw"))
    with pytest.raises(D.DownloadError) as e:  # nothing listens on port 9: refused at once
        D.fetch("toy", root=toy.parents[1], mirror="http://127.0.0.1:9/", retries=0)
    assert "try another mirror: dlscope data fetch toy --mirror URL (e.g. https://a.invalid/, https://b.invalid/)" \
        in str(e.value)


def test_endless_fast_stream_is_capped(toy, serve, monkeypatch):
    fetch_module = importlib.import_module("dlscope.data.fetch")  # dlscope.data.fetch is also the function

    monkeypatch.setattr(fetch_module, "MAX_DOWNLOAD", 1 << 20)  # the real cap is 1 GiB
    url, _ = serve("endless")
    msg = _fails_within(1.0, root=toy.parents[1], mirror=url)
    assert "more than 1048576 bytes" in msg
