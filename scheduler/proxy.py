"""An OpenAI-compatible pass-through proxy that adds sagepred's ``priority`` and prediction to requests.

``POST /v1/completions`` and ``/v1/chat/completions`` bodies are annotated by a
:class:`~sagepred.scheduler.priority.RequestAnnotator` and forwarded to the vLLM server; every other
request, and every response (streamed chunk by chunk), passes through unchanged. Standard library only
(``http.server`` threads, ``urllib``).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from dataclasses import field as dc_field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sagepred.scheduler.priority import RequestAnnotator

log = logging.getLogger("sagepred.proxy")

ANNOTATED_PATHS = ("/v1/completions", "/v1/chat/completions")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}


@dataclass
class ProxyStats:
    """Counts of what the proxy did; ``annotation_failures`` requests were forwarded unannotated."""

    annotated: int = 0
    annotation_failures: int = 0
    upstream_errors: int = 0
    _logged: set[str] = dc_field(default_factory=set, repr=False)
    _lock: threading.Lock = dc_field(default_factory=threading.Lock, repr=False)

    def failed(self, kind: str, err: BaseException) -> None:
        """Count a failure; log the first of each kind only (not once per request)."""
        with self._lock:
            self.annotation_failures += 1
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            log.warning(
                "sagepred proxy: forwarding requests unannotated (%s: %s); further ones are counted, not logged",
                kind,
                err,
            )


def _handler(
    upstream: str, annotator: RequestAnnotator, timeout: float, stats: ProxyStats
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

        def _forward(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            if body and method == "POST" and self.path.split("?")[0] in ANNOTATED_PATHS:
                body = self._annotated(body, headers)
            request = urllib.request.Request(upstream + self.path, data=body, method=method, headers=headers)
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as err:
                response = err
            except OSError as err:
                stats.upstream_errors += 1
                self.send_error(502, f"upstream unreachable: {err}")
                return
            with response:
                self.send_response(response.status)
                for key, value in response.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while chunk := response.read1(65536) if hasattr(response, "read1") else response.read(65536):
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        def _annotated(self, body: bytes, headers: dict[str, str]) -> bytes:
            try:
                parsed = json.loads(body)
            except ValueError as err:
                stats.failed("malformed body", err)
                return body
            if not isinstance(parsed, dict):
                stats.failed("malformed body", TypeError("the body is not a JSON object"))
                return body
            try:
                bodies, extra = annotator.annotate_with_headers([parsed])
            except Exception as err:  # a failing predictor must not lose the request
                stats.failed(f"predictor {type(err).__name__}", err)
                return body
            stats.annotated += 1
            headers.update(
                {k: v for k, v in extra[0].items() if k.lower() not in {h.lower() for h in headers}}
            )
            return json.dumps(bodies[0]).encode()

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

    return Handler


class PriorityProxy:
    """The proxy server; ``start()`` serves in a daemon thread, ``close()`` stops it."""

    def __init__(
        self,
        upstream: str,
        annotator: RequestAnnotator,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout: float = 600.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.stats = ProxyStats()
        self.server = ThreadingHTTPServer(
            (host, port), _handler(self.upstream, annotator, timeout, self.stats)
        )
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> PriorityProxy:
        self._thread = threading.Thread(target=self.server.serve_forever, name="sagepred-proxy", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
