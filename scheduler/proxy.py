"""An OpenAI-compatible pass-through proxy that adds sagepred's ``priority`` and prediction to requests.

``POST /v1/completions`` and ``/v1/chat/completions`` bodies are annotated by a
:class:`~sagepred.scheduler.priority.RequestAnnotator` and forwarded to the vLLM server; every other
request, and every response (streamed chunk by chunk as the upstream sends it), passes through unchanged.
Standard library only (``http.server`` threads, ``urllib``).

Faults never lose a request: a predictor that raises or answers later than ``predict_timeout_s``, or a
body that is not a JSON object, is forwarded unannotated; each kind of failure is logged once and counted
in :class:`ProxyStats`. Bad framing from the client (a Content-Length that is not a number, a body over
``max_body_bytes``) is a 400 / 413 answer, an unreachable upstream a 502, a silent one a 504.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from dataclasses import field as dc_field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sagepred.scheduler.priority import RequestAnnotator

log = logging.getLogger("sagepred.proxy")

ANNOTATED_PATHS = ("/v1/completions", "/v1/chat/completions")
HOP_HEADERS = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "content-length",
    "host",
    "upgrade",
    "expect",
}
NO_BODY_STATUSES = {204, 304}
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclass
class ProxyStats:
    """Counts of what the proxy did.

    ``annotation_failures`` requests were forwarded unannotated (the sum of ``predictor_errors``,
    ``predictor_timeouts`` and ``malformed_bodies``); ``rejected`` were answered 400/413 for bad framing;
    ``upstream_errors`` were answered 502 or cut short by the upstream; ``client_disconnects`` left
    while their response streamed.
    """

    annotated: int = 0
    annotation_failures: int = 0
    predictor_errors: int = 0
    predictor_timeouts: int = 0
    malformed_bodies: int = 0
    rejected: int = 0
    upstream_errors: int = 0
    client_disconnects: int = 0
    _logged: set[str] = dc_field(default_factory=set, repr=False)
    _lock: threading.Lock = dc_field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def failed(self, counter: str, kind: str, err: BaseException | str) -> None:
        """Count a failure under ``counter``; log the first of each ``kind`` only (not once per request)."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + 1)
            if counter in ("predictor_errors", "predictor_timeouts", "malformed_bodies"):
                self.annotation_failures += 1
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            action = "forwarding requests unannotated" if counter != "upstream_errors" else "upstream failed"
            log.warning(
                "sagepred proxy: %s (%s: %s); further ones are counted in the proxy's stats, not logged",
                action,
                kind,
                err,
            )

    def to_dict(self) -> dict[str, int]:
        """The counters (for logs and tests)."""
        with self._lock:
            return {k: v for k, v in vars(self).items() if not k.startswith("_")}


class _Predictions:
    """Runs the annotator in worker threads with a deadline; a stuck predictor is skipped, not waited on."""

    def __init__(self, annotator: RequestAnnotator, timeout_s: float, workers: int) -> None:
        self.annotator = annotator
        self.timeout_s = timeout_s
        self.workers = workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="sagepred-proxy-predict")
        self._started: dict[Future[Any], float] = {}
        self._lock = threading.Lock()

    def stuck(self) -> bool:
        """Whether every worker holds a call older than the deadline (new calls would only queue)."""
        limit = time.monotonic() - self.timeout_s
        with self._lock:
            return sum(t < limit for t in self._started.values()) >= self.workers

    def annotate(
        self, body: dict[str, Any], timeout_s: float | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The annotated body and headers; ``FutureTimeout`` past the deadline, the predictor's error else."""
        future = self.pool.submit(self.annotator.annotate_with_headers, [body])
        with self._lock:
            self._started[future] = time.monotonic()
        future.add_done_callback(self._done)
        bodies, headers = future.result(timeout=timeout_s or self.timeout_s)
        return bodies[0], headers[0]

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._started.pop(future, None)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class _Keep(urllib.request.HTTPRedirectHandler):
    """Redirects go back to the client as they are (the proxy does not follow them)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # No ProxyHandler from the environment: the upstream is reached directly, never through HTTP_PROXY.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _Keep())


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _handler(
    upstream: str,
    predictions: _Predictions,
    timeout: float,
    max_body_bytes: int,
    stats: ProxyStats,
) -> type[BaseHTTPRequestHandler]:
    opener = _opener()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

        def _read_body(self) -> bytes | None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked()
            raw = self.headers.get("Content-Length")
            if raw is None:
                return None
            try:
                length = int(raw)
            except ValueError:
                raise _BadRequest(400, f"Content-Length must be a whole number, got {raw[:40]!r}") from None
            if length < 0:
                raise _BadRequest(400, f"Content-Length must not be negative, got {length}")
            if length > max_body_bytes:
                self._discard(length)
                raise _BadRequest(413, f"body of {length} bytes is over the proxy's {max_body_bytes}")
            return self.rfile.read(length) if length else None

        def _discard(self, length: int) -> None:
            """Read and drop a refused body (up to 1 GiB) so the client gets the answer, not a reset."""
            left = min(length, 1 << 30)
            while left > 0 and (chunk := self.rfile.read(min(left, 1 << 16))):
                left -= len(chunk)

        def _read_chunked(self) -> bytes:
            parts: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024).strip()
                try:
                    size = int(line.split(b";")[0], 16)
                except ValueError:
                    raise _BadRequest(400, f"malformed chunk size {line[:20]!r}") from None
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass  # trailers
                    return b"".join(parts)
                total += size
                if total > max_body_bytes:
                    raise _BadRequest(413, f"chunked body over the proxy's {max_body_bytes} bytes")
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)

        def _forward(self, method: str) -> None:
            try:
                body = self._read_body()
            except _BadRequest as err:
                stats.count("rejected")
                self.close_connection = True
                self.send_error(err.status, str(err))
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            if body and method == "POST" and self.path.split("?")[0] in ANNOTATED_PATHS:
                body = self._annotated(body, headers)
            request = urllib.request.Request(upstream + self.path, data=body, method=method, headers=headers)
            try:
                response = opener.open(request, timeout=timeout)
            except urllib.error.HTTPError as err:
                response = err
            except OSError as err:
                if isinstance(getattr(err, "reason", err), TimeoutError):
                    stats.failed("upstream_errors", "upstream timeout", err)
                    self.send_error(504, f"upstream gave no answer within {timeout:g} s")
                else:
                    stats.failed("upstream_errors", "upstream unreachable", err)
                    self.send_error(502, f"upstream unreachable: {err}")
                return
            with response:
                self._relay(method, response)

        def _relay(self, method: str, response: Any) -> None:
            status = response.status
            no_body = method == "HEAD" or status in NO_BODY_STATUSES or status < 200
            chunked = not no_body and self.request_version != "HTTP/1.0"
            self.log_request(status)
            self.send_response_only(status)  # the upstream's own Server and Date headers follow
            for key, value in response.headers.items():
                if key.lower() not in HOP_HEADERS or (no_body and key.lower() == "content-length"):
                    self.send_header(key, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif not no_body:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if no_body:
                return
            read = response.read1 if hasattr(response, "read1") else response.read
            while True:
                try:
                    chunk = read(65536)
                except (OSError, http.client.HTTPException) as err:
                    chunk, cut = b"", err
                else:
                    cut = None
                    if not chunk and getattr(response, "length", None):
                        cut = f"{response.length} bytes of the body missing"
                if cut is not None:
                    stats.failed("upstream_errors", "upstream broke off a response", cut)
                    self.close_connection = True  # no final chunk: the client sees a cut response
                    return
                if not chunk:
                    break
                if not self._write((f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") if chunked else chunk):
                    return
            if chunked:
                self._write(b"0\r\n\r\n")

        def _write(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except OSError:
                stats.count("client_disconnects")
                self.close_connection = True
                return False

        def _annotated(self, body: bytes, headers: dict[str, str]) -> bytes:
            try:
                parsed = json.loads(body)
            except ValueError as err:
                stats.failed("malformed_bodies", "malformed body", err)
                return body
            if not isinstance(parsed, dict):
                stats.failed("malformed_bodies", "malformed body", "the body is not a JSON object")
                return body
            if predictions.stuck():
                stats.failed(
                    "predictor_timeouts", "predictor timeout", "every predictor worker is past the deadline"
                )
                return body
            try:
                annotated, extra = predictions.annotate(parsed)
            except FutureTimeout:
                stats.failed(
                    "predictor_timeouts", "predictor timeout", f"no answer within {predictions.timeout_s:g} s"
                )
                return body
            except Exception as err:  # a failing predictor must not lose the request
                stats.failed("predictor_errors", f"predictor {type(err).__name__}", err)
                return body
            stats.count("annotated")
            present = {h.lower() for h in headers}
            headers.update({k: v for k, v in extra.items() if k.lower() not in present})
            return json.dumps(annotated).encode()

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

        def do_HEAD(self) -> None:
            self._forward("HEAD")

        def do_PUT(self) -> None:
            self._forward("PUT")

        def do_DELETE(self) -> None:
            self._forward("DELETE")

        def do_PATCH(self) -> None:
            self._forward("PATCH")

        def do_OPTIONS(self) -> None:
            self._forward("OPTIONS")

    return Handler


class PriorityProxy:
    """The proxy server; ``start()`` serves in a daemon thread, ``close()`` stops it.

    ``timeout`` bounds each wait on the upstream (connect and every read: a streamed response may run
    longer as long as chunks keep coming); ``predict_timeout_s`` bounds the prediction of one request
    (later, it is forwarded unannotated); ``predict_workers`` threads predict; ``max_body_bytes`` caps a
    request body. ``start()`` first makes one prediction (``warm_up``, at most ``warm_up_timeout_s``;
    a failure is logged and serving starts anyway) so the predictor's one-off loading does not make the
    first requests miss their deadline.
    """

    def __init__(
        self,
        upstream: str,
        annotator: RequestAnnotator,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 600.0,
        predict_timeout_s: float = 5.0,
        predict_workers: int = 4,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        warm_up: bool = True,
        warm_up_timeout_s: float = 120.0,
    ) -> None:
        if not predict_timeout_s > 0:
            raise ValueError(f"predict_timeout_s must be positive, got {predict_timeout_s!r}")
        self.upstream = upstream.rstrip("/")
        self.stats = ProxyStats()
        self._predictions = _Predictions(annotator, predict_timeout_s, max(1, predict_workers))
        handler = _handler(self.upstream, self._predictions, timeout, max_body_bytes, self.stats)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.warm_up = warm_up
        self.warm_up_timeout_s = warm_up_timeout_s

    def warm(self) -> bool:
        """One prediction on a short prompt; ``False`` (logged) when the predictor fails or is too slow."""
        started = time.perf_counter()
        try:
            self._predictions.annotate({"prompt": "Hello."}, timeout_s=self.warm_up_timeout_s)
        except Exception as err:
            log.warning("sagepred proxy: the predictor's warm-up failed (%s: %s)", type(err).__name__, err)
            return False
        log.info("sagepred proxy: predictor warm in %.2f s", time.perf_counter() - started)
        return True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PriorityProxy:
        if self.warm_up:
            self.warm()
        self._thread = threading.Thread(target=self.server.serve_forever, name="sagepred-proxy", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._predictions.close()
