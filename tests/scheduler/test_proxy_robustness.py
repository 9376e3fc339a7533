"""The priority proxy's faults and HTTP framing, over real sockets: a slow predictor, an upstream that refuses
or breaks off, streamed responses, bad and chunked request bodies, HTTP/1.0 clients, redirects, bodiless
answers on a kept-alive connection."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sagepred.loading import load_predictor
from sagepred.scheduler.priority import PriorityConfig, RequestAnnotator
from sagepred.scheduler.proxy import PriorityProxy

BODY = {"model": "m", "prompt": "Write a haiku about autumn leaves.", "max_tokens": 16}


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("ministral-8b")


class Upstream:
    """A real HTTP server on 127.0.0.1 that records what it receives; a few paths misbehave on purpose."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes, dict[str, str]]] = []
        self.release = threading.Event()
        self.upstream_saw_close = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.append((self.command, self.path, body, dict(self.headers)))

            def _reply(self, status: int, payload: bytes = b"", **headers: str) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key.replace("_", "-"), value)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(payload)

            def do_GET(self):
                self._record()
                if self.path == "/redirect":
                    self._reply(307, b"", Location="/elsewhere")
                elif self.path == "/cut":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.wfile.write(b"only ten b")
                    self.wfile.flush()
                    self.close_connection = True
                else:
                    self._reply(200, b'{"data": [{"id": "m"}]}', Content_Type="application/json")

            def do_HEAD(self):
                self._record()
                self._reply(200, b"x" * 42)

            def do_DELETE(self):
                self._record()
                self._reply(204)

            def do_POST(self):
                self._record()
                if self.path == "/v1/slow":
                    outer.release.wait(10)
                    self._reply(200, b"{}")
                elif self.path == "/v1/long-stream":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for i in range(200):
                            if i == 1:
                                outer.release.wait(10)
                            event = f"data: {i}\n\n".encode()
                            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                            self.wfile.flush()
                            time.sleep(0.01)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        outer.upstream_saw_close = True
                elif self.path == "/v1/stream":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i, event in enumerate((b"data: one\n\n", b"data: two\n\n")):
                        if i:
                            outer.release.wait(10)
                        self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self._reply(200, b'{"ok": true}', Content_Type="application/json")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def bodies(self) -> list[dict]:
        return [json.loads(body) for method, _, body, _ in self.received if method == "POST" and body]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def upstream():
    server = Upstream()
    yield server
    server.release.set()
    server.close()


@pytest.fixture()
def proxy(upstream, predictor):
    server = PriorityProxy(upstream.url, RequestAnnotator(predictor, PriorityConfig()), timeout=10).start()
    yield server
    server.close()


def _post(url: str, body: bytes, path: str = "/v1/completions") -> int:
    request = urllib.request.Request(
        url + path, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return response.status


def _raw(proxy: PriorityProxy, data: bytes) -> bytes:
    """Send ``data`` on a fresh socket and read until the proxy closes it."""
    host, port = proxy.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


class Slow:
    """The real predictor behind a gate: calls wait until ``gate`` is set (a predictor that hangs)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.calls = 0

    def predict(self, prompts):
        self.calls += 1
        self.gate.wait(30)
        return self.inner.predict(prompts)


def test_a_hanging_predictor_forwards_unannotated_within_the_deadline_and_logs_once(
    upstream, predictor, caplog
):
    slow = Slow(predictor)
    proxy = PriorityProxy(
        upstream.url,
        RequestAnnotator(slow, PriorityConfig()),
        predict_timeout_s=0.3,
        predict_workers=1,
        warm_up=False,
    ).start()
    try:
        with caplog.at_level(logging.WARNING, logger="sagepred.proxy"):
            started = time.monotonic()
            for _ in range(8):
                assert _post(proxy.url, json.dumps(BODY).encode()) == 200
            elapsed = time.monotonic() - started
            slow.gate.set()
            deadline = time.monotonic() + 20
            while proxy._predictions.stuck() or proxy._predictions._started:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert _post(proxy.url, json.dumps(BODY).encode()) == 200
    finally:
        proxy.close()
    bodies = upstream.bodies()
    assert len(bodies) == 9
    assert all("priority" not in b and "vllm_xargs" not in b for b in bodies[:8])
    assert bodies[8]["priority"] >= 0 and "sagepred_knots" in bodies[8]["vllm_xargs"]
    # the first request waits out the deadline; once the one worker is stuck the rest skip at once
    assert elapsed < 8 * 0.3
    assert slow.calls == 2
    stats = proxy.stats.to_dict()
    assert stats["predictor_timeouts"] == 8 and stats["annotation_failures"] == 8 and stats["annotated"] == 1
    warnings = [r for r in caplog.records if "predictor timeout" in r.getMessage()]
    assert len(warnings) == 1


def test_an_upstream_that_refuses_is_a_502_counted_and_logged_once(predictor, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proxy = PriorityProxy(f"http://127.0.0.1:{port}", RequestAnnotator(predictor, PriorityConfig())).start()
    try:
        with caplog.at_level(logging.WARNING, logger="sagepred.proxy"):
            for _ in range(3):
                with pytest.raises(urllib.error.HTTPError) as err:
                    _post(proxy.url, json.dumps(BODY).encode())
                assert err.value.code == 502
    finally:
        proxy.close()
    assert proxy.stats.upstream_errors == 3 and proxy.stats.annotated == 3
    assert len([r for r in caplog.records if "upstream unreachable" in r.getMessage()]) == 1


def test_streamed_responses_pass_through_as_they_come(upstream, proxy):
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/v1/stream", body=b"{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    # the upstream holds its second event until the first has reached the client through the proxy
    assert response.readline() == b"data: one\n"
    upstream.release.set()
    assert response.read() == b"\ndata: two\n\n"
    conn.close()


def test_an_upstream_that_breaks_off_is_cut_short_not_completed(upstream, proxy):
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/cut")
    response = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()
    assert proxy.stats.upstream_errors == 1


def test_bad_framing_is_a_400_or_413_and_reaches_no_upstream(upstream, predictor):
    proxy = PriorityProxy(
        upstream.url, RequestAnnotator(predictor, PriorityConfig()), max_body_bytes=1000
    ).start()
    try:
        bad = _raw(proxy, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
        negative = _raw(proxy, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        big = json.dumps({**BODY, "prompt": "x" * 5000}).encode()
        with pytest.raises(urllib.error.HTTPError) as err:
            _post(proxy.url, big)
    finally:
        proxy.close()
    assert bad.startswith(b"HTTP/1.1 400") and b"Content-Length must be a whole number" in bad
    assert negative.startswith(b"HTTP/1.1 400")
    assert err.value.code == 413
    assert upstream.received == [] and proxy.stats.rejected == 3


def test_a_chunked_request_body_is_read_annotated_and_forwarded(upstream, proxy):
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    raw = json.dumps(BODY).encode()
    parts = iter([raw[:10], raw[10:]])
    conn.request(
        "POST",
        "/v1/completions",
        body=parts,
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"ok": True}
    conn.close()
    (body,) = upstream.bodies()
    assert body["prompt"] == BODY["prompt"] and isinstance(body["priority"], int)


def test_http10_clients_get_a_plain_body_and_redirects_are_not_followed(upstream, proxy):
    answer = _raw(proxy, b"GET /v1/models HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" not in head.lower()
    assert head.lower().count(b"\r\ndate:") == 1 and head.lower().count(b"\r\nserver:") == 1
    assert json.loads(body) == {"data": [{"id": "m"}]}
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/redirect")
    response = conn.getresponse()
    response.read()
    assert response.status == 307 and response.getheader("Location") == "/elsewhere"
    assert [path for _, path, _, _ in upstream.received] == ["/v1/models", "/redirect"]


def test_bodiless_answers_keep_the_connection_usable(upstream, proxy):
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("DELETE", "/v1/files/1")
    deleted = conn.getresponse()
    assert deleted.status == 204 and deleted.read() == b""
    conn.request("HEAD", "/v1/models")
    head = conn.getresponse()
    assert head.status == 200 and head.getheader("Content-Length") == "42" and head.read() == b""
    conn.request("GET", "/v1/models")  # same connection: no stray bytes were left after the two above
    assert json.loads(conn.getresponse().read()) == {"data": [{"id": "m"}]}
    conn.close()
    assert [m for m, _, _, _ in upstream.received] == ["DELETE", "HEAD", "GET"]


class Counting:
    def __init__(self, inner=None) -> None:
        self.inner = inner
        self.calls = 0

    def predict(self, prompts):
        self.calls += 1
        if self.inner is None:
            raise RuntimeError("predictor down")
        return self.inner.predict(prompts)


def test_start_warms_the_predictor_and_a_failed_warm_up_does_not_stop_serving(upstream, predictor, caplog):
    counting = Counting(predictor)
    proxy = PriorityProxy(upstream.url, RequestAnnotator(counting, PriorityConfig())).start()
    try:
        assert counting.calls == 1
        assert _post(proxy.url, json.dumps(BODY).encode()) == 200
    finally:
        proxy.close()
    assert counting.calls == 2 and proxy.stats.annotated == 1
    broken = Counting()
    with caplog.at_level(logging.WARNING, logger="sagepred.proxy"):
        proxy = PriorityProxy(upstream.url, RequestAnnotator(broken, PriorityConfig())).start()
    try:
        assert _post(proxy.url, json.dumps(BODY).encode()) == 200
    finally:
        proxy.close()
    assert any("warm-up failed" in r.getMessage() for r in caplog.records)
    assert len(upstream.bodies()) == 2 and "priority" not in upstream.bodies()[1]


def test_a_silent_upstream_is_a_504(upstream, predictor, caplog):
    proxy = PriorityProxy(
        upstream.url, RequestAnnotator(predictor, PriorityConfig()), timeout=0.5, warm_up=False
    ).start()
    try:
        with caplog.at_level(logging.WARNING, logger="sagepred.proxy"):
            for _ in range(2):
                with pytest.raises(urllib.error.HTTPError) as err:
                    _post(proxy.url, b"{}", path="/v1/slow")
                assert err.value.code == 504
    finally:
        upstream.release.set()
        proxy.close()
    assert proxy.stats.upstream_errors == 2
    assert len([r for r in caplog.records if "upstream timeout" in r.getMessage()]) == 1


def test_a_client_that_leaves_mid_stream_is_counted_and_the_upstream_let_go(upstream, proxy, capfd):
    host, port = proxy.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/v1/long-stream", body=b"{}", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.readline() == b"data: 0\n"
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    upstream.release.set()
    deadline = time.monotonic() + 10
    while not (proxy.stats.client_disconnects and upstream.upstream_saw_close):
        assert time.monotonic() < deadline, proxy.stats.to_dict()
        time.sleep(0.05)
    assert proxy.stats.client_disconnects == 1 and proxy.stats.upstream_errors == 0
    assert "Traceback" not in capfd.readouterr().err
